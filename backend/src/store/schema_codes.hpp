#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/message.hpp"

// The columns both stores' message_from_row read, from `messages m`, in that order. prev_id is
// not stored: it is the room's previous id, one seek in messages_by_room, and never changes once
// committed because a room's ids are committed in id order (SQLite's single writer, PostgreSQL's
// room lock taken before any insert) and messages are never deleted; docs/design/storage.md
// "prev_id". A macro so that each store's statements stay string literals.
// Then the room-event columns (migration 0007): target_id, reply_to and the folded state
// (edited_ms, deleted, reply_count, last_reply_ms; reactions come from their own table).
// Then the mention columns (migration 0009): mentions (stored_mentions), mentions_room.
#define CHATD_MESSAGE_COLUMNS                                                            \
    "m.id, m.room, m.user_name, m.content, m.sent_at, m.ts_ms, m.client_msg_id, m.kind," \
    " COALESCE((SELECT p.id FROM messages p WHERE p.room = m.room AND p.id < m.id"       \
    " ORDER BY p.id DESC LIMIT 1), 0),"                                                  \
    " m.target_id, m.reply_to, m.edited_ms, m.deleted, m.reply_count, m.last_reply_ms,"  \
    " m.mentions, m.mentions_room"

// Encodings shared by the SQLite and PostgreSQL schemas.
namespace chatd::store::detail {

// messages.mentions: the names separated by single spaces (a user name holds no space).
inline std::string stored_mentions(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names) {
        if (!out.empty()) out += ' ';
        out += name;
    }
    return out;
}

inline std::vector<std::string> mentions_from_db(std::string_view stored) {
    std::vector<std::string> names;
    while (!stored.empty()) {
        const auto space = stored.find(' ');
        names.emplace_back(stored.substr(0, space));
        if (space == std::string_view::npos) break;
        stored.remove_prefix(space + 1);
    }
    return names;
}

// The stored codes are part of both schemas (the kind CHECK of 0001, widened by 0007): never
// renumber.
inline std::int64_t kind_to_db(model::MessageKind kind) {
    switch (kind) {
        case model::MessageKind::Text:
            return 0;
        case model::MessageKind::Join:
            return 1;
        case model::MessageKind::Leave:
            return 2;
        case model::MessageKind::Edit:
            return 3;
        case model::MessageKind::Delete:
            return 4;
        case model::MessageKind::React:
            return 5;
        case model::MessageKind::Unreact:
            return 6;
    }
    return 0;
}

inline model::MessageKind kind_from_db(std::int64_t code) {
    switch (code) {
        case 1:
            return model::MessageKind::Join;
        case 2:
            return model::MessageKind::Leave;
        case 3:
            return model::MessageKind::Edit;
        case 4:
            return model::MessageKind::Delete;
        case 5:
            return model::MessageKind::React;
        case 6:
            return model::MessageKind::Unreact;
        default:
            return model::MessageKind::Text;
    }
}

// The outbox and a duplicate's answer carry the stored row without the counted parts of its
// folded state (reactions, replies), so that a client applying the later change rows and
// replies counts each exactly once. edited_ms and deleted stay: the row's content already is
// its folded content (an edit rewrote it, a delete emptied it), and a row republished after an
// edit must say why its content is not what was first sent.
inline void clear_folded_state(model::Message& message) {
    message.reactions.clear();
    message.reply_count = 0;
    message.last_reply_ms = 0;
}

// Ids of the messages of a page that may hold reactions (Text, not deleted), and where each is.
inline std::unordered_map<model::MessageId, std::size_t> reaction_holders(
    const std::vector<model::Message>& messages) {
    std::unordered_map<model::MessageId, std::size_t> holders;
    for (std::size_t i = 0; i < messages.size(); ++i) {
        if (messages[i].kind == model::MessageKind::Text && !messages[i].deleted) {
            holders.emplace(messages[i].id, i);
        }
    }
    return holders;
}

// Folds one reactions row into its message. Rows come in the order they were added
// (change_id), so emoji are ordered by their first reaction and users by when they reacted.
inline void fold_reaction(model::Message& message, std::string emoji, std::string user) {
    auto it = std::find_if(message.reactions.begin(), message.reactions.end(),
                           [&emoji](const model::Reaction& r) { return r.emoji == emoji; });
    if (it == message.reactions.end()) {
        message.reactions.push_back(model::Reaction{std::move(emoji), {}});
        it = std::prev(message.reactions.end());
    }
    it->users.push_back(std::move(user));
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
