#include "store/postgres_appends.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>

#include "store/read_state_rows.hpp"
#include "store/room_log_rules.hpp"

namespace chatd::store::detail {
namespace {

// Held until the transaction ends; see insert_in_one_transaction.
constexpr const char* kLockRoom = "SELECT pg_advisory_xact_lock($1::bigint)";

// ON CONFLICT names the partial unique index messages_client_msg_id (its columns and
// predicate). An empty client_msg_id is outside that index, so such a row always inserts.
constexpr const char* kInsertMessage =
    "INSERT INTO messages"
    " (room, user_name, content, sent_at, ts_ms, client_msg_id, kind, origin_node, published,"
    " target_id, reply_to, mentions, mentions_room)"
    " VALUES ($1, $2, $3, $4, $5::bigint, $6, $7::smallint, $8, $9::boolean, $10::bigint,"
    " $11::bigint, $12, $13::boolean)"
    " ON CONFLICT (user_name, client_msg_id) WHERE client_msg_id <> '' DO NOTHING"
    " RETURNING id";

// Mentions (room_log_rules.hpp FoundMentions): the room's members are the users with a read
// mark in it; the room's lock keeps its membership of writers' appends steady meanwhile.
constexpr const char* kMentionedMembers =
    "SELECT j.value FROM json_array_elements_text($2::json) WITH ORDINALITY AS j(value, n)"
    " WHERE EXISTS (SELECT 1 FROM read_marks r WHERE r.user_name = j.value AND r.room = $1)"
    " ORDER BY j.n";
constexpr const char* kRoomMemberCount =
    "SELECT COUNT(*) FROM (SELECT 1 FROM read_marks WHERE room = $1 LIMIT $2::bigint) c";
constexpr const char* kInsertMentions =
    "INSERT INTO mentions (user_name, room, message_id)"
    " SELECT j.value, $1, $3::bigint FROM json_array_elements_text($4::json) j(value)"
    " WHERE j.value <> $2"
    " UNION SELECT r.user_name, $1, $3::bigint FROM read_marks r WHERE $5::boolean"
    " AND r.room = $1 AND r.user_name <> $2"
    " ON CONFLICT DO NOTHING";

// The room log's rules (room_log_rules.hpp): the row a change or reply refers to, then the
// folded state each accepted append updates, all inside the append's transaction and under
// the room's lock, so concurrent changes of one message (from any node) apply one at a time.
constexpr const char* kFindTarget =
    "SELECT room, kind, user_name, ts_ms, deleted, reply_to FROM messages WHERE id = $1::bigint";
constexpr const char* kReactionState =
    "SELECT COUNT(DISTINCT emoji),"
    " EXISTS (SELECT 1 FROM reactions WHERE message_id = $1::bigint AND emoji = $2)"
    " FROM reactions WHERE message_id = $1::bigint";
constexpr const char* kCountReply =
    "UPDATE messages SET reply_count = reply_count + 1,"
    " last_reply_ms = GREATEST(last_reply_ms, $2::bigint) WHERE id = $1::bigint";
constexpr const char* kUncountReply =
    "UPDATE messages SET reply_count = reply_count - 1 WHERE id = $1::bigint";
constexpr const char* kApplyEdit =
    "UPDATE messages SET content = $2, edited_ms = $3::bigint WHERE id = $1::bigint";
constexpr const char* kApplyDelete =
    "UPDATE messages SET content = '', deleted = TRUE WHERE id = $1::bigint";
constexpr const char* kEraseEdits =
    "UPDATE messages SET content = '' WHERE target_id = $1::bigint AND target_id <> 0"
    " AND kind = 3";
constexpr const char* kClearReactions = "DELETE FROM reactions WHERE message_id = $1::bigint";
constexpr const char* kAddReaction =
    "INSERT INTO reactions (message_id, emoji, user_name, ts_ms, change_id)"
    " VALUES ($1::bigint, $2, $3, $4::bigint, $5::bigint) ON CONFLICT DO NOTHING";
constexpr const char* kRemoveReaction =
    "DELETE FROM reactions WHERE message_id = $1::bigint AND emoji = $2 AND user_name = $3";
// The room's newest id, read once per room per transaction under the room's lock.
constexpr const char* kLastIdOfRoom =
    "SELECT COALESCE((SELECT id FROM messages WHERE room = $1 ORDER BY id DESC LIMIT 1), 0)";
// `client_msg_id <> ''` repeats the partial index's condition so the planner may use it.
constexpr const char* kFindMessageByClientMsgId =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE user_name = $1 AND client_msg_id = $2 AND client_msg_id <> ''";

// The writer's reconnect backoff while the server is unreachable: appends fail at once
// meanwhile, and at most one connection attempt is made per interval.
constexpr std::chrono::milliseconds kMinReconnectBackoff{100};
constexpr std::chrono::milliseconds kMaxReconnectBackoff{5000};

// The advisory lock key of a room: 64-bit FNV-1a of its UTF-8 name. Every node must compute
// the same key for the same room, so this function is part of the database protocol between
// nodes: never change it while an older chatd may still write to the same database. Two rooms
// sharing a key only serialize their commits; correctness does not depend on uniqueness.
std::int64_t room_lock_key(std::string_view room) {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const char c : room) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 0x100000001b3ULL;
    }
    return static_cast<std::int64_t>(hash);
}

// Takes the transaction-scoped advisory lock of every distinct room of the batch, in ascending
// key order. Every writer of every node locks in that one order, and takes its room locks
// before anything else in the transaction, so two nodes never wait for each other in a cycle.
void lock_rooms(PgConnection& db, const std::vector<NewMessage*>& messages) {
    std::vector<std::int64_t> keys;
    keys.reserve(messages.size());
    for (const auto* message : messages) keys.push_back(room_lock_key(message->room));
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    for (const auto key : keys) db.exec(kLockRoom, {param(key)});
}

// Newest id of each room the open transaction has written to or looked up. Read under the
// room's lock, so no other node adds to the room until this transaction ends; scoped to one
// transaction, so a rollback simply drops it.
using LastIdOfRoom = std::unordered_map<std::string, model::MessageId>;

model::MessageId& last_id_of_room(PgConnection& db,
                                  LastIdOfRoom& last_ids,
                                  const std::string& room) {
    if (auto it = last_ids.find(room); it != last_ids.end()) return it->second;
    const model::MessageId id = db.exec(kLastIdOfRoom, {room}).integer(0, 0);
    return last_ids.emplace(room, id).first->second;
}

std::optional<model::Message> find_by_client_msg_id(PgConnection& db, const NewMessage& message) {
    const auto existing =
        db.exec(kFindMessageByClientMsgId, {message.user_name, message.client_msg_id});
    if (existing.empty()) return std::nullopt;
    auto stored = message_from_row(existing, 0);
    clear_folded_state(stored);
    return stored;
}

std::optional<TargetRow> find_target(PgConnection& db, model::MessageId id) {
    const auto row = db.exec(kFindTarget, {param(id)});
    if (row.empty()) return std::nullopt;
    return TargetRow{row.text(0, 0),    kind_from_db(row.integer(0, 1)),
                     row.text(0, 2),    row.integer(0, 3),
                     row.boolean(0, 4), row.integer(0, 5)};
}

ReactionState reactions_of(PgConnection& db, const NewMessage& message) {
    const auto state = db.exec(kReactionState, {param(message.target_id), message.content});
    return ReactionState{state.integer(0, 0), state.boolean(0, 1)};
}

FoundMentions find_mentions(PgConnection& db, const NewMessage& message) {
    FoundMentions found;
    if (!message.mention_names.empty()) {
        const auto rows =
            db.exec(kMentionedMembers, {message.room, json_string_array(message.mention_names)});
        for (int row = 0; row < rows.size(); ++row) found.members.push_back(rows.text(row, 0));
    }
    if (message.mentions_room) {
        found.room_members =
            db.exec(kRoomMemberCount, {message.room, param(room_members_count_limit(message))})
                .integer(0, 0);
    }
    return found;
}

// Updates the folded state for the append `message` just stored as `id`, in its transaction.
void apply_to_folded_state(PgConnection& db,
                           const NewMessage& message,
                           model::MessageId id,
                           const TargetRow& target,
                           model::MessageId reply_to) {
    const std::string target_id = param(message.target_id);
    switch (message.kind) {
        case model::MessageKind::Text:
            db.exec(kCountReply, {param(reply_to), param(message.ts_ms)});
            return;
        case model::MessageKind::Edit:
            db.exec(kApplyEdit, {target_id, message.content, param(message.ts_ms)});
            return;
        case model::MessageKind::Delete:
            db.exec(kApplyDelete, {target_id});
            db.exec(kEraseEdits, {target_id});
            db.exec(kClearReactions, {target_id});
            if (target.reply_to != 0) db.exec(kUncountReply, {param(target.reply_to)});
            return;
        case model::MessageKind::React:
            db.exec(kAddReaction, {target_id, message.content, message.user_name,
                                   param(message.ts_ms), param(id)});
            return;
        case model::MessageKind::Unreact:
            db.exec(kRemoveReaction, {target_id, message.content, message.user_name});
            return;
        case model::MessageKind::Join:
        case model::MessageKind::Leave:
            return;
    }
}

// Stores one message inside the open transaction (whose room locks are held). Throws PgError:
// in PostgreSQL any failed statement aborts the whole transaction.
//
// A rule-following append (a change or a reply) is checked first: its target is in the same
// room, whose lock this transaction holds, so no other writer changes the target until the
// commit. A refused one stores nothing, changes nothing and costs the batch nothing.
AppendResult insert_message(PgConnection& db, const NewMessage& message, LastIdOfRoom& last_ids) {
    model::MessageId& room_last_id = last_id_of_room(db, last_ids, message.room);
    std::optional<AcceptedByRules> accepted;
    if (follows_rules(message)) {
        auto checked = check_rules(
            message, [&](const NewMessage& m) { return find_by_client_msg_id(db, m); },
            [&](model::MessageId id) { return find_target(db, id); },
            [&](const NewMessage& m) { return reactions_of(db, m); });
        if (auto* answer = std::get_if<AppendResult>(&checked)) return std::move(*answer);
        accepted = std::get<AcceptedByRules>(std::move(checked));
    }
    const model::MessageId reply_to = accepted ? accepted->reply_to : 0;
    FoundMentions mentions;
    if (has_mentions(message)) {
        mentions = find_mentions(db, message);
        if (room_mention_too_large(message, mentions)) {
            // A retry of a message stored before the room grew is still its first copy.
            if (!message.client_msg_id.empty()) {
                if (auto existing = find_by_client_msg_id(db, message)) {
                    return duplicate_of(std::move(*existing));
                }
            }
            AppendResult refused;
            refused.refusal = Refusal::RoomMentionTooLarge;
            return refused;
        }
    }
    try {
        const auto inserted = db.exec(
            kInsertMessage,
            {message.room, message.user_name, message.content, message.sent_at,
             param(message.ts_ms), message.client_msg_id, param(kind_to_db(message.kind)),
             message.origin_node, param(message.origin_node.empty()), param(message.target_id),
             param(reply_to), stored_mentions(mentions.members), param(message.mentions_room)});
        if (!inserted.empty()) {
            const model::MessageId id = inserted.integer(0, 0);
            if (accepted) apply_to_folded_state(db, message, id, accepted->target, reply_to);
            if (has_mentions(message)) {
                db.exec(kInsertMentions,
                        {message.room, message.user_name, param(id),
                         json_string_array(mentions.members), param(message.mentions_room)});
            }
            AppendResult result;
            result.ok = true;
            result.message = model::Message{id,
                                            message.room,
                                            message.user_name,
                                            message.content,
                                            message.sent_at,
                                            message.ts_ms,
                                            message.client_msg_id,
                                            message.kind,
                                            room_last_id,
                                            message.target_id,
                                            reply_to};
            result.message.mentions = std::move(mentions.members);
            result.message.mentions_room = message.mentions_room;
            room_last_id = id;
            return result;
        }
    } catch (const PgError& error) {
        // The only foreign key of messages is its room.
        if (error.sqlstate() == kForeignKeyViolation) {
            throw PgError("no such room: " + message.room, error.sqlstate(), false);
        }
        throw;
    }
    // ON CONFLICT did nothing: the key belongs to a committed row (this node's or another's;
    // a concurrent insert of the same key made ours wait for its transaction to end) or to an
    // earlier row of this transaction. This new statement's snapshot sees either.
    auto existing = find_by_client_msg_id(db, message);
    if (!existing) {
        throw PgError("postgres: client_msg_id conflict without a visible row", "", false);
    }
    return duplicate_of(std::move(*existing));
}

// Stores `messages` in one transaction. Throws PgError when the transaction failed as a
// whole; nothing of it is stored then (unless the connection died during COMMIT itself).
//
// Order across nodes: ids come from one sequence, but a sequence alone hands out ids in
// nextval order, not commit order. If node A took id 10 and node B id 11 for the same room and
// B committed first, a client paging `after=` could read 11 before 10 is visible and then
// never ask for 10 again. So the room locks are taken FIRST, before any insert: a transaction
// that holds a room's lock is the only one taking ids for that room until it commits (the
// lock is released after the commit is visible), so within a room ids are handed out, and
// committed, in one order across all nodes. Different rooms still commit in parallel.
std::vector<AppendResult> insert_in_one_transaction(PgConnection& db,
                                                    const std::vector<NewMessage*>& messages) {
    return db.transaction([&] {
        lock_rooms(db, messages);
        std::vector<AppendResult> results;
        results.reserve(messages.size());
        LastIdOfRoom last_ids;
        for (const auto* message : messages) {
            results.push_back(insert_message(db, *message, last_ids));
        }
        return results;
    });
}

}  // namespace

std::vector<AppendResult> PostgresAppends::commit(const std::vector<NewMessage*>& messages) {
    for (auto* message : messages) normalize(*message);
    PgConnection& db = connection();
    try {
        return insert_in_one_transaction(db, messages);
    } catch (const PgError& error) {
        // The next batch reconnects; retrying this one's messages on a dead connection cannot
        // succeed.
        if (error.connection_lost()) throw WriterUnavailable(error.what());
        throw;
    }
}

PgConnection& PostgresAppends::connection() {
    if (writer_->alive()) return *writer_;
    const auto now = Clock::now();
    if (now < next_reconnect_) {
        throw WriterUnavailable("postgres: connection lost, reconnecting: " + last_connect_error_);
    }
    try {
        writer_->reconnect();
        reconnect_backoff_ = {};
        return *writer_;
    } catch (const StoreError& failure) {
        last_connect_error_ = failure.what();
        reconnect_backoff_ = std::clamp<Clock::duration>(
            reconnect_backoff_ * 2, kMinReconnectBackoff, kMaxReconnectBackoff);
        next_reconnect_ = now + reconnect_backoff_;
        throw WriterUnavailable("postgres: connection lost, reconnecting: " + last_connect_error_);
    }
}

}  // namespace chatd::store::detail
