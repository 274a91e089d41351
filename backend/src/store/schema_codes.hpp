#pragma once

#include <cstdint>

#include "model/message.hpp"

// The columns both stores' message_from_row read, from `messages m`, in that order. prev_id is
// not stored: it is the room's previous id, one seek in messages_by_room, and never changes once
// committed because a room's ids are committed in id order (SQLite's single writer, PostgreSQL's
// room lock taken before any insert) and messages are never deleted; docs/design/storage.md
// "prev_id". A macro so that each store's statements stay string literals.
#define CHATD_MESSAGE_COLUMNS                                                            \
    "m.id, m.room, m.user_name, m.content, m.sent_at, m.ts_ms, m.client_msg_id, m.kind," \
    " COALESCE((SELECT p.id FROM messages p WHERE p.room = m.room AND p.id < m.id"       \
    " ORDER BY p.id DESC LIMIT 1), 0)"

// Encodings shared by the SQLite and PostgreSQL schemas.
namespace chatd::store::detail {

// The stored codes are part of both schemas (CHECK in each 0001_init.sql): never renumber.
inline std::int64_t kind_to_db(model::MessageKind kind) {
    switch (kind) {
        case model::MessageKind::Text:
            return 0;
        case model::MessageKind::Join:
            return 1;
        case model::MessageKind::Leave:
            return 2;
    }
    return 0;
}

inline model::MessageKind kind_from_db(std::int64_t code) {
    switch (code) {
        case 1:
            return model::MessageKind::Join;
        case 2:
            return model::MessageKind::Leave;
        default:
            return model::MessageKind::Text;
    }
}

template <class Migrations>
constexpr bool versions_strictly_increase(const Migrations& migrations) {
    int previous = 0;
    for (const auto& migration : migrations) {
        if (migration.version <= previous) return false;
        previous = migration.version;
    }
    return true;
}

}  // namespace chatd::store::detail
