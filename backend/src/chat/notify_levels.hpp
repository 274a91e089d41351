#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "model/message.hpp"
#include "model/notify.hpp"

namespace chatd::store {
class Store;
}

namespace chatd::chat {

// Per-room notification levels (docs/protocol.md "Notification levels"). The store keeps only
// the levels that differ from the room's default, so a default changed here applies to every
// room nobody chose a level for. Blocking (the store); thread-safe.
class NotifyLevels {
  public:
    // `require_member` throws Error (InvalidRoom, RoomNotFound, NotMember) unless the user may
    // read the room; `publish` sends an event to every node.
    NotifyLevels(store::Store& store,
                 std::function<void(const std::string& user, std::string_view room)> require_member,
                 std::function<void(model::Event)> publish);

    // Direct conversations: all; other rooms: mentions (as Slack does).
    static model::NotifyLevel default_for(std::string_view room);

    // Sets the user's level in `room` and tells every connection of the user, on every node.
    // Throws require_member's refusals, changing nothing.
    model::RoomNotifyLevel set(const std::string& user_name,
                               std::string_view room,
                               model::NotifyLevel level);
    // The user's levels among `rooms` that differ from the default, by room name.
    std::vector<model::RoomNotifyLevel> chosen(const std::string& user_name,
                                               const std::vector<std::string>& rooms) const;

  private:
    store::Store& store_;
    std::function<void(const std::string&, std::string_view)> require_member_;
    std::function<void(model::Event)> publish_;
};

}  // namespace chatd::chat
