#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chatd::model {

// How much of a room's traffic notifies a user (docs/protocol.md "Notification levels"): every
// message of others, only those that mention them, or nothing (no badge either).
enum class NotifyLevel { All, Mentions, Muted };

inline std::string_view notify_level_name(NotifyLevel level) {
    switch (level) {
        case NotifyLevel::All:
            return "all";
        case NotifyLevel::Mentions:
            return "mentions";
        case NotifyLevel::Muted:
            return "muted";
    }
    return "mentions";
}

inline std::optional<NotifyLevel> parse_notify_level(std::string_view name) {
    if (name == "all") return NotifyLevel::All;
    if (name == "mentions") return NotifyLevel::Mentions;
    if (name == "muted") return NotifyLevel::Muted;
    return std::nullopt;
}

// A user's level in one room.
struct RoomNotifyLevel {
    std::string room;
    NotifyLevel level = NotifyLevel::Mentions;
    bool operator==(const RoomNotifyLevel&) const = default;
};

// A user's level in a room changed: every connection of that user, on every node, is told.
struct NotifyChanged {
    std::string user_name;
    RoomNotifyLevel setting;
};

}  // namespace chatd::model
