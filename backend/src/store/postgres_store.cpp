#include "store/postgres_store.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <exception>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "metrics/metrics.hpp"
#include "model/clock.hpp"
#include "store/embedded_migrations.hpp"
#include "store/schema_codes.hpp"

namespace chatd::store {
namespace {

// Every statement chatd runs. Values are always bound parameters ($n), never spliced into the
// text. Statements with parameters are prepared once per connection.

// Bookkeeping of the migration runner itself, so it lives here rather than in a migration.
constexpr const char* kCreateSchemaVersion =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)";
constexpr const char* kSchemaVersion = "SELECT COALESCE(MAX(version), 0) FROM schema_version";
constexpr const char* kRecordMigration =
    "INSERT INTO schema_version (version, name, applied_ms) VALUES ($1, $2, $3)";

// Advisory locks. The two-int4 key space never overlaps the bigint one (PostgreSQL docs,
// "Advisory Lock Functions"), so the migration lock cannot collide with a room lock.
constexpr const char* kLockMigrations = "SELECT pg_advisory_lock($1::integer, $2::integer)";
constexpr const char* kUnlockMigrations = "SELECT pg_advisory_unlock($1::integer, $2::integer)";
constexpr std::int32_t kLockClass = 0x63686174;  // "chat"
constexpr std::int32_t kMigrationLock = 1;
// Held until the transaction ends; see commit_batch.
constexpr const char* kLockRoom = "SELECT pg_advisory_xact_lock($1::bigint)";

// Every chatd session: a node that stalls inside a transaction (stopped process, lost network)
// is disconnected by the server after this long, which releases its room locks, so it cannot
// block the other nodes' appends for longer. chatd itself never idles inside a transaction.
constexpr const char* kSessionIdleTimeout = "SET idle_in_transaction_session_timeout = '30s'";

constexpr const char* kBegin = "BEGIN";
constexpr const char* kCommit = "COMMIT";
constexpr const char* kRollback = "ROLLBACK";

// ON CONFLICT names the partial unique index messages_client_msg_id (its columns and
// predicate). An empty client_msg_id is outside that index, so such a row always inserts.
constexpr const char* kInsertMessage =
    "INSERT INTO messages"
    " (room, user_name, content, sent_at, ts_ms, client_msg_id, kind, origin_node, published)"
    " VALUES ($1, $2, $3, $4, $5::bigint, $6, $7::smallint, $8, $9::boolean)"
    " ON CONFLICT (user_name, client_msg_id) WHERE client_msg_id <> '' DO NOTHING"
    " RETURNING id";
// The room's newest id, read once per room per transaction under the room's lock.
constexpr const char* kLastIdOfRoom =
    "SELECT COALESCE((SELECT id FROM messages WHERE room = $1 ORDER BY id DESC LIMIT 1), 0)";
// `client_msg_id <> ''` repeats the partial index's condition so the planner may use it.
constexpr const char* kFindMessageByClientMsgId =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE user_name = $1 AND client_msg_id = $2 AND client_msg_id <> ''";
constexpr const char* kUnpublished =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE origin_node = $1 AND NOT published ORDER BY id ASC LIMIT $2::bigint";
constexpr const char* kMarkPublished =
    "UPDATE messages SET published = TRUE WHERE id = ANY ($1::bigint[]) AND NOT published";
constexpr const char* kHistoryNewest =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE room = $1 ORDER BY id DESC LIMIT $2::bigint";
constexpr const char* kHistoryBefore =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE room = $1 AND id < $2::bigint ORDER BY id DESC LIMIT $3::bigint";
constexpr const char* kHistoryAfter =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE room = $1 AND id > $2::bigint ORDER BY id ASC LIMIT $3::bigint";

constexpr const char* kInsertUser =
    "INSERT INTO users (name, password_hash, created_ms, name_key)"
    " VALUES ($1, $2, $3::bigint, $4) ON CONFLICT (name) DO NOTHING";
constexpr const char* kFindUser =
    "SELECT name, password_hash, created_ms, name_key FROM users WHERE name = $1";
constexpr const char* kClaimNameKey =
    "INSERT INTO user_name_keys (name_key, user_name) VALUES ($1, $2)"
    " ON CONFLICT (name_key) DO NOTHING";
constexpr const char* kNameKeyHolder = "SELECT user_name FROM user_name_keys WHERE name_key = $1";
constexpr const char* kUsersWithoutNameKey =
    "SELECT name FROM users WHERE name_key = '' ORDER BY name LIMIT $1::bigint";
constexpr const char* kSetNameKey = "UPDATE users SET name_key = $2 WHERE name = $1";

constexpr const char* kFindLoginFailures =
    "SELECT failures, last_failure_ms FROM login_failures WHERE key = $1";
constexpr const char* kAddLoginFailure =
    "INSERT INTO login_failures AS f (key, failures, last_failure_ms) VALUES ($1, 1, $2::bigint)"
    " ON CONFLICT (key) DO UPDATE SET"
    " failures = CASE WHEN f.last_failure_ms < $3::bigint THEN 1 ELSE f.failures + 1 END,"
    " last_failure_ms = $2::bigint"
    " RETURNING failures, last_failure_ms";
constexpr const char* kClearLoginFailures = "DELETE FROM login_failures WHERE key = $1";
constexpr const char* kPurgeLoginFailures =
    "DELETE FROM login_failures WHERE last_failure_ms < $1::bigint";

constexpr const char* kInsertSession =
    "INSERT INTO sessions (token_hash, user_name, expires_ms) VALUES ($1, $2, $3::bigint)";
constexpr const char* kFindSession =
    "SELECT token_hash, user_name, expires_ms FROM sessions"
    " WHERE token_hash = $1 AND expires_ms > $2::bigint";
constexpr const char* kDeleteSession = "DELETE FROM sessions WHERE token_hash = $1";
// All but the `keep` ($2) sessions of the user expiring last; ties broken by token hash.
constexpr const char* kTrimSessions =
    "DELETE FROM sessions WHERE user_name = $1 AND token_hash NOT IN"
    " (SELECT token_hash FROM sessions WHERE user_name = $1"
    " ORDER BY expires_ms DESC, token_hash DESC LIMIT $2::bigint)"
    " RETURNING token_hash";
constexpr const char* kDeleteUserSessions =
    "DELETE FROM sessions WHERE user_name = $1 RETURNING token_hash";
constexpr const char* kPurgeExpiredSessions = "DELETE FROM sessions WHERE expires_ms <= $1::bigint";

constexpr const char* kInsertRoom =
    "INSERT INTO rooms (name, direct, created_by, created_ms)"
    " VALUES ($1, $2::boolean, $3, $4::bigint) ON CONFLICT (name) DO NOTHING";
constexpr const char* kFindRoom =
    "SELECT name, direct, created_by, created_ms FROM rooms WHERE name = $1";
constexpr const char* kListPublicRooms =
    "SELECT name, direct, created_by, created_ms FROM rooms WHERE NOT direct ORDER BY name";

constexpr const char* kInsertMember =
    "INSERT INTO members (room, user_name) VALUES ($1, $2)"
    " ON CONFLICT (room, user_name) DO NOTHING";
constexpr const char* kDeleteMember = "DELETE FROM members WHERE room = $1 AND user_name = $2";
constexpr const char* kIsMember = "SELECT 1 FROM members WHERE room = $1 AND user_name = $2";
constexpr const char* kRoomsOf = "SELECT room FROM members WHERE user_name = $1 ORDER BY room";
constexpr const char* kMembersOf =
    "SELECT user_name FROM members WHERE room = $1 ORDER BY user_name";

// SQLSTATEs chatd reacts to.
constexpr std::string_view kForeignKeyViolation = "23503";

constexpr int kMaxHistoryLimit = 1000;

// The writer's reconnect backoff while the server is unreachable: appends fail at once
// meanwhile, and at most one connection attempt is made per interval.
constexpr std::chrono::milliseconds kMinReconnectBackoff{100};
constexpr std::chrono::milliseconds kMaxReconnectBackoff{5000};

static_assert(detail::versions_strictly_increase(embedded::kPostgresMigrations),
              "migration versions must strictly increase");

// libpq messages end with a newline (sometimes several lines); keep them on one log line.
std::string one_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text;
}

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

// A failed statement or connection: StoreError plus the SQLSTATE (empty when libpq itself
// failed) and whether the connection is gone.
class PgError : public StoreError {
  public:
    PgError(const std::string& message, std::string sqlstate, bool connection_lost)
        : StoreError(message), sqlstate_(std::move(sqlstate)), connection_lost_(connection_lost) {}

    const std::string& sqlstate() const { return sqlstate_; }
    bool connection_lost() const { return connection_lost_; }

  private:
    std::string sqlstate_;
    bool connection_lost_;
};

struct ResultDeleter {
    void operator()(PGresult* result) const noexcept { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

// The rows of one statement, every value in text format.
class Rows {
  public:
    explicit Rows(ResultPtr result) : result_(std::move(result)) {}

    int size() const { return PQntuples(result_.get()); }
    bool empty() const { return size() == 0; }

    std::string text(int row, int column) const {
        return {PQgetvalue(result_.get(), row, column),
                static_cast<std::size_t>(PQgetlength(result_.get(), row, column))};
    }
    std::int64_t integer(int row, int column) const {
        return parse(PQgetvalue(result_.get(), row, column));
    }
    bool boolean(int row, int column) const {
        return PQgetvalue(result_.get(), row, column)[0] == 't';
    }
    // Rows an INSERT, UPDATE or DELETE touched.
    std::int64_t affected() const {
        const char* count = PQcmdTuples(result_.get());
        return count[0] == '\0' ? 0 : parse(count);
    }

  private:
    static std::int64_t parse(std::string_view digits) {
        std::int64_t value = 0;
        const auto [end, error] =
            std::from_chars(digits.data(), digits.data() + digits.size(), value);
        if (error != std::errc{} || end != digits.data() + digits.size()) {
            throw StoreError("postgres: not an integer: " + std::string(digits));
        }
        return value;
    }

    ResultPtr result_;
};

using Params = std::vector<std::string>;

std::string param(std::int64_t value) {
    return std::to_string(value);
}
std::string param(bool value) {
    return value ? "t" : "f";
}

}  // namespace

namespace detail {

// One libpq connection with its prepared-statement cache. Not thread-safe: the store
// guarantees that one thread at a time uses it.
class PgConnection {
  public:
    // `role` becomes application_name unless the conninfo sets one (pg_stat_activity shows
    // which connection is the writer). Throws StoreError.
    PgConnection(std::string conninfo, const char* role)
        : conninfo_(std::move(conninfo)), role_(role) {
        connect();
    }
    ~PgConnection() { close(); }

    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;

    // Drops the connection and opens a new one (prepared statements are prepared again on
    // use). Throws StoreError; the object then stays disconnected until the next call.
    void reconnect() {
        close();
        connect();
    }

    // False when the connection is known to be gone. A server that ended the session while it
    // sat idle (restart, pg_terminate_backend, idle timeout) has sent an error and closed the
    // socket; reading that here, without blocking, spares the next statement from failing.
    bool alive() noexcept {
        if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) return false;
        for (int round = 0; round < 4; ++round) {
            pollfd pending{PQsocket(conn_), POLLIN, 0};
            if (poll(&pending, 1, 0) <= 0) break;          // nothing arrived while idle
            if (PQconsumeInput(conn_) == 0) return false;  // end of stream: status is BAD now
            (void)PQisBusy(conn_);  // parses it; an idle-time error goes to the notice processor
            while (PGnotify* notify = PQnotifies(conn_)) PQfreemem(notify);
        }
        return PQstatus(conn_) == CONNECTION_OK;
    }

    // Runs `sql` as a cached prepared statement with text parameters. Throws PgError.
    Rows exec(const char* sql, const Params& params) {
        require_connection();
        for (const auto& value : params) {
            // Text parameters are NUL-terminated: a NUL inside would silently cut the value.
            if (value.find('\0') != std::string::npos) {
                throw PgError("postgres: text must not contain NUL bytes", "22021", false);
            }
        }
        const auto& name = prepared(sql, static_cast<int>(params.size()));
        std::vector<const char*> values;
        values.reserve(params.size());
        for (const auto& value : params) values.push_back(value.c_str());
        ResultPtr result(PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()),
                                        values.data(), nullptr, nullptr, 0));
        check(result.get());
        return Rows(std::move(result));
    }

    // Runs statements without parameters through the simple protocol: transaction control,
    // session settings and migration scripts (which may hold several statements).
    void run(std::string_view sql) {
        require_connection();
        const std::string text(sql);
        ResultPtr result(PQexec(conn_, text.c_str()));
        check(result.get());
    }

    void commit() {
        require_connection();
        ResultPtr result(PQexec(conn_, kCommit));
        check(result.get());
        // COMMIT of a transaction that already failed succeeds as a ROLLBACK.
        if (std::string_view(PQcmdStatus(result.get())) != "COMMIT") {
            throw PgError("postgres: the transaction was rolled back", "", false);
        }
    }

    // Ends a transaction that is still open after a failure; never throws.
    void rollback_quietly() noexcept {
        if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) return;
        const auto status = PQtransactionStatus(conn_);
        if (status == PQTRANS_INTRANS || status == PQTRANS_INERROR) {
            PQclear(PQexec(conn_, kRollback));
        }
    }

  private:
    void connect() {
        // Defaults first: with expand_dbname, settings in the conninfo override them, and
        // fallback_application_name applies only when the conninfo names none.
        const char* const keywords[] = {"connect_timeout",           "keepalives",
                                        "keepalives_idle",           "keepalives_interval",
                                        "keepalives_count",          "tcp_user_timeout",
                                        "client_encoding",           "dbname",
                                        "fallback_application_name", nullptr};
        const char* const values[] = {
            "5", "1", "30", "10", "3", "30000", "UTF8", conninfo_.c_str(), role_, nullptr};
        conn_ = PQconnectdbParams(keywords, values, 1);
        if (conn_ == nullptr) throw StoreError("postgres: out of memory");
        if (PQstatus(conn_) != CONNECTION_OK) {
            const std::string message = one_line(PQerrorMessage(conn_));
            close();
            throw PgError("postgres: cannot connect: " + message, "", true);
        }
        // Without this, libpq prints notices ("relation ... already exists, skipping") and a
        // dying server's last words to stderr.
        PQsetNoticeProcessor(
            conn_, [](void*, const char*) {}, nullptr);
        try {
            run(kSessionIdleTimeout);
        } catch (...) {
            close();
            throw;
        }
    }

    void close() noexcept {
        if (conn_ != nullptr) PQfinish(conn_);
        conn_ = nullptr;
        prepared_.clear();
    }

    void require_connection() const {
        if (conn_ == nullptr) throw PgError("postgres: not connected", "", true);
    }

    // The name of `sql`'s prepared statement on this connection, prepared on first use.
    // Keyed by the constant's address: every statement is one of the constants above.
    const std::string& prepared(const char* sql, int parameters) {
        if (auto it = prepared_.find(sql); it != prepared_.end()) return it->second;
        std::string name = "chatd_" + std::to_string(prepared_.size() + 1);
        ResultPtr result(PQprepare(conn_, name.c_str(), sql, parameters, nullptr));
        check(result.get());
        return prepared_.emplace(sql, std::move(name)).first->second;
    }

    void check(const PGresult* result) const {
        const auto status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
        if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
        std::string sqlstate;
        std::string message;
        if (result != nullptr) {
            if (const char* code = PQresultErrorField(result, PG_DIAG_SQLSTATE)) sqlstate = code;
            message = PQresultErrorMessage(result);
        }
        if (message.empty()) message = PQerrorMessage(conn_);
        if (message.empty()) message = PQresStatus(status);
        // Class 08 (connection exception) and 57P01-57P03 (server shutting down) come with
        // a closed or closing connection; libpq marks most of them CONNECTION_BAD itself.
        const bool lost = PQstatus(conn_) != CONNECTION_OK || sqlstate.starts_with("08") ||
                          sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
        throw PgError("postgres: " + one_line(std::move(message)), std::move(sqlstate), lost);
    }

    std::string conninfo_;
    const char* role_;
    PGconn* conn_ = nullptr;
    std::unordered_map<const char*, std::string> prepared_;
};

}  // namespace detail

namespace {

using detail::PgConnection;

model::Message message_from_row(const Rows& rows, int row) {
    model::Message message;
    message.id = rows.integer(row, 0);
    message.room = rows.text(row, 1);
    message.user_name = rows.text(row, 2);
    message.content = rows.text(row, 3);
    message.sent_at = rows.text(row, 4);
    message.ts_ms = rows.integer(row, 5);
    message.client_msg_id = rows.text(row, 6);
    message.kind = detail::kind_from_db(rows.integer(row, 7));
    message.prev_id = rows.integer(row, 8);
    return message;
}

std::vector<model::Message> messages_from(const Rows& rows) {
    std::vector<model::Message> messages;
    messages.reserve(static_cast<std::size_t>(rows.size()));
    for (int row = 0; row < rows.size(); ++row) messages.push_back(message_from_row(rows, row));
    return messages;
}

Room room_from_row(const Rows& rows, int row) {
    return Room{rows.text(row, 0), rows.boolean(row, 1), rows.text(row, 2), rows.integer(row, 3)};
}

std::vector<std::string> first_column(const Rows& rows) {
    std::vector<std::string> values;
    values.reserve(static_cast<std::size_t>(rows.size()));
    for (int row = 0; row < rows.size(); ++row) values.push_back(rows.text(row, 0));
    return values;
}

// Applies every embedded migration newer than the database, each in its own transaction.
// The session-level advisory lock makes nodes that start together take turns: the second one
// finds the schema current (even CREATE TABLE IF NOT EXISTS is not safe run concurrently).
void migrate(PgConnection& db) {
    const Params lock_key{param(std::int64_t{kLockClass}), param(std::int64_t{kMigrationLock})};
    db.exec(kLockMigrations, lock_key);
    try {
        db.run(kCreateSchemaVersion);
        const int latest = embedded::kPostgresMigrations.back().version;
        for (const auto& migration : embedded::kPostgresMigrations) {
            db.run(kBegin);
            try {
                const std::int64_t current = db.exec(kSchemaVersion, {}).integer(0, 0);
                if (current > latest) {
                    throw StoreError("postgres: database schema version " +
                                     std::to_string(current) + " is newer than this build's " +
                                     std::to_string(latest));
                }
                if (current < migration.version) {
                    db.run(migration.sql);
                    db.exec(kRecordMigration,
                            {param(std::int64_t{migration.version}), std::string(migration.name),
                             param(model::now_ms())});
                }
                db.commit();
            } catch (const StoreError& error) {
                db.rollback_quietly();
                throw StoreError("migration " + std::string(migration.name) + ": " + error.what());
            }
        }
    } catch (...) {
        try {
            db.exec(kUnlockMigrations, lock_key);
        } catch (const StoreError&) {
            // The lock ends with the session anyway.
        }
        throw;
    }
    db.exec(kUnlockMigrations, lock_key);
}

// Takes the transaction-scoped advisory lock of every distinct room of the batch, in ascending
// key order. Every writer of every node locks in that one order, and takes its room locks
// before anything else in the transaction, so two nodes never wait for each other in a cycle.
void lock_rooms(PgConnection& db, const std::vector<const NewMessage*>& messages) {
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

// Stores one message inside the open transaction (whose room locks are held). Throws PgError:
// in PostgreSQL any failed statement aborts the whole transaction.
AppendResult insert_message(PgConnection& db, const NewMessage& message, LastIdOfRoom& last_ids) {
    model::MessageId& room_last_id = last_id_of_room(db, last_ids, message.room);
    AppendResult result;
    try {
        const auto inserted =
            db.exec(kInsertMessage, {message.room, message.user_name, message.content,
                                     message.sent_at, param(message.ts_ms), message.client_msg_id,
                                     param(detail::kind_to_db(message.kind)), message.origin_node,
                                     param(message.origin_node.empty())});
        if (!inserted.empty()) {
            result.ok = true;
            result.message =
                model::Message{inserted.integer(0, 0), message.room,    message.user_name,
                               message.content,        message.sent_at, message.ts_ms,
                               message.client_msg_id,  message.kind,    room_last_id};
            room_last_id = result.message.id;
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
    const auto existing =
        db.exec(kFindMessageByClientMsgId, {message.user_name, message.client_msg_id});
    if (existing.empty()) {
        throw PgError("postgres: client_msg_id conflict without a visible row", "", false);
    }
    result.ok = true;
    result.duplicate = true;
    result.message = message_from_row(existing, 0);
    return result;
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
std::vector<AppendResult> insert_in_one_transaction(
    PgConnection& db, const std::vector<const NewMessage*>& messages) {
    db.run(kBegin);
    try {
        lock_rooms(db, messages);
        std::vector<AppendResult> results;
        results.reserve(messages.size());
        LastIdOfRoom last_ids;
        for (const auto* message : messages) {
            results.push_back(insert_message(db, *message, last_ids));
        }
        db.commit();
        return results;
    } catch (...) {
        db.rollback_quietly();
        throw;
    }
}

AppendResult failed(std::string error) {
    AppendResult result;
    result.error = std::move(error);
    return result;
}

bool connection_lost(const std::exception& error) {
    const auto* pg = dynamic_cast<const PgError*>(&error);
    return pg != nullptr && pg->connection_lost();
}

}  // namespace

PostgresStore::PostgresStore(PostgresOptions options, metrics::Metrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {
    options_.max_batch = std::max<std::size_t>(options_.max_batch, 1);
    options_.pool_size = std::max<std::size_t>(options_.pool_size, 1);
    if (options_.conninfo.empty()) {
        // libpq would fall back to PG* environment variables and a local socket: refuse.
        throw StoreError("postgres: the connection string is empty");
    }

    writer_ = std::make_unique<Connection>(options_.conninfo, "chatd-writer");
    migrate(*writer_);
    for (std::size_t i = 0; i < options_.pool_size; ++i) {
        pool_.push_back(std::make_unique<Connection>(options_.conninfo, "chatd-pool"));
        free_connections_.push_back(pool_.back().get());
    }

    writer_thread_ = std::thread([this] { run_writer(); });
}

PostgresStore::~PostgresStore() {
    {
        std::lock_guard lock(queue_mutex_);
        stopping_ = true;
    }
    queue_ready_.notify_one();
    if (writer_thread_.joinable()) writer_thread_.join();
    pool_.clear();
    writer_.reset();
}

void PostgresStore::append(NewMessage message, std::function<void(AppendResult)> done) {
    {
        std::lock_guard lock(queue_mutex_);
        queue_.push_back(PendingAppend{std::move(message), std::move(done), ++appends_queued_});
    }
    queue_ready_.notify_one();
}

void PostgresStore::flush() {
    if (std::this_thread::get_id() == writer_thread_.get_id()) {
        throw std::logic_error(
            "PostgresStore: flush from an append callback would wait for itself");
    }
    std::unique_lock lock(queue_mutex_);
    const auto target = appends_queued_;
    appends_done_.wait(lock, [&] { return appends_completed_ >= target; });
}

void PostgresStore::run_writer() {
    std::vector<PendingAppend> batch;
    for (;;) {
        {
            std::unique_lock lock(queue_mutex_);
            queue_ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, and everything queued has been done
            while (!queue_.empty() && batch.size() < options_.max_batch) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
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

PostgresStore::Connection* PostgresStore::writer_connection(std::string& error) {
    if (writer_->alive()) return writer_.get();
    const auto now = Clock::now();
    if (now < next_reconnect_) {
        error = "postgres: connection lost, reconnecting: " + last_connect_error_;
        return nullptr;
    }
    try {
        writer_->reconnect();
        reconnect_backoff_ = {};
        return writer_.get();
    } catch (const StoreError& failure) {
        last_connect_error_ = failure.what();
        reconnect_backoff_ = std::clamp<Clock::duration>(
            reconnect_backoff_ * 2, kMinReconnectBackoff, kMaxReconnectBackoff);
        next_reconnect_ = now + reconnect_backoff_;
        error = "postgres: connection lost, reconnecting: " + last_connect_error_;
        return nullptr;
    }
}

void PostgresStore::commit_batch(std::vector<PendingAppend>& batch) {
    const auto started = Clock::now();
    std::vector<const NewMessage*> messages;
    messages.reserve(batch.size());
    for (const auto& pending : batch) messages.push_back(&pending.message);

    std::vector<AppendResult> results;
    std::string unavailable;
    Connection* db = writer_connection(unavailable);
    if (db == nullptr) {
        results.assign(messages.size(), failed(unavailable));
    } else {
        try {
            results = insert_in_one_transaction(*db, messages);
        } catch (const std::exception& batch_error) {
            // Nothing of the batch is stored. A lost connection fails every message of it
            // (the next batch reconnects). Otherwise retry one message per transaction so that
            // a message which broke the transaction (missing room) fails alone.
            results.clear();
            std::optional<std::string> give_up;
            if (connection_lost(batch_error) || messages.size() == 1) {
                give_up = batch_error.what();
            }
            for (const auto* message : messages) {
                if (give_up) {
                    results.push_back(failed(*give_up));
                    continue;
                }
                try {
                    results.push_back(insert_in_one_transaction(*db, {message}).front());
                } catch (const std::exception& error) {
                    if (connection_lost(error)) give_up = error.what();
                    results.push_back(failed(error.what()));
                }
            }
        }
    }

    if (metrics_ != nullptr) {
        const std::chrono::duration<double> elapsed = Clock::now() - started;
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
auto PostgresStore::pooled(OnLostConnection on_lost, Work work) {
    Connection* db = nullptr;
    {
        std::unique_lock lock(pool_mutex_);
        pool_free_.wait(lock, [this] { return !free_connections_.empty(); });
        db = free_connections_.back();
        free_connections_.pop_back();
    }
    struct Release {
        PostgresStore& owner;
        Connection* db;
        ~Release() {
            {
                std::lock_guard lock(owner.pool_mutex_);
                owner.free_connections_.push_back(db);
            }
            owner.pool_free_.notify_one();
        }
    } release{*this, db};
    try {
        for (int attempt = 0;; ++attempt) {
            // A connection that cannot be reopened is the answer (the server is away): no retry.
            if (!db->alive()) db->reconnect();
            try {
                return work(*db);
            } catch (const PgError& error) {
                db->rollback_quietly();
                // A second run must give the same answer as one; only then may it retry.
                if (!error.connection_lost() || on_lost == OnLostConnection::Fail || attempt > 0) {
                    throw;
                }
            }
        }
    } catch (const StoreError&) {
        count_error();
        throw;
    }
}

void PostgresStore::count_error() {
    if (metrics_ != nullptr) metrics_->store_errors.Increment();
}

std::vector<model::Message> PostgresStore::history(const HistoryQuery& query) {
    if (query.before && query.after) {
        throw std::invalid_argument("history: before and after are mutually exclusive");
    }
    const std::int64_t limit = std::clamp(query.limit, 1, kMaxHistoryLimit);
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        if (query.after) {
            return messages_from(
                db.exec(kHistoryAfter, {query.room, param(*query.after), param(limit)}));
        }
        auto messages = query.before
                            ? messages_from(db.exec(
                                  kHistoryBefore, {query.room, param(*query.before), param(limit)}))
                            : messages_from(db.exec(kHistoryNewest, {query.room, param(limit)}));
        std::reverse(messages.begin(), messages.end());  // fetched newest first
        return messages;
    });
}

std::vector<model::Message> PostgresStore::unpublished(std::string_view origin_node,
                                                       std::size_t limit) {
    const auto bounded = static_cast<std::int64_t>(
        std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        return messages_from(db.exec(kUnpublished, {std::string(origin_node), param(bounded)}));
    });
}

void PostgresStore::mark_published(const std::vector<model::MessageId>& ids) {
    if (ids.empty()) return;
    // A bigint[] literal: digits and commas only, bound as one parameter.
    std::string array = "{";
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i > 0) array += ',';
        array += std::to_string(ids[i]);
    }
    array += '}';
    pooled(OnLostConnection::Retry, [&](Connection& db) { db.exec(kMarkPublished, {array}); });
}

bool PostgresStore::create_user(const User& user) {
    // Not retried: if the lost connection had committed the insert, a retry would say "taken".
    // The user and its key in one transaction: a concurrent registration of a look-alike waits
    // on the key's primary key until this one ends, then finds it taken.
    return pooled(OnLostConnection::Fail, [&](Connection& db) {
        db.run(kBegin);
        try {
            bool created = db.exec(kInsertUser, {user.name, user.password_hash,
                                                 param(user.created_ms), user.name_key})
                               .affected() == 1;
            if (created && !user.name_key.empty()) {
                created = db.exec(kClaimNameKey, {user.name_key, user.name}).affected() == 1;
            }
            if (created) {
                db.commit();
            } else {
                db.run(kRollback);
            }
            return created;
        } catch (...) {
            db.rollback_quietly();
            throw;
        }
    });
}

std::optional<User> PostgresStore::find_user(std::string_view name) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) -> std::optional<User> {
        const auto rows = db.exec(kFindUser, {std::string(name)});
        if (rows.empty()) return std::nullopt;
        return User{rows.text(0, 0), rows.text(0, 1), rows.integer(0, 2), rows.text(0, 3)};
    });
}

std::vector<std::string> PostgresStore::users_without_name_key(std::size_t limit) {
    const auto bounded = static_cast<std::int64_t>(
        std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        return first_column(db.exec(kUsersWithoutNameKey, {param(bounded)}));
    });
}

bool PostgresStore::set_name_key(std::string_view user_name, std::string_view name_key) {
    // Idempotent: a retry after a lost connection finds the key set and claimed, or claims it.
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        const std::string user(user_name);
        const std::string key(name_key);
        db.run(kBegin);
        try {
            db.exec(kSetNameKey, {user, key});
            db.exec(kClaimNameKey, {key, user});
            const auto holder = db.exec(kNameKeyHolder, {key});
            const bool holds = !holder.empty() && holder.text(0, 0) == user;
            db.commit();
            return holds;
        } catch (...) {
            db.rollback_quietly();
            throw;
        }
    });
}

std::vector<LoginFailures> PostgresStore::login_failures(const std::vector<std::string>& keys) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        std::vector<LoginFailures> counts;
        counts.reserve(keys.size());
        for (const auto& key : keys) {
            const auto rows = db.exec(kFindLoginFailures, {key});
            counts.push_back(rows.empty() ? LoginFailures{}
                                          : LoginFailures{rows.integer(0, 0), rows.integer(0, 1)});
        }
        return counts;
    });
}

std::vector<LoginFailures> PostgresStore::add_login_failure(const std::vector<std::string>& keys,
                                                            std::int64_t now_ms,
                                                            std::int64_t forget_before_ms) {
    // Not retried: a lost connection may have committed the counts already.
    return pooled(OnLostConnection::Fail, [&](Connection& db) {
        db.run(kBegin);
        try {
            std::vector<LoginFailures> counts;
            counts.reserve(keys.size());
            for (const auto& key : keys) {
                const auto rows =
                    db.exec(kAddLoginFailure, {key, param(now_ms), param(forget_before_ms)});
                counts.push_back(LoginFailures{rows.integer(0, 0), rows.integer(0, 1)});
            }
            db.commit();
            return counts;
        } catch (...) {
            db.rollback_quietly();
            throw;
        }
    });
}

void PostgresStore::clear_login_failures(const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    pooled(OnLostConnection::Retry, [&](Connection& db) {
        for (const auto& key : keys) db.exec(kClearLoginFailures, {key});
    });
}

std::size_t PostgresStore::purge_login_failures(std::int64_t before_ms) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        return static_cast<std::size_t>(
            db.exec(kPurgeLoginFailures, {param(before_ms)}).affected());
    });
}

void PostgresStore::create_session(const Session& session) {
    pooled(OnLostConnection::Fail, [&](Connection& db) {
        db.exec(kInsertSession, {session.token_hash, session.user_name, param(session.expires_ms)});
    });
}

std::optional<Session> PostgresStore::find_session(std::string_view token_hash,
                                                   std::int64_t now_ms) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) -> std::optional<Session> {
        const auto rows = db.exec(kFindSession, {std::string(token_hash), param(now_ms)});
        if (rows.empty()) return std::nullopt;
        return Session{rows.text(0, 0), rows.text(0, 1), rows.integer(0, 2)};
    });
}

void PostgresStore::delete_session(std::string_view token_hash) {
    pooled(OnLostConnection::Retry,
           [&](Connection& db) { db.exec(kDeleteSession, {std::string(token_hash)}); });
}

std::vector<std::string> PostgresStore::trim_sessions(std::string_view user_name,
                                                      std::size_t keep) {
    const auto bounded = static_cast<std::int64_t>(
        std::min<std::size_t>(keep, std::numeric_limits<std::int64_t>::max()));
    // Retried: idempotent, though a retry after a lost COMMIT returns no hash.
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        return first_column(db.exec(kTrimSessions, {std::string(user_name), param(bounded)}));
    });
}

std::vector<std::string> PostgresStore::delete_user_sessions(std::string_view user_name) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        return first_column(db.exec(kDeleteUserSessions, {std::string(user_name)}));
    });
}

std::size_t PostgresStore::purge_expired_sessions(std::int64_t now_ms) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        return static_cast<std::size_t>(db.exec(kPurgeExpiredSessions, {param(now_ms)}).affected());
    });
}

bool PostgresStore::create_room(const Room& room) {
    // Not retried, for the same reason as create_user.
    return pooled(OnLostConnection::Fail, [&](Connection& db) {
        return db.exec(kInsertRoom,
                       {room.name, param(room.direct), room.created_by, param(room.created_ms)})
                   .affected() == 1;
    });
}

std::optional<Room> PostgresStore::find_room(std::string_view name) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) -> std::optional<Room> {
        const auto rows = db.exec(kFindRoom, {std::string(name)});
        if (rows.empty()) return std::nullopt;
        return room_from_row(rows, 0);
    });
}

std::vector<Room> PostgresStore::list_public_rooms() {
    return pooled(OnLostConnection::Retry, [](Connection& db) {
        const auto rows = db.exec(kListPublicRooms, {});
        std::vector<Room> rooms;
        rooms.reserve(static_cast<std::size_t>(rows.size()));
        for (int row = 0; row < rows.size(); ++row) rooms.push_back(room_from_row(rows, row));
        return rooms;
    });
}

void PostgresStore::add_member(std::string_view room, std::string_view user_name) {
    pooled(OnLostConnection::Retry, [&](Connection& db) {
        try {
            db.exec(kInsertMember, {std::string(room), std::string(user_name)});
        } catch (const PgError& error) {
            if (error.sqlstate() != kForeignKeyViolation) throw;
            throw PgError("no such room: " + std::string(room), error.sqlstate(), false);
        }
    });
}

void PostgresStore::remove_member(std::string_view room, std::string_view user_name) {
    pooled(OnLostConnection::Retry, [&](Connection& db) {
        db.exec(kDeleteMember, {std::string(room), std::string(user_name)});
    });
}

bool PostgresStore::is_member(std::string_view room, std::string_view user_name) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        return !db.exec(kIsMember, {std::string(room), std::string(user_name)}).empty();
    });
}

std::vector<std::string> PostgresStore::rooms_of(std::string_view user_name) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        return first_column(db.exec(kRoomsOf, {std::string(user_name)}));
    });
}

std::vector<std::string> PostgresStore::members_of(std::string_view room) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        return first_column(db.exec(kMembersOf, {std::string(room)}));
    });
}

}  // namespace chatd::store
