#include "store/sqlite_appends.hpp"

#include <algorithm>
#include <cstddef>
#include <string>
#include <tuple>
#include <utility>
#include <variant>

#include "store/read_state_rows.hpp"
#include "store/room_log_rules.hpp"

namespace chatd::store::detail {
namespace {

// The room's newest id, read once per room per transaction under the write lock.
constexpr const char* kRoomState =
    "SELECT EXISTS (SELECT 1 FROM rooms WHERE name = ?1),"
    " COALESCE((SELECT id FROM messages WHERE room = ?1 ORDER BY id DESC LIMIT 1), 0)";
// The newest `count` messages, newest first: those one multi-row INSERT just stored, when it
// skipped a duplicate.
constexpr const char* kNewestMessages =
    "SELECT id, user_name, client_msg_id FROM messages ORDER BY id DESC LIMIT ?1";
// `client_msg_id <> ''` repeats the partial index's condition so the planner may use it.
constexpr const char* kFindMessageByClientMsgId =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE user_name = ?1 AND client_msg_id = ?2 AND client_msg_id <> ''";
// DO NOTHING without a target covers uniqueness only (the client_msg_id index), never the room
// foreign key or a CHECK: a duplicate changes no row, then kFindMessageByClientMsgId fetches the
// first copy. One b-tree descent per fresh message instead of a lookup before every insert. No
// RETURNING: SQLite buffers its rows in an ephemeral table, opened and freed per execution.
constexpr const char* kInsertMessage =
    "INSERT INTO messages"
    " (room, user_name, content, sent_at, ts_ms, client_msg_id, kind, origin_node, published,"
    " target_id, reply_to, mentions, mentions_room)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    " ON CONFLICT DO NOTHING";

// Mentions (room_log_rules.hpp FoundMentions): the room's members are the users with a read
// mark in it. ?2 is a JSON array of names; j.key keeps the order they were written in.
constexpr const char* kMentionedMembers =
    "SELECT j.value FROM json_each(?2) j WHERE EXISTS"
    " (SELECT 1 FROM read_marks r WHERE r.user_name = j.value AND r.room = ?1) ORDER BY j.key";
constexpr const char* kRoomMemberCount =
    "SELECT COUNT(*) FROM (SELECT 1 FROM read_marks WHERE room = ?1 LIMIT ?2)";
// One row per member to notify: the named ones (?4, a JSON array), every member for @room (?5),
// never the author.
constexpr const char* kInsertMentions =
    "INSERT OR IGNORE INTO mentions (user_name, room, message_id)"
    " SELECT j.value, ?1, ?3 FROM json_each(?4) j WHERE j.value <> ?2"
    " UNION ALL SELECT r.user_name, ?1, ?3 FROM read_marks r WHERE ?5 AND r.room = ?1"
    " AND r.user_name <> ?2";

// The room log's rules (room_log_rules.hpp): the row a change or reply refers to, then the
// folded state each accepted append updates, all inside the append's transaction.
constexpr const char* kFindTarget =
    "SELECT room, kind, user_name, ts_ms, deleted, reply_to FROM messages WHERE id = ?1";
constexpr const char* kReactionState =
    "SELECT COUNT(DISTINCT emoji),"
    " EXISTS (SELECT 1 FROM reactions WHERE message_id = ?1 AND emoji = ?2)"
    " FROM reactions WHERE message_id = ?1";
constexpr const char* kCountReply =
    "UPDATE messages SET reply_count = reply_count + 1, last_reply_ms = MAX(last_reply_ms, ?2)"
    " WHERE id = ?1";
constexpr const char* kUncountReply =
    "UPDATE messages SET reply_count = reply_count - 1 WHERE id = ?1";
constexpr const char* kApplyEdit = "UPDATE messages SET content = ?2, edited_ms = ?3 WHERE id = ?1";
constexpr const char* kApplyDelete = "UPDATE messages SET content = '', deleted = 1 WHERE id = ?1";
// `target_id <> 0` repeats the partial index's condition so the planner may use it.
constexpr const char* kEraseEdits =
    "UPDATE messages SET content = '' WHERE target_id = ?1 AND target_id <> 0 AND kind = 3";
constexpr const char* kClearReactions = "DELETE FROM reactions WHERE message_id = ?1";
constexpr const char* kAddReaction =
    "INSERT INTO reactions (message_id, emoji, user_name, ts_ms, change_id)"
    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
constexpr const char* kRemoveReaction =
    "DELETE FROM reactions WHERE message_id = ?1 AND emoji = ?2 AND user_name = ?3";
// Up to kMaxRowsPerInsert messages per INSERT statement (rows of ?1..?9, ?10..?18, ...): one
// statement start, one set of cursors on the table and its three indexes, one statement journal
// and one sqlite_sequence update for all of them, instead of one each per message (together
// about a quarter of the writer's instructions per append). OR IGNORE, and no foreign key
// checked by SQLite (kForeignKeysOff): no row can abort the statement, so SQLite keeps no
// statement journal for it. The only row it may skip is a duplicate client_msg_id (the values
// always pass the CHECKs and NOT NULLs); insert_rows then tells the stored rows from the
// skipped ones. Without a skipped row SQLite gives the rows consecutive ids in VALUES order:
// AUTOINCREMENT takes max(sequence, largest id) + 1 for each new row.
constexpr std::size_t kMaxRowsPerInsert = 32;
constexpr int kColumnsPerRow = 9;
static_assert(kMaxRowsPerInsert * kColumnsPerRow <= 32766, "SQLITE_MAX_VARIABLE_NUMBER");

std::string multi_row_insert_sql(std::size_t rows) {
    std::string sql =
        "INSERT OR IGNORE INTO messages"
        " (room, user_name, content, sent_at, ts_ms, client_msg_id, kind, origin_node, published)"
        " VALUES ";
    for (std::size_t row = 0; row < rows; ++row) {
        sql += row == 0 ? "(" : ", (";
        for (int column = 1; column <= kColumnsPerRow; ++column) {
            if (column > 1) sql += ", ";
            sql += '?';
            sql += std::to_string(row * kColumnsPerRow + static_cast<std::size_t>(column));
        }
        sql += ')';
    }
    return sql;
}

// The statements for 2, 4, 8, ... kMaxRowsPerInsert rows: a batch is cut into at most one of
// each below the largest, so a few cached statements cover every batch size.
const std::vector<std::string>& multi_row_inserts() {
    static const std::vector<std::string> statements = [] {
        std::vector<std::string> all;
        for (std::size_t rows = 2; rows <= kMaxRowsPerInsert; rows *= 2) {
            all.push_back(multi_row_insert_sql(rows));
        }
        return all;
    }();
    return statements;
}

using LastIdOfRoom = RoomChains::LastIdOfRoom;
// In LastIdOfRoom: the room does not exist (ids are positive).
constexpr model::MessageId kNoSuchRoom = -1;

// The newest id of `room`, or kNoSuchRoom.
model::MessageId& last_id_of_room(SqliteConnection& db,
                                  LastIdOfRoom& last_ids,
                                  const std::string& room) {
    if (auto it = last_ids.find(room); it != last_ids.end()) return it->second;
    Query state(db, kRoomState);
    state.bind(1, room);
    model::MessageId id = kNoSuchRoom;
    if (state.step() && state.integer(0) != 0) id = state.integer(1);
    return last_ids.emplace(room, id).first->second;
}

// The stored message that `message` duplicates (same user_name and client_msg_id).
std::optional<model::Message> find_by_client_msg_id(SqliteConnection& db,
                                                    const NewMessage& message) {
    Query existing(db, kFindMessageByClientMsgId);
    existing.bind_borrowed(1, message.user_name).bind_borrowed(2, message.client_msg_id);
    if (!existing.step()) return std::nullopt;
    auto stored = message_from_row(existing);
    clear_folded_state(stored);
    return stored;
}

std::optional<TargetRow> find_target(SqliteConnection& db, model::MessageId id) {
    Query row(db, kFindTarget);
    row.bind(1, id);
    if (!row.step()) return std::nullopt;
    return TargetRow{row.text(0),    kind_from_db(row.integer(1)), row.text(2),
                     row.integer(3), row.integer(4) != 0,          row.integer(5)};
}

ReactionState reactions_of(SqliteConnection& db, const NewMessage& message) {
    Query state(db, kReactionState);
    state.bind(1, message.target_id).bind_borrowed(2, message.content);
    if (!state.step()) db.fail("reaction state");
    return ReactionState{state.integer(0), state.integer(1) != 0};
}

FoundMentions find_mentions(SqliteConnection& db, const NewMessage& message) {
    FoundMentions found;
    if (!message.mention_names.empty()) {
        Query rows(db, kMentionedMembers);
        rows.bind_borrowed(1, message.room).bind(2, json_string_array(message.mention_names));
        while (rows.step()) found.members.push_back(rows.text(0));
    }
    if (message.mentions_room) {
        Query count(db, kRoomMemberCount);
        count.bind_borrowed(1, message.room).bind(2, room_members_count_limit(message));
        if (!count.step()) db.fail("room member count");
        found.room_members = count.integer(0);
    }
    return found;
}

void store_mentions(SqliteConnection& db,
                    const NewMessage& message,
                    model::MessageId id,
                    const FoundMentions& found) {
    Query(db, kInsertMentions)
        .bind_borrowed(1, message.room)
        .bind_borrowed(2, message.user_name)
        .bind(3, id)
        .bind(4, json_string_array(found.members))
        .bind(5, std::int64_t{message.mentions_room ? 1 : 0})
        .run();
}

// Updates the folded state for the append `message` just stored as `id`, in its transaction.
// Throws StoreError: a change stored without its effect must not commit.
void apply_to_folded_state(SqliteConnection& db,
                           const NewMessage& message,
                           model::MessageId id,
                           const TargetRow& target,
                           model::MessageId reply_to) {
    switch (message.kind) {
        case model::MessageKind::Text:
            Query(db, kCountReply).bind(1, reply_to).bind(2, message.ts_ms).run();
            return;
        case model::MessageKind::Edit:
            Query(db, kApplyEdit)
                .bind(1, message.target_id)
                .bind_borrowed(2, message.content)
                .bind(3, message.ts_ms)
                .run();
            return;
        case model::MessageKind::Delete:
            Query(db, kApplyDelete).bind(1, message.target_id).run();
            Query(db, kEraseEdits).bind(1, message.target_id).run();
            Query(db, kClearReactions).bind(1, message.target_id).run();
            if (target.reply_to != 0) Query(db, kUncountReply).bind(1, target.reply_to).run();
            return;
        case model::MessageKind::React:
            Query(db, kAddReaction)
                .bind(1, message.target_id)
                .bind_borrowed(2, message.content)
                .bind_borrowed(3, message.user_name)
                .bind(4, message.ts_ms)
                .bind(5, id)
                .run();
            return;
        case model::MessageKind::Unreact:
            Query(db, kRemoveReaction)
                .bind(1, message.target_id)
                .bind_borrowed(2, message.content)
                .bind_borrowed(3, message.user_name)
                .run();
            return;
        case model::MessageKind::Join:
        case model::MessageKind::Leave:
            return;
    }
}

// The stored form of a freshly inserted `message`, its strings still empty: they are moved
// from the NewMessage once its transaction committed (take_text), rather than copied per
// append while a failed transaction may still retry with them.
model::Message stored_without_text(model::MessageId id,
                                   const NewMessage& message,
                                   model::MessageId prev_id) {
    model::Message stored;
    stored.id = id;
    stored.ts_ms = message.ts_ms;
    stored.kind = message.kind;
    stored.prev_id = prev_id;
    return stored;
}

void take_text(model::Message& stored, NewMessage& message) {
    stored.room = std::move(message.room);
    stored.user_name = std::move(message.user_name);
    stored.content = std::move(message.content);
    stored.sent_at = std::move(message.sent_at);
    stored.client_msg_id = std::move(message.client_msg_id);
}

// Stores one message inside the open transaction. A statement error that leaves the
// transaction open only concerns this message (SQLite undid just that statement) and becomes
// a failed result; one that ended the transaction throws StoreError.
//
// A rule-following append (a change or a reply) is checked first, against the rows this
// transaction sees (SQLite's single writer: nobody else changes them meanwhile), and updates
// the folded state once stored. A refused one stores nothing and changes nothing.
AppendResult insert_message(SqliteConnection& db,
                            const NewMessage& message,
                            LastIdOfRoom& last_ids) {
    AppendResult result;
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
    // Read before the insert: afterwards the room's newest id is the new message's own.
    model::MessageId& room_last_id = last_id_of_room(db, last_ids, message.room);
    if (room_last_id == kNoSuchRoom) {
        result.error = "no such room: " + message.room;
        return result;
    }
    FoundMentions mentions;
    if (has_mentions(message)) {
        mentions = find_mentions(db, message);
        if (room_mention_too_large(message, mentions)) {
            // A retry of a message stored before the room grew is still its first copy.
            if (auto existing = find_by_client_msg_id(db, message)) {
                return duplicate_of(std::move(*existing));
            }
            result.refusal = Refusal::RoomMentionTooLarge;
            return result;
        }
    }
    const std::string stored_names = stored_mentions(mentions.members);
    {
        Query insert(db, kInsertMessage);
        insert.bind_borrowed(1, message.room)
            .bind_borrowed(2, message.user_name)
            .bind_borrowed(3, message.content)
            .bind_borrowed(4, message.sent_at)
            .bind(5, message.ts_ms)
            .bind_borrowed(6, message.client_msg_id)
            .bind(7, kind_to_db(message.kind))
            .bind_borrowed(8, message.origin_node)
            .bind(9, std::int64_t{message.origin_node.empty() ? 1 : 0})
            .bind(10, message.target_id)
            .bind(11, reply_to)
            .bind_borrowed(12, stored_names)
            .bind(13, std::int64_t{message.mentions_room ? 1 : 0});
        const int rc = insert.try_step();
        if (rc != SQLITE_DONE) {
            if (!db.in_transaction()) db.fail("append");
            result.error = std::string("sqlite: ") + sqlite3_errmsg(db.handle());
            return result;
        }
    }
    // Only a client_msg_id conflict inserts nothing without an error.
    const bool inserted = sqlite3_changes64(db.handle()) == 1;
    if (!inserted) {
        auto existing = find_by_client_msg_id(db, message);
        if (!existing) {
            result.error = "sqlite: append of " + message.client_msg_id + " stored nothing";
            return result;
        }
        return duplicate_of(std::move(*existing));
    }
    const model::MessageId id = sqlite3_last_insert_rowid(db.handle());
    if (accepted) apply_to_folded_state(db, message, id, accepted->target, reply_to);
    if (has_mentions(message)) store_mentions(db, message, id, mentions);
    result.ok = true;
    result.message = stored_without_text(id, message, room_last_id);
    result.message.target_id = message.target_id;
    result.message.reply_to = reply_to;
    result.message.mentions = std::move(mentions.members);
    result.message.mentions_room = message.mentions_room;
    room_last_id = id;
    return result;
}

// Stores the messages at `rows` (indexes into `messages`, rooms known to exist) with one
// multi-row INSERT inside the open transaction, setting their results. Throws StoreError when
// the statement failed: without a statement journal SQLite cannot undo it alone, so the whole
// transaction is retried one message at a time.
void insert_rows(SqliteConnection& db,
                 sqlite3_stmt* statement,
                 const std::vector<NewMessage*>& messages,
                 const std::size_t* rows,
                 std::size_t count,
                 LastIdOfRoom& last_ids,
                 std::vector<AppendResult>& results) {
    {
        Query insert(db, statement);
        for (std::size_t row = 0; row < count; ++row) {
            const NewMessage& message = *messages[rows[row]];
            const int base = static_cast<int>(row) * kColumnsPerRow;
            insert.bind_borrowed(base + 1, message.room)
                .bind_borrowed(base + 2, message.user_name)
                .bind_borrowed(base + 3, message.content)
                .bind_borrowed(base + 4, message.sent_at)
                .bind(base + 5, message.ts_ms)
                .bind_borrowed(base + 6, message.client_msg_id)
                .bind(base + 7, kind_to_db(message.kind))
                .bind_borrowed(base + 8, message.origin_node)
                .bind(base + 9, std::int64_t{message.origin_node.empty() ? 1 : 0});
        }
        insert.run();
    }
    const auto stored = static_cast<std::size_t>(sqlite3_changes64(db.handle()));
    // The ids of the stored rows, in VALUES order.
    std::vector<model::MessageId> ids;
    ids.reserve(count);
    if (stored == count) {
        const model::MessageId last = sqlite3_last_insert_rowid(db.handle());
        for (std::size_t row = 0; row < count; ++row) {
            ids.push_back(last - static_cast<model::MessageId>(count - 1 - row));
        }
    } else {
        // Some rows were duplicates. The stored ones are the newest `stored` messages, in VALUES
        // order, and each has its own message's (user_name, client_msg_id); a skipped row has a
        // non-empty key (only that index can skip a row) that no later stored row repeats.
        std::vector<std::tuple<model::MessageId, std::string, std::string>> newest;
        {
            Query rows_stored(db, kNewestMessages);
            rows_stored.bind(1, static_cast<std::int64_t>(stored));
            while (rows_stored.step()) {
                newest.emplace_back(rows_stored.integer(0), rows_stored.text(1),
                                    rows_stored.text(2));
            }
        }
        std::reverse(newest.begin(), newest.end());
        std::size_t next = 0;
        for (std::size_t row = 0; row < count; ++row) {
            const NewMessage& message = *messages[rows[row]];
            if (next < newest.size() && std::get<1>(newest[next]) == message.user_name &&
                std::get<2>(newest[next]) == message.client_msg_id) {
                ids.push_back(std::get<0>(newest[next++]));
            } else if (message.client_msg_id.empty()) {
                throw StoreError("sqlite: a multi-row append skipped a message without a key");
            } else {
                ids.push_back(0);  // a duplicate
            }
        }
        if (next != newest.size()) {
            throw StoreError("sqlite: a multi-row append stored rows it was not given");
        }
    }
    for (std::size_t row = 0; row < count; ++row) {
        const NewMessage& message = *messages[rows[row]];
        AppendResult& result = results[rows[row]];
        if (ids[row] == 0) {
            auto existing = find_by_client_msg_id(db, message);
            if (!existing) {
                result.error = "sqlite: append of " + message.client_msg_id + " stored nothing";
                continue;
            }
            result = duplicate_of(std::move(*existing));
            continue;
        }
        model::MessageId& room_last_id = last_ids.find(message.room)->second;
        result.ok = true;
        result.message = stored_without_text(ids[row], message, room_last_id);
        room_last_id = ids[row];
    }
}

// Stores `messages` in one transaction. Throws StoreError when the transaction failed as a
// whole (WriterUnavailable when it could not even start); nothing of it is stored then.
std::vector<AppendResult> insert_in_one_transaction(SqliteConnection& db,
                                                    RoomChains& chains,
                                                    const std::vector<NewMessage*>& messages) {
    try {
        execute(db, kBeginImmediate);
    } catch (const StoreError& error) {
        throw WriterUnavailable(error.what());
    }
    try {
        LastIdOfRoom& last_ids = chains.begin(db);
        if (messages.size() == 1) {
            std::vector<AppendResult> results;
            results.push_back(insert_message(db, *messages.front(), last_ids));
            execute(db, kCommit);
            chains.committed(db);
            return results;
        }
        std::vector<AppendResult> results(messages.size());
        const auto& multi_row_sql = multi_row_inserts();
        std::vector<sqlite3_stmt*> multi_row_statements(multi_row_sql.size(), nullptr);
        // Stores a run of messages that follow no rule (indexes into `messages`) with
        // multi-row INSERTs.
        auto insert_run = [&](const std::vector<std::size_t>& rows) {
            for (std::size_t first = 0; first < rows.size();) {
                const std::size_t left = rows.size() - first;
                if (left == 1) {
                    results[rows[first]] = insert_message(db, *messages[rows[first]], last_ids);
                    break;
                }
                // The largest statement that fits: 2^(size_index + 1) rows.
                std::size_t size_index = multi_row_sql.size() - 1;
                while ((std::size_t{2} << size_index) > left) --size_index;
                const std::size_t count = std::size_t{2} << size_index;
                auto& statement = multi_row_statements[size_index];
                if (statement == nullptr) {
                    statement = db.prepared(multi_row_sql[size_index].c_str());
                }
                insert_rows(db, statement, messages, rows.data() + first, count, last_ids, results);
                first += count;
            }
        };
        // In append order: a change or reply is checked against everything stored before it,
        // this batch's earlier rows included, so the run before it is stored first. Each room's
        // newest id (and whether it exists) is read before its first insert: afterwards it
        // would be one of the new rows.
        std::vector<std::size_t> run;
        run.reserve(messages.size());
        for (std::size_t i = 0; i < messages.size(); ++i) {
            if (last_id_of_room(db, last_ids, messages[i]->room) == kNoSuchRoom) {
                results[i].error = "no such room: " + messages[i]->room;
            } else if (follows_rules(*messages[i]) || has_mentions(*messages[i])) {
                insert_run(run);
                run.clear();
                results[i] = insert_message(db, *messages[i], last_ids);
            } else {
                run.push_back(i);
            }
        }
        insert_run(run);
        execute(db, kCommit);
        chains.committed(db);
        return results;
    } catch (...) {
        db.rollback_quietly();
        chains.rolled_back();
        throw;
    }
}

}  // namespace

std::vector<AppendResult> SqliteAppends::commit(const std::vector<NewMessage*>& messages) {
    for (auto* message : messages) normalize(*message);
    auto results = insert_in_one_transaction(db_, chains_, messages);
    for (std::size_t i = 0; i < messages.size(); ++i) {
        // A duplicate's message is the stored first copy, complete already.
        if (results[i].ok && !results[i].duplicate) take_text(results[i].message, *messages[i]);
    }
    return results;
}

}  // namespace chatd::store::detail
