#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "store/store.hpp"

// What both stores share about read state (docs/design/storage.md "Read state"): how a room
// list is bound to a query, and how a capped count becomes a ReadState.
namespace chatd::store::detail {

// A JSON array of strings, bound as one parameter (SQLite: json_each; PostgreSQL:
// json_array_elements_text), so a query takes any number of rooms.
inline std::string json_string_array(const std::vector<std::string>& items) {
    std::string out = "[";
    for (const auto& item : items) {
        if (out.size() > 1) out += ',';
        out += '"';
        for (const char c : item) {
            if (c == '"' || c == '\\') {
                out += '\\';
                out += c;
            } else if (static_cast<unsigned char>(c) < 0x20) {
                char escaped[8];
                std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
                out += escaped;
            } else {
                out += c;
            }
        }
        out += '"';
    }
    return out + ']';
}

// Queries count at most this many unread messages: one more than the cap tells "capped".
inline std::int64_t unread_count_limit(std::size_t cap) {
    return static_cast<std::int64_t>(std::min<std::size_t>(cap, INT32_MAX)) + 1;
}

inline ReadState read_state_of(std::string room,
                               model::MessageId last_read_id,
                               std::int64_t counted,
                               model::MessageId as_of,
                               std::size_t cap,
                               std::int64_t mentions_counted = 0) {
    const auto limit = static_cast<std::int64_t>(std::min<std::size_t>(cap, INT32_MAX));
    const auto unread = std::min(counted, limit);
    // A mention is of an unread message; `std::min` keeps that true within the cap.
    return ReadState{std::move(room), last_read_id, unread,
                     counted > limit, as_of,        std::min(mentions_counted, unread)};
}

// The rooms of `wanted` that `found` lacks (both sorted by name).
inline std::vector<std::string> rooms_missing(std::vector<std::string> wanted,
                                              const std::vector<ReadState>& found) {
    std::sort(wanted.begin(), wanted.end());
    wanted.erase(std::unique(wanted.begin(), wanted.end()), wanted.end());
    std::vector<std::string> missing;
    for (auto& room : wanted) {
        const bool has = std::any_of(found.begin(), found.end(),
                                     [&room](const ReadState& s) { return s.room == room; });
        if (!has) missing.push_back(std::move(room));
    }
    return missing;
}

inline void sort_by_room(std::vector<ReadState>& states) {
    std::sort(states.begin(), states.end(),
              [](const ReadState& a, const ReadState& b) { return a.room < b.room; });
}

}  // namespace chatd::store::detail
