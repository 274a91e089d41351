#include "store/sqlite_store.hpp"

#include <pthread.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "metrics/metrics.hpp"
#include "model/clock.hpp"
#include "store/embedded_migrations.hpp"
#include "store/schema_codes.hpp"

namespace chatd::store {
namespace {

// Every statement chatd runs. Values are always bound parameters, never spliced into the text.

// Bookkeeping of the migration runner itself, so it lives here rather than in a migration.
constexpr const char* kCreateSchemaVersion =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_ms INTEGER NOT NULL"
    ") STRICT";
constexpr const char* kSchemaVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
constexpr const char* kRecordMigration =
    "INSERT INTO schema_version (version, name, applied_ms) VALUES (?1, ?2, ?3)";

constexpr const char* kJournalModeWal = "PRAGMA journal_mode = WAL";
constexpr const char* kSynchronousFull = "PRAGMA synchronous = FULL";
constexpr const char* kSynchronousNormal = "PRAGMA synchronous = NORMAL";
constexpr const char* kForeignKeysOn = "PRAGMA foreign_keys = ON";
// The writer's page cache holds the hot index pages of the messages table (the default 2 MiB
// is smaller than the client_msg_id index after a few hundred thousand messages, so every
// insert re-read pages); pages are allocated as used, so an idle store stays small.
constexpr const char* kWriterCacheSize = "PRAGMA cache_size = -65536";
// After the migrations, the writer does not let SQLite check the foreign keys to rooms: an
// immediate foreign key makes every multi-row INSERT keep a statement journal (each page it
// changes copied once more, or written to a temp file past 64 KiB), which cost more than the
// multi-row INSERT saved. Rooms are never deleted, so the store checks instead that the room
// exists when it first meets it in a transaction (kRoomState), and in add_member.
constexpr const char* kForeignKeysOff = "PRAGMA foreign_keys = OFF";

// IMMEDIATE takes the write lock up front, so a batch never fails half-way on a lock upgrade.
constexpr const char* kBeginImmediate = "BEGIN IMMEDIATE";
constexpr const char* kCommit = "COMMIT";
constexpr const char* kRollback = "ROLLBACK";

// The room's newest id, read once per room per transaction under the write lock.
constexpr const char* kRoomState =
    "SELECT EXISTS (SELECT 1 FROM rooms WHERE name = ?1),"
    " COALESCE((SELECT id FROM messages WHERE room = ?1 ORDER BY id DESC LIMIT 1), 0)";
constexpr const char* kRoomExists = "SELECT 1 FROM rooms WHERE name = ?1";
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
    " (room, user_name, content, sent_at, ts_ms, client_msg_id, kind, origin_node, published)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    " ON CONFLICT DO NOTHING";
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

constexpr const char* kUnpublished =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE origin_node = ?1 AND published = 0 ORDER BY id ASC LIMIT ?2";
constexpr const char* kMarkPublished = "UPDATE messages SET published = 1 WHERE id = ?1";
constexpr const char* kHistoryNewest =
    "SELECT " CHATD_MESSAGE_COLUMNS " FROM messages m WHERE room = ?1 ORDER BY id DESC LIMIT ?2";
constexpr const char* kHistoryBefore =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE room = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3";
constexpr const char* kHistoryAfter =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE room = ?1 AND id > ?2 ORDER BY id ASC LIMIT ?3";

constexpr const char* kInsertUser =
    "INSERT INTO users (name, password_hash, created_ms, name_key) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (name) DO NOTHING";
constexpr const char* kFindUser =
    "SELECT name, password_hash, created_ms, name_key FROM users WHERE name = ?1";
constexpr const char* kClaimNameKey =
    "INSERT INTO user_name_keys (name_key, user_name) VALUES (?1, ?2)"
    " ON CONFLICT (name_key) DO NOTHING";
constexpr const char* kNameKeyHolder = "SELECT user_name FROM user_name_keys WHERE name_key = ?1";
constexpr const char* kUsersWithoutNameKey =
    "SELECT name FROM users WHERE name_key = '' ORDER BY name LIMIT ?1";
constexpr const char* kSetNameKey = "UPDATE users SET name_key = ?2 WHERE name = ?1";

constexpr const char* kFindLoginFailures =
    "SELECT failures, last_failure_ms FROM login_failures WHERE key = ?1";
constexpr const char* kAddLoginFailure =
    "INSERT INTO login_failures (key, failures, last_failure_ms) VALUES (?1, 1, ?2)"
    " ON CONFLICT (key) DO UPDATE SET"
    " failures = CASE WHEN last_failure_ms < ?3 THEN 1 ELSE failures + 1 END,"
    " last_failure_ms = ?2"
    " RETURNING failures, last_failure_ms";
constexpr const char* kClearLoginFailures = "DELETE FROM login_failures WHERE key = ?1";
constexpr const char* kPurgeLoginFailures = "DELETE FROM login_failures WHERE last_failure_ms < ?1";

constexpr const char* kInsertSession =
    "INSERT INTO sessions (token_hash, user_name, expires_ms) VALUES (?1, ?2, ?3)";
constexpr const char* kFindSession =
    "SELECT token_hash, user_name, expires_ms FROM sessions"
    " WHERE token_hash = ?1 AND expires_ms > ?2";
constexpr const char* kDeleteSession = "DELETE FROM sessions WHERE token_hash = ?1";
// All but the `keep` (?2) sessions of the user expiring last; ties broken by token hash.
constexpr const char* kTrimSessions =
    "DELETE FROM sessions WHERE user_name = ?1 AND token_hash NOT IN"
    " (SELECT token_hash FROM sessions WHERE user_name = ?1"
    " ORDER BY expires_ms DESC, token_hash DESC LIMIT ?2)"
    " RETURNING token_hash";
constexpr const char* kDeleteUserSessions =
    "DELETE FROM sessions WHERE user_name = ?1 RETURNING token_hash";
constexpr const char* kPurgeExpiredSessions = "DELETE FROM sessions WHERE expires_ms <= ?1";

constexpr const char* kInsertRoom =
    "INSERT INTO rooms (name, direct, created_by, created_ms) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (name) DO NOTHING";
constexpr const char* kFindRoom =
    "SELECT name, direct, created_by, created_ms FROM rooms WHERE name = ?1";
constexpr const char* kListPublicRooms =
    "SELECT name, direct, created_by, created_ms FROM rooms WHERE direct = 0 ORDER BY name";

constexpr const char* kInsertMember =
    "INSERT INTO members (room, user_name) VALUES (?1, ?2)"
    " ON CONFLICT (room, user_name) DO NOTHING";
constexpr const char* kDeleteMember = "DELETE FROM members WHERE room = ?1 AND user_name = ?2";
constexpr const char* kIsMember = "SELECT 1 FROM members WHERE room = ?1 AND user_name = ?2";
constexpr const char* kRoomsOf = "SELECT room FROM members WHERE user_name = ?1 ORDER BY room";
constexpr const char* kMembersOf =
    "SELECT user_name FROM members WHERE room = ?1 ORDER BY user_name";

constexpr int kMaxHistoryLimit = 1000;

static_assert(detail::versions_strictly_increase(embedded::kMigrations),
              "migration versions must strictly increase");

struct TransparentHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept {
        return std::hash<std::string_view>{}(text);
    }
};

}  // namespace

namespace detail {

// One SQLite connection with its prepared-statement cache. Not thread-safe: the store
// guarantees that one thread at a time uses it.
class SqliteConnection {
  public:
    SqliteConnection(const std::string& path, int flags, int busy_timeout_ms) {
        const int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, nullptr);
        if (rc != SQLITE_OK) {
            std::string message = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
            sqlite3_close_v2(db_);
            throw StoreError("sqlite: cannot open " + path + ": " + message);
        }
        sqlite3_extended_result_codes(db_, 1);
        sqlite3_busy_timeout(db_, busy_timeout_ms);
    }

    ~SqliteConnection() {
        for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
        sqlite3_close_v2(db_);
    }

    SqliteConnection(const SqliteConnection&) = delete;
    SqliteConnection& operator=(const SqliteConnection&) = delete;

    sqlite3* handle() const { return db_; }

    // The cached prepared statement for `sql`, prepared on first use.
    sqlite3_stmt* prepared(const char* sql) {
        const std::string_view key(sql);
        if (auto it = statements_.find(key); it != statements_.end()) return it->second;
        sqlite3_stmt* statement = nullptr;
        if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr) !=
            SQLITE_OK) {
            fail("prepare");
        }
        statements_.emplace(key, statement);
        return statement;
    }

    // Runs a script of statements without results (migrations only).
    void execute_script(std::string_view script) {
        const std::string text(script);
        char* error = nullptr;
        if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
            std::string message = error != nullptr ? error : sqlite3_errmsg(db_);
            sqlite3_free(error);
            throw StoreError("sqlite: " + message);
        }
    }

    bool in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

    // Ends a transaction that is still open after a failure; never throws.
    void rollback_quietly() noexcept {
        if (in_transaction()) sqlite3_exec(db_, kRollback, nullptr, nullptr, nullptr);
    }

    [[noreturn]] void fail(std::string_view context) const {
        throw StoreError("sqlite: " + std::string(context) + ": " + sqlite3_errmsg(db_));
    }

  private:
    sqlite3* db_ = nullptr;
    std::unordered_map<std::string, sqlite3_stmt*, TransparentHash, std::equal_to<>> statements_;
};

// Runs PASSIVE checkpoints on its own connection and thread when the writer's commits have
// grown the WAL past a threshold (SQLite's default autocheckpoint, but inside the writer's
// COMMIT, was up to 15% of the writer thread's time). Durability does not depend on it: a
// commit is durable once its WAL frames are synced. A PASSIVE checkpoint takes no lock the
// writer needs; the writer restarts the WAL from its start once a checkpoint has copied all of
// it. Under sustained writes a checkpoint running beside the writer may never catch up with it,
// so past kWriterCheckpointPages the writer checkpoints itself between two transactions, as
// SQLite's own autocheckpoint would: that bounds the WAL file.
class WalCheckpointer {
  public:
    static constexpr int kThresholdPages = 1000;
    static constexpr int kWriterCheckpointPages = 20000;

    WalCheckpointer(const std::string& path, bool synchronous_full, int busy_timeout_ms)
        : db_(path, SQLITE_OPEN_READWRITE, busy_timeout_ms) {
        if (sqlite3_exec(
                db_.handle(),
                synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                nullptr, nullptr, nullptr) != SQLITE_OK) {
            db_.fail("checkpointer");
        }
        thread_ = std::thread([this] { run(); });
    }

    ~WalCheckpointer() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    WalCheckpointer(const WalCheckpointer&) = delete;
    WalCheckpointer& operator=(const WalCheckpointer&) = delete;

    // Replaces SQLite's automatic checkpoint on `writer` (which would run inside COMMIT).
    void attach(sqlite3* writer) { sqlite3_wal_hook(writer, &WalCheckpointer::on_commit, this); }

  private:
    static int on_commit(void* self, sqlite3* writer, const char* schema, int wal_pages) {
        if (wal_pages >= kWriterCheckpointPages) {
            sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        } else if (wal_pages >= kThresholdPages) {
            static_cast<WalCheckpointer*>(self)->request();
        }
        return SQLITE_OK;
    }

    void request() {
        {
            std::lock_guard lock(mutex_);
            wanted_ = true;
        }
        wake_.notify_one();
    }

    void run() {
        pthread_setname_np(pthread_self(), "chatd-ckpt");
        std::unique_lock lock(mutex_);
        for (;;) {
            wake_.wait(lock, [this] { return stopping_ || wanted_; });
            if (stopping_) return;
            wanted_ = false;
            lock.unlock();
            // SQLITE_BUSY (another checkpoint, e.g. another process) is retried on the next
            // request; the WAL stays valid meanwhile.
            sqlite3_wal_checkpoint_v2(db_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                      nullptr);
            lock.lock();
        }
    }

    SqliteConnection db_;
    std::mutex mutex_;
    std::condition_variable wake_;
    bool wanted_ = false;    // guarded by mutex_
    bool stopping_ = false;  // guarded by mutex_
    std::thread thread_;     // last: starts after everything above exists
};

}  // namespace detail

namespace {

using detail::SqliteConnection;

// One execution of a cached statement. Resetting on destruction ends the statement's implicit
// read transaction, so a pooled reader never pins an old WAL snapshot.
class Query {
  public:
    Query(SqliteConnection& db, const char* sql) : db_(db), statement_(db.prepared(sql)) {}
    // `statement` must be one of db's cached statements.
    Query(SqliteConnection& db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
    ~Query() {
        sqlite3_reset(statement_);
        sqlite3_clear_bindings(statement_);
    }
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;

    Query& bind(int index, std::string_view text) {
        // A null pointer would bind SQL NULL; an empty view must stay an empty string.
        const char* data = text.data() != nullptr ? text.data() : "";
        check(sqlite3_bind_text64(statement_, index, data, text.size(), SQLITE_TRANSIENT,
                                  SQLITE_UTF8));
        return *this;
    }
    // Binds `text` without copying it: it must stay alive and unchanged until this Query is
    // destroyed (which resets the statement and clears its bindings).
    Query& bind_borrowed(int index, std::string_view text) {
        const char* data = text.data() != nullptr ? text.data() : "";
        check(
            sqlite3_bind_text64(statement_, index, data, text.size(), SQLITE_STATIC, SQLITE_UTF8));
        return *this;
    }
    Query& bind(int index, std::int64_t value) {
        check(sqlite3_bind_int64(statement_, index, value));
        return *this;
    }

    // SQLITE_ROW, SQLITE_DONE or the (extended) error code; for callers that handle errors.
    int try_step() { return sqlite3_step(statement_); }

    // True when a row is available, false when done; throws StoreError on failure.
    bool step() {
        const int rc = try_step();
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        db_.fail(sqlite3_sql(statement_));
    }

    // Runs a statement that returns no rows.
    void run() {
        while (step()) {
        }
    }

    std::string text(int column) const {
        const auto* data = sqlite3_column_text(statement_, column);
        if (data == nullptr) return {};
        const auto size = static_cast<std::size_t>(sqlite3_column_bytes(statement_, column));
        return {reinterpret_cast<const char*>(data), size};
    }
    std::int64_t integer(int column) const { return sqlite3_column_int64(statement_, column); }

  private:
    void check(int rc) const {
        if (rc != SQLITE_OK) db_.fail("bind");
    }

    SqliteConnection& db_;
    sqlite3_stmt* statement_;
};

model::Message message_from_row(const Query& row) {
    model::Message message;
    message.id = row.integer(0);
    message.room = row.text(1);
    message.user_name = row.text(2);
    message.content = row.text(3);
    message.sent_at = row.text(4);
    message.ts_ms = row.integer(5);
    message.client_msg_id = row.text(6);
    message.kind = detail::kind_from_db(row.integer(7));
    message.prev_id = row.integer(8);
    return message;
}

Room room_from_row(const Query& row) {
    return Room{row.text(0), row.integer(1) != 0, row.text(2), row.integer(3)};
}

void execute(SqliteConnection& db, const char* sql) {
    Query(db, sql).run();
}

// Applies every embedded migration newer than the database, each in its own transaction. The
// version is re-read under the write lock so concurrent openers never apply one twice.
void migrate(SqliteConnection& db) {
    execute(db, kCreateSchemaVersion);
    const int latest = embedded::kMigrations.back().version;
    for (const auto& migration : embedded::kMigrations) {
        execute(db, kBeginImmediate);
        try {
            std::int64_t current = 0;
            {
                Query version(db, kSchemaVersion);
                if (version.step()) current = version.integer(0);
            }
            if (current > latest) {
                throw StoreError("sqlite: database schema version " + std::to_string(current) +
                                 " is newer than this build's " + std::to_string(latest));
            }
            if (current < migration.version) {
                db.execute_script(migration.sql);
                Query(db, kRecordMigration)
                    .bind(1, std::int64_t{migration.version})
                    .bind(2, migration.name)
                    .bind(3, model::now_ms())
                    .run();
            }
            execute(db, kCommit);
        } catch (const StoreError& error) {
            db.rollback_quietly();
            throw StoreError("migration " + std::string(migration.name) + ": " + error.what());
        }
    }
}

}  // namespace

namespace detail {

// Newest id of each room the writer has written to or looked up, kept from one group commit
// to the next so that a commit does not re-read the newest id of every room it writes to. Valid
// only while no other connection changed the file: SQLite's data version (which counts every
// commit to the file, this connection's included, and every change it sees from outside) must
// be the one recorded after the writer's last commit. A rollback forgets everything.
class RoomChains {
  public:
    using LastIdOfRoom =
        std::unordered_map<std::string, model::MessageId, TransparentHash, std::equal_to<>>;

    // Call inside the transaction, after BEGIN IMMEDIATE (which read the newest snapshot).
    LastIdOfRoom& begin(SqliteConnection& db) {
        if (data_version(db) != committed_version_) last_ids_.clear();
        return last_ids_;
    }
    void committed(SqliteConnection& db) { committed_version_ = data_version(db); }
    void rolled_back() {
        last_ids_.clear();
        committed_version_.reset();
    }

  private:
    static unsigned data_version(SqliteConnection& db) {
        unsigned version = 0;
        if (sqlite3_file_control(db.handle(), "main", SQLITE_FCNTL_DATA_VERSION, &version) !=
            SQLITE_OK) {
            db.fail("data version");
        }
        return version;
    }

    LastIdOfRoom last_ids_;
    std::optional<unsigned> committed_version_;
};

}  // namespace detail

namespace {

using LastIdOfRoom = detail::RoomChains::LastIdOfRoom;
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
    return message_from_row(existing);
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
AppendResult insert_message(SqliteConnection& db,
                            const NewMessage& message,
                            LastIdOfRoom& last_ids) {
    AppendResult result;
    // Read before the insert: afterwards the room's newest id is the new message's own.
    model::MessageId& room_last_id = last_id_of_room(db, last_ids, message.room);
    if (room_last_id == kNoSuchRoom) {
        result.error = "no such room: " + message.room;
        return result;
    }
    {
        Query insert(db, kInsertMessage);
        insert.bind_borrowed(1, message.room)
            .bind_borrowed(2, message.user_name)
            .bind_borrowed(3, message.content)
            .bind_borrowed(4, message.sent_at)
            .bind(5, message.ts_ms)
            .bind_borrowed(6, message.client_msg_id)
            .bind(7, detail::kind_to_db(message.kind))
            .bind_borrowed(8, message.origin_node)
            .bind(9, std::int64_t{message.origin_node.empty() ? 1 : 0});
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
        result.ok = true;
        result.duplicate = true;
        result.message = std::move(*existing);
        return result;
    }
    result.ok = true;
    result.message =
        stored_without_text(sqlite3_last_insert_rowid(db.handle()), message, room_last_id);
    room_last_id = result.message.id;
    return result;
}

// Stores the messages at `rows` (indexes into `messages`, rooms known to exist) with one
// multi-row INSERT inside the open transaction, setting their results. Throws StoreError when
// the statement failed: without a statement journal SQLite cannot undo it alone, so the whole
// transaction is retried one message at a time.
void insert_rows(SqliteConnection& db,
                 sqlite3_stmt* statement,
                 const std::vector<const NewMessage*>& messages,
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
                .bind(base + 7, detail::kind_to_db(message.kind))
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
            result.ok = true;
            result.duplicate = true;
            result.message = std::move(*existing);
            continue;
        }
        model::MessageId& room_last_id = last_ids.find(message.room)->second;
        result.ok = true;
        result.message = stored_without_text(ids[row], message, room_last_id);
        room_last_id = ids[row];
    }
}

// A transaction could not even start (lock timeout, I/O error): no message is to blame.
class BeginFailed : public StoreError {
  public:
    using StoreError::StoreError;
};

// Stores `messages` in one transaction. Throws StoreError (BeginFailed when it could not start)
// when the transaction failed as a whole; nothing of it is stored then.
std::vector<AppendResult> insert_in_one_transaction(
    SqliteConnection& db,
    detail::RoomChains& chains,
    const std::vector<const NewMessage*>& messages) {
    try {
        execute(db, kBeginImmediate);
    } catch (const StoreError& error) {
        throw BeginFailed(error.what());
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
        // Every room's newest id (and whether it exists) before the first insert: afterwards
        // it would be one of the new rows.
        std::vector<std::size_t> rows;
        rows.reserve(messages.size());
        for (std::size_t i = 0; i < messages.size(); ++i) {
            if (last_id_of_room(db, last_ids, messages[i]->room) == kNoSuchRoom) {
                results[i].error = "no such room: " + messages[i]->room;
            } else {
                rows.push_back(i);
            }
        }
        const auto& multi_row_sql = multi_row_inserts();
        std::vector<sqlite3_stmt*> multi_row_statements(multi_row_sql.size(), nullptr);
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
            if (statement == nullptr) statement = db.prepared(multi_row_sql[size_index].c_str());
            insert_rows(db, statement, messages, rows.data() + first, count, last_ids, results);
            first += count;
        }
        execute(db, kCommit);
        chains.committed(db);
        return results;
    } catch (...) {
        db.rollback_quietly();
        chains.rolled_back();
        throw;
    }
}

AppendResult failed(std::string error) {
    AppendResult result;
    result.error = std::move(error);
    return result;
}

// SQLite's memory statistics take a process-wide mutex on every allocation, a dozen per append;
// chatd never reads them. Only effective before SQLite initialises, i.e. before the first
// connection of the process opens; later it is a harmless SQLITE_MISUSE.
void disable_sqlite_memory_statistics() {
    static std::once_flag once;
    std::call_once(once, [] { sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
}

}  // namespace

SqliteStore::SqliteStore(SqliteOptions options, metrics::Metrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {
    disable_sqlite_memory_statistics();
    options_.max_batch = std::max<std::size_t>(options_.max_batch, 1);
    options_.read_connections = std::max<std::size_t>(options_.read_connections, 1);
    if (options_.path.empty() || options_.path == ":memory:") {
        throw StoreError("sqlite: the database must be a file path, got '" + options_.path + "'");
    }
    const auto parent = std::filesystem::path(options_.path).parent_path();
    if (!parent.empty()) {
        std::error_code error;
        std::filesystem::create_directories(parent, error);
        if (error) {
            throw StoreError("sqlite: cannot create " + parent.string() + ": " + error.message());
        }
    }

    writer_ = std::make_unique<Connection>(
        options_.path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, options_.busy_timeout_ms);
    {
        Query mode(*writer_, kJournalModeWal);
        if (!mode.step() || mode.text(0) != "wal") {
            throw StoreError("sqlite: cannot switch " + options_.path + " to WAL mode");
        }
    }
    execute(*writer_, options_.synchronous_full ? kSynchronousFull : kSynchronousNormal);
    execute(*writer_, kForeignKeysOn);
    execute(*writer_, kWriterCacheSize);
    migrate(*writer_);
    execute(*writer_, kForeignKeysOff);
    room_chains_ = std::make_unique<detail::RoomChains>();
    checkpointer_ = std::make_unique<detail::WalCheckpointer>(
        options_.path, options_.synchronous_full, options_.busy_timeout_ms);
    checkpointer_->attach(writer_->handle());

    // Opened after the writer made the file a WAL database, which read-only connections need.
    for (std::size_t i = 0; i < options_.read_connections; ++i) {
        readers_.push_back(std::make_unique<Connection>(options_.path, SQLITE_OPEN_READONLY,
                                                        options_.busy_timeout_ms));
        free_readers_.push_back(readers_.back().get());
    }

    writer_thread_ = std::thread([this] { run_writer(); });
}

SqliteStore::~SqliteStore() {
    {
        std::lock_guard lock(queue_mutex_);
        stopping_ = true;
    }
    queue_ready_.notify_one();
    if (writer_thread_.joinable()) writer_thread_.join();
    // Readers and the checkpointer first: the last connection to close checkpoints the WAL into
    // the database file. The writer commits nothing more, so its WAL hook no longer runs.
    readers_.clear();
    checkpointer_.reset();
    writer_.reset();
}

void SqliteStore::append(NewMessage message, std::function<void(AppendResult)> done) {
    {
        std::lock_guard lock(queue_mutex_);
        queue_.emplace_back(PendingAppend{std::move(message), std::move(done), ++appends_queued_});
    }
    queue_ready_.notify_one();
}

void SqliteStore::flush() {
    reject_writer_thread("flush");
    std::unique_lock lock(queue_mutex_);
    const auto target = appends_queued_;
    appends_done_.wait(lock, [&] { return appends_completed_ >= target; });
}

void SqliteStore::run_writer() {
    // Named so that profilers and /proc/PID/task/*/comm can tell the writer from I/O threads.
    pthread_setname_np(pthread_self(), "chatd-store");
    std::vector<PendingAppend> batch;
    for (;;) {
        WriteJob job;
        {
            std::unique_lock lock(queue_mutex_);
            queue_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, and everything queued has been done
            if (auto* front = std::get_if<WriteJob>(&queue_.front())) {
                job = std::move(*front);
                queue_.pop_front();
            } else {
                // Only a run of appends: a write job queued in between keeps its place.
                while (!queue_.empty() && batch.size() < options_.max_batch) {
                    auto* pending = std::get_if<PendingAppend>(&queue_.front());
                    if (pending == nullptr) break;
                    batch.push_back(std::move(*pending));
                    queue_.pop_front();
                }
            }
        }
        if (job) {
            job(*writer_);  // reports its own outcome, exceptions included, through a promise
            continue;
        }
        commit_batch(batch);
        const auto last = batch.back().sequence;
        batch.clear();
        {
            std::lock_guard lock(queue_mutex_);
            appends_completed_ = last;
        }
        appends_done_.notify_all();
    }
}

void SqliteStore::commit_batch(std::vector<PendingAppend>& batch) {
    const auto started = std::chrono::steady_clock::now();
    std::vector<const NewMessage*> messages;
    messages.reserve(batch.size());
    for (const auto& pending : batch) messages.push_back(&pending.message);

    std::vector<AppendResult> results;
    try {
        results = insert_in_one_transaction(*writer_, *room_chains_, messages);
    } catch (const BeginFailed& error) {
        results.assign(messages.size(), failed(error.what()));
    } catch (const std::exception& batch_error) {
        // Nothing of the batch is stored. Retry one message per transaction so that a message
        // which broke the transaction fails alone.
        results.clear();
        std::optional<std::string> give_up;
        for (const auto* message : messages) {
            if (messages.size() == 1 || give_up) {
                results.push_back(failed(give_up ? *give_up : batch_error.what()));
                continue;
            }
            try {
                results.push_back(
                    insert_in_one_transaction(*writer_, *room_chains_, {message}).front());
            } catch (const BeginFailed& error) {
                give_up = error.what();
                results.push_back(failed(*give_up));
            } catch (const std::exception& error) {
                results.push_back(failed(error.what()));
            }
        }
    }

    for (std::size_t i = 0; i < batch.size(); ++i) {
        // A duplicate's message is the stored first copy, complete already.
        if (results[i].ok && !results[i].duplicate) take_text(results[i].message, batch[i].message);
    }

    if (metrics_ != nullptr) {
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
        metrics_->store_commit_seconds.Observe(elapsed.count());
        metrics_->store_batch_size.Observe(static_cast<double>(batch.size()));
        const auto stored = std::count_if(results.begin(), results.end(), [](const auto& result) {
            return result.ok && !result.duplicate;
        });
        const auto errors = std::count_if(results.begin(), results.end(),
                                          [](const auto& result) { return !result.ok; });
        if (stored > 0) metrics_->messages_stored.Increment(static_cast<double>(stored));
        if (errors > 0) metrics_->store_errors.Increment(static_cast<double>(errors));
    }

    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (!batch[i].done) continue;
        try {
            batch[i].done(std::move(results[i]));
        } catch (...) {
            // A throwing callback must not cost the other callbacks or the writer thread.
        }
    }
}

template <typename Work>
auto SqliteStore::write(Work work) {
    reject_writer_thread("a blocking write");
    using Result = std::invoke_result_t<Work&, Connection&>;
    auto promise = std::make_shared<std::promise<Result>>();
    auto future = promise->get_future();
    {
        std::lock_guard lock(queue_mutex_);
        queue_.emplace_back(WriteJob([promise, work = std::move(work)](Connection& db) mutable {
            try {
                if constexpr (std::is_void_v<Result>) {
                    work(db);
                    promise->set_value();
                } else {
                    promise->set_value(work(db));
                }
            } catch (...) {
                promise->set_exception(std::current_exception());
            }
        }));
    }
    queue_ready_.notify_one();
    try {
        return future.get();
    } catch (const StoreError&) {
        count_error();
        throw;
    }
}

template <typename Work>
auto SqliteStore::read(Work work) {
    Connection* db = nullptr;
    {
        std::unique_lock lock(readers_mutex_);
        reader_free_.wait(lock, [this] { return !free_readers_.empty(); });
        db = free_readers_.back();
        free_readers_.pop_back();
    }
    struct Release {
        SqliteStore& owner;
        Connection* db;
        ~Release() {
            {
                std::lock_guard lock(owner.readers_mutex_);
                owner.free_readers_.push_back(db);
            }
            owner.reader_free_.notify_one();
        }
    } release{*this, db};
    try {
        return work(*db);
    } catch (const StoreError&) {
        count_error();
        throw;
    }
}

void SqliteStore::reject_writer_thread(const char* what) const {
    if (std::this_thread::get_id() == writer_thread_.get_id()) {
        throw std::logic_error(std::string("SqliteStore: ") + what +
                               " from an append callback would wait for itself");
    }
}

void SqliteStore::count_error() {
    if (metrics_ != nullptr) metrics_->store_errors.Increment();
}

std::vector<model::Message> SqliteStore::history(const HistoryQuery& query) {
    if (query.before && query.after) {
        throw std::invalid_argument("history: before and after are mutually exclusive");
    }
    const std::int64_t limit = std::clamp(query.limit, 1, kMaxHistoryLimit);
    return read([&](Connection& db) {
        std::vector<model::Message> messages;
        if (query.after) {
            Query rows(db, kHistoryAfter);
            rows.bind(1, query.room).bind(2, *query.after).bind(3, limit);
            while (rows.step()) messages.push_back(message_from_row(rows));
            return messages;
        }
        Query rows(db, query.before ? kHistoryBefore : kHistoryNewest);
        rows.bind(1, query.room);
        if (query.before) {
            rows.bind(2, *query.before).bind(3, limit);
        } else {
            rows.bind(2, limit);
        }
        while (rows.step()) messages.push_back(message_from_row(rows));
        std::reverse(messages.begin(), messages.end());  // fetched newest first
        return messages;
    });
}

std::vector<model::Message> SqliteStore::unpublished(std::string_view origin_node,
                                                     std::size_t limit) {
    return read([origin_node, limit](Connection& db) {
        std::vector<model::Message> messages;
        Query rows(db, kUnpublished);
        rows.bind(1, origin_node).bind(2, static_cast<std::int64_t>(limit));
        while (rows.step()) messages.push_back(message_from_row(rows));
        return messages;
    });
}

void SqliteStore::mark_published(const std::vector<model::MessageId>& ids) {
    if (ids.empty()) return;
    write([&ids](Connection& db) {
        execute(db, kBeginImmediate);
        try {
            for (const auto id : ids) Query(db, kMarkPublished).bind(1, id).run();
            execute(db, kCommit);
        } catch (...) {
            db.rollback_quietly();
            throw;
        }
    });
}

bool SqliteStore::create_user(const User& user) {
    return write([&user](Connection& db) {
        execute(db, kBeginImmediate);
        try {
            Query(db, kInsertUser)
                .bind(1, user.name)
                .bind(2, user.password_hash)
                .bind(3, user.created_ms)
                .bind(4, user.name_key)
                .run();
            bool created = sqlite3_changes(db.handle()) == 1;
            if (created && !user.name_key.empty()) {
                Query(db, kClaimNameKey).bind(1, user.name_key).bind(2, user.name).run();
                created = sqlite3_changes(db.handle()) == 1;
            }
            execute(db, created ? kCommit : kRollback);
            return created;
        } catch (...) {
            db.rollback_quietly();
            throw;
        }
    });
}

std::optional<User> SqliteStore::find_user(std::string_view name) {
    return read([name](Connection& db) -> std::optional<User> {
        Query row(db, kFindUser);
        row.bind(1, name);
        if (!row.step()) return std::nullopt;
        return User{row.text(0), row.text(1), row.integer(2), row.text(3)};
    });
}

std::vector<std::string> SqliteStore::users_without_name_key(std::size_t limit) {
    const auto bounded = static_cast<std::int64_t>(
        std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
    return read([bounded](Connection& db) {
        std::vector<std::string> names;
        Query rows(db, kUsersWithoutNameKey);
        rows.bind(1, bounded);
        while (rows.step()) names.push_back(rows.text(0));
        return names;
    });
}

bool SqliteStore::set_name_key(std::string_view user_name, std::string_view name_key) {
    return write([user_name, name_key](Connection& db) {
        execute(db, kBeginImmediate);
        try {
            Query(db, kSetNameKey).bind(1, user_name).bind(2, name_key).run();
            Query(db, kClaimNameKey).bind(1, name_key).bind(2, user_name).run();
            Query holder(db, kNameKeyHolder);
            holder.bind(1, name_key);
            const bool holds = holder.step() && holder.text(0) == user_name;
            execute(db, kCommit);
            return holds;
        } catch (...) {
            db.rollback_quietly();
            throw;
        }
    });
}

std::vector<LoginFailures> SqliteStore::login_failures(const std::vector<std::string>& keys) {
    return read([&keys](Connection& db) {
        std::vector<LoginFailures> counts;
        counts.reserve(keys.size());
        for (const auto& key : keys) {
            Query row(db, kFindLoginFailures);
            row.bind(1, key);
            counts.push_back(row.step() ? LoginFailures{row.integer(0), row.integer(1)}
                                        : LoginFailures{});
        }
        return counts;
    });
}

std::vector<LoginFailures> SqliteStore::add_login_failure(const std::vector<std::string>& keys,
                                                          std::int64_t now_ms,
                                                          std::int64_t forget_before_ms) {
    return write([&keys, now_ms, forget_before_ms](Connection& db) {
        execute(db, kBeginImmediate);
        try {
            std::vector<LoginFailures> counts;
            counts.reserve(keys.size());
            for (const auto& key : keys) {
                Query row(db, kAddLoginFailure);
                row.bind(1, key).bind(2, now_ms).bind(3, forget_before_ms);
                if (!row.step()) throw StoreError("sqlite: login_failures upsert returned no row");
                counts.push_back(LoginFailures{row.integer(0), row.integer(1)});
            }
            execute(db, kCommit);
            return counts;
        } catch (...) {
            db.rollback_quietly();
            throw;
        }
    });
}

void SqliteStore::clear_login_failures(const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    write([&keys](Connection& db) {
        execute(db, kBeginImmediate);
        try {
            for (const auto& key : keys) Query(db, kClearLoginFailures).bind(1, key).run();
            execute(db, kCommit);
        } catch (...) {
            db.rollback_quietly();
            throw;
        }
    });
}

std::size_t SqliteStore::purge_login_failures(std::int64_t before_ms) {
    return write([before_ms](Connection& db) {
        Query(db, kPurgeLoginFailures).bind(1, before_ms).run();
        return static_cast<std::size_t>(sqlite3_changes(db.handle()));
    });
}

void SqliteStore::create_session(const Session& session) {
    write([&session](Connection& db) {
        Query(db, kInsertSession)
            .bind(1, session.token_hash)
            .bind(2, session.user_name)
            .bind(3, session.expires_ms)
            .run();
    });
}

std::optional<Session> SqliteStore::find_session(std::string_view token_hash, std::int64_t now_ms) {
    return read([token_hash, now_ms](Connection& db) -> std::optional<Session> {
        Query row(db, kFindSession);
        row.bind(1, token_hash).bind(2, now_ms);
        if (!row.step()) return std::nullopt;
        return Session{row.text(0), row.text(1), row.integer(2)};
    });
}

void SqliteStore::delete_session(std::string_view token_hash) {
    write([token_hash](Connection& db) { Query(db, kDeleteSession).bind(1, token_hash).run(); });
}

std::vector<std::string> SqliteStore::trim_sessions(std::string_view user_name, std::size_t keep) {
    const auto bounded = static_cast<std::int64_t>(
        std::min<std::size_t>(keep, std::numeric_limits<std::int64_t>::max()));
    return write([user_name, bounded](Connection& db) {
        std::vector<std::string> deleted;
        Query rows(db, kTrimSessions);
        rows.bind(1, user_name).bind(2, bounded);
        while (rows.step()) deleted.push_back(rows.text(0));
        return deleted;
    });
}

std::vector<std::string> SqliteStore::delete_user_sessions(std::string_view user_name) {
    return write([user_name](Connection& db) {
        std::vector<std::string> deleted;
        Query rows(db, kDeleteUserSessions);
        rows.bind(1, user_name);
        while (rows.step()) deleted.push_back(rows.text(0));
        return deleted;
    });
}

std::size_t SqliteStore::purge_expired_sessions(std::int64_t now_ms) {
    return write([now_ms](Connection& db) {
        Query(db, kPurgeExpiredSessions).bind(1, now_ms).run();
        return static_cast<std::size_t>(sqlite3_changes(db.handle()));
    });
}

bool SqliteStore::create_room(const Room& room) {
    return write([&room](Connection& db) {
        Query(db, kInsertRoom)
            .bind(1, room.name)
            .bind(2, std::int64_t{room.direct ? 1 : 0})
            .bind(3, room.created_by)
            .bind(4, room.created_ms)
            .run();
        return sqlite3_changes(db.handle()) == 1;
    });
}

std::optional<Room> SqliteStore::find_room(std::string_view name) {
    return read([name](Connection& db) -> std::optional<Room> {
        Query row(db, kFindRoom);
        row.bind(1, name);
        if (!row.step()) return std::nullopt;
        return room_from_row(row);
    });
}

std::vector<Room> SqliteStore::list_public_rooms() {
    return read([](Connection& db) {
        std::vector<Room> rooms;
        Query rows(db, kListPublicRooms);
        while (rows.step()) rooms.push_back(room_from_row(rows));
        return rooms;
    });
}

void SqliteStore::add_member(std::string_view room, std::string_view user_name) {
    write([room, user_name](Connection& db) {
        {
            Query exists(db, kRoomExists);  // the writer checks no foreign key (kForeignKeysOff)
            exists.bind(1, room);
            if (!exists.step()) throw StoreError("sqlite: no such room: " + std::string(room));
        }
        Query(db, kInsertMember).bind(1, room).bind(2, user_name).run();
    });
}

void SqliteStore::remove_member(std::string_view room, std::string_view user_name) {
    write([room, user_name](Connection& db) {
        Query(db, kDeleteMember).bind(1, room).bind(2, user_name).run();
    });
}

bool SqliteStore::is_member(std::string_view room, std::string_view user_name) {
    return read([room, user_name](Connection& db) {
        Query row(db, kIsMember);
        row.bind(1, room).bind(2, user_name);
        return row.step();
    });
}

std::vector<std::string> SqliteStore::rooms_of(std::string_view user_name) {
    return read([user_name](Connection& db) {
        std::vector<std::string> rooms;
        Query rows(db, kRoomsOf);
        rows.bind(1, user_name);
        while (rows.step()) rooms.push_back(rows.text(0));
        return rooms;
    });
}

std::vector<std::string> SqliteStore::members_of(std::string_view room) {
    return read([room](Connection& db) {
        std::vector<std::string> members;
        Query rows(db, kMembersOf);
        rows.bind(1, room);
        while (rows.step()) members.push_back(rows.text(0));
        return members;
    });
}

}  // namespace chatd::store
