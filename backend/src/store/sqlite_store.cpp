#include "store/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

#include "metrics/metrics.hpp"
#include "model/clock.hpp"
#include "store/embedded_migrations.hpp"
#include "store/group_commit_writer.hpp"
#include "store/read_state_rows.hpp"
#include "store/schema_codes.hpp"
#include "store/sqlite_appends.hpp"
#include "store/sqlite_checkpointer.hpp"
#include "store/sqlite_connection.hpp"

namespace chatd::store {
namespace {

using detail::execute;
using detail::kBeginImmediate;
using detail::kCommit;
using detail::kRollback;
using detail::message_from_row;
using detail::Query;
using detail::SqliteConnection;

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

constexpr const char* kRoomExists = "SELECT 1 FROM rooms WHERE name = ?1";
constexpr const char* kUnpublished =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE origin_node = ?1 AND published = 0 ORDER BY id ASC LIMIT ?2";
constexpr const char* kMarkPublished = "UPDATE messages SET published = 1 WHERE id = ?1";
// Newest and before= pages: visible rows only, through messages_visible_by_room (`kind < 3`
// repeats its condition literally, as SQLite requires to use a partial index).
constexpr const char* kHistoryNewest =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE room = ?1 AND kind < 3 ORDER BY id DESC LIMIT ?2";
constexpr const char* kHistoryBefore =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE room = ?1 AND kind < 3 AND id < ?2 ORDER BY id DESC LIMIT ?3";
// after= pages: every row, changes included, so a client can apply them in order.
constexpr const char* kHistoryAfter =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE room = ?1 AND id > ?2 ORDER BY id ASC LIMIT ?3";
// A thread's replies, through messages_replies.
constexpr const char* kThreadNewest =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE reply_to = ?1 AND reply_to <> 0 AND room = ?2 AND kind = 0"
    " ORDER BY id DESC LIMIT ?3";
constexpr const char* kThreadBefore =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE reply_to = ?1 AND reply_to <> 0 AND room = ?2 AND kind = 0"
    " AND id < ?3 ORDER BY id DESC LIMIT ?4";
constexpr const char* kThreadAfter =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE reply_to = ?1 AND reply_to <> 0 AND room = ?2 AND kind = 0"
    " AND id > ?3 ORDER BY id ASC LIMIT ?4";
constexpr const char* kFindVisible =
    "SELECT " CHATD_MESSAGE_COLUMNS " FROM messages m WHERE id = ?1 AND room = ?2 AND kind < 3";
// The reactions of a page's messages (?1: a JSON array of ids), one query whatever its length.
constexpr const char* kReactionsOf =
    "SELECT message_id, emoji, user_name FROM reactions"
    " WHERE message_id IN (SELECT value FROM json_each(?1)) ORDER BY message_id, change_id";
// The room's highest id of any kind: a page's as_of.
constexpr const char* kRoomAsOf =
    "SELECT COALESCE((SELECT id FROM messages WHERE room = ?1 ORDER BY id DESC LIMIT 1), 0)";
// A deferred transaction on a read-only connection: its first read fixes the WAL snapshot that
// every later statement of the page reads.
constexpr const char* kBeginRead = "BEGIN";

constexpr const char* kInsertUser =
    "INSERT INTO users (name, password_hash, created_ms, name_key) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (name) DO NOTHING";
constexpr const char* kFindUser =
    "SELECT name, password_hash, created_ms, name_key FROM users WHERE name = ?1";
constexpr const char* kClaimNameKey =
    "INSERT INTO user_name_keys (name_key, user_name) VALUES (?1, ?2)"
    " ON CONFLICT (name_key) DO NOTHING";
constexpr const char* kNameKeyHolder = "SELECT user_name FROM user_name_keys WHERE name_key = ?1";
// U+10FFFF in UTF-8: appended to a prefix, the end of the range of the strings starting with it.
constexpr const char* kHighestCodePoint = "\xF4\x8F\xBF\xBF";
// The people directory. A search reads two index ranges (name folds, display name folds), each
// from the prefix up to the prefix followed by U+10FFFF, the highest code point.
constexpr const char* kAddPerson =
    "INSERT INTO people (name, name_fold, created_ms) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (name) DO UPDATE SET name_fold = excluded.name_fold"
    " WHERE people.name_fold <> excluded.name_fold";
constexpr const char* kRecordLastSeen =
    "INSERT INTO people (name, name_fold, last_seen_ms, created_ms) VALUES (?1, ?2, ?3, ?3)"
    " ON CONFLICT (name) DO UPDATE SET last_seen_ms = max(people.last_seen_ms, "
    "excluded.last_seen_ms)";
constexpr const char* kSetDisplayName =
    "INSERT INTO people (name, name_fold, display_name, display_fold, created_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO UPDATE"
    " SET display_name = excluded.display_name, display_fold = excluded.display_fold";
constexpr const char* kFindPerson =
    "SELECT name, display_name, last_seen_ms, created_ms FROM people WHERE name = ?1";
constexpr const char* kAllPeople =
    "SELECT name, display_name, last_seen_ms, created_ms FROM people WHERE name > ?1"
    " ORDER BY name LIMIT ?2";
constexpr const char* kSearchPeople =
    "SELECT name, display_name, last_seen_ms, created_ms FROM people WHERE name IN ("
    " SELECT name FROM people WHERE name_fold >= ?1 AND name_fold < ?2 AND name > ?3"
    " UNION SELECT name FROM people WHERE display_fold >= ?1 AND display_fold < ?2 AND name > ?3)"
    " ORDER BY name LIMIT ?4";
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

#define CHATD_SESSION_COLUMNS \
    "token_hash, user_name, expires_ms, public_id, created_ms, last_used_ms, user_agent, address"
constexpr const char* kInsertSession = "INSERT INTO sessions (" CHATD_SESSION_COLUMNS
                                       ") VALUES (?1, ?2, ?3, NULLIF(?4, ''), ?5, ?6, ?7, ?8)";
constexpr const char* kFindSession =
    "SELECT " CHATD_SESSION_COLUMNS " FROM sessions WHERE token_hash = ?1 AND expires_ms > ?2";
constexpr const char* kUserSessions = "SELECT " CHATD_SESSION_COLUMNS
                                      " FROM sessions WHERE user_name = ?1 AND expires_ms > ?2"
                                      " ORDER BY created_ms DESC, expires_ms DESC, public_id";
constexpr const char* kDeleteSessionById =
    "DELETE FROM sessions WHERE user_name = ?1 AND public_id = ?2 RETURNING token_hash";
constexpr const char* kTouchSession =
    "UPDATE sessions SET last_used_ms = ?2 WHERE token_hash = ?1 AND last_used_ms < ?2";
#undef CHATD_SESSION_COLUMNS

// A row of kFindSession or kUserSessions.
Session session_of(Query& row) {
    return Session{row.text(0),    row.text(1),    row.integer(2), row.text(3),
                   row.integer(4), row.integer(5), row.text(6),    row.text(7)};
}
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
// read_marks_by_room (room, user_name) serves it in order.
constexpr const char* kRoomMembers =
    "SELECT user_name FROM read_marks WHERE room = ?1 AND user_name > ?2"
    " ORDER BY user_name LIMIT ?3";

// Read state (docs/design/storage.md "Read state"). `n` subqueries read a room's newest id, as
// kRoomAsOf does. A new member's mark starts at it, replacing one left from before.
constexpr const char* kStartMemberMark =
    "INSERT INTO read_marks (user_name, room, last_read_id) VALUES (?2, ?1,"
    " COALESCE((SELECT id FROM messages n WHERE n.room = ?1 ORDER BY id DESC LIMIT 1), 0))"
    " ON CONFLICT (user_name, room) DO UPDATE SET last_read_id = excluded.last_read_id";
constexpr const char* kDeleteMemberMark =
    "DELETE FROM read_marks WHERE room = ?1 AND user_name = ?2";
// Marks for the rooms of ?2 (a JSON array) that exist and have none yet, at their newest id.
constexpr const char* kStartReadMarks =
    "INSERT INTO read_marks (user_name, room, last_read_id)"
    " SELECT ?1, j.value,"
    " COALESCE((SELECT id FROM messages n WHERE n.room = j.value ORDER BY id DESC LIMIT 1), 0)"
    " FROM json_each(?2) j WHERE EXISTS (SELECT 1 FROM rooms WHERE name = j.value)"
    " ON CONFLICT (user_name, room) DO NOTHING";
// Each room's mark, its unread count (at most ?3, through messages_unread: `kind = 0 AND
// deleted = 0` repeats the index's condition), its newest id and its mention count (a range of
// the mentions key, each message looked up to skip deleted ones): one query for every room.
constexpr const char* kReadStates =
    "SELECT r.room, r.last_read_id,"
    " (SELECT COUNT(*) FROM (SELECT 1 FROM messages m WHERE m.room = r.room AND m.kind = 0"
    " AND m.deleted = 0 AND m.id > r.last_read_id AND m.user_name <> r.user_name LIMIT ?3)),"
    " COALESCE((SELECT id FROM messages n WHERE n.room = r.room ORDER BY id DESC LIMIT 1), 0),"
    " (SELECT COUNT(*) FROM (SELECT 1 FROM mentions mn JOIN messages m ON m.id = mn.message_id"
    " WHERE mn.user_name = r.user_name AND mn.room = r.room AND mn.message_id > r.last_read_id"
    " AND m.deleted = 0 LIMIT ?3))"
    " FROM read_marks r"
    " WHERE r.user_name = ?1 AND r.room IN (SELECT value FROM json_each(?2)) ORDER BY r.room";
// Forward only: a lower id changes nothing (sqlite3_changes 0).
constexpr const char* kMoveReadMark =
    "INSERT INTO read_marks (user_name, room, last_read_id) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (user_name, room) DO UPDATE SET last_read_id = excluded.last_read_id"
    " WHERE excluded.last_read_id > read_marks.last_read_id";
constexpr const char* kMarkAllRead =
    "UPDATE read_marks SET last_read_id = newest FROM (SELECT room AS marked,"
    " COALESCE((SELECT id FROM messages n WHERE n.room = rm.room ORDER BY id DESC LIMIT 1), 0)"
    " AS newest FROM read_marks rm WHERE rm.user_name = ?1)"
    " WHERE user_name = ?1 AND room = marked AND last_read_id < newest"
    " RETURNING room, last_read_id";

constexpr int kMaxHistoryLimit = 1000;

static_assert(detail::versions_strictly_increase(embedded::kMigrations),
              "migration versions must strictly increase");

Room room_from_row(const Query& row) {
    return Room{row.text(0), row.integer(1) != 0, row.text(2), row.integer(3)};
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
    checkpointer_ = std::make_unique<detail::WalCheckpointer>(
        options_.path, options_.synchronous_full, options_.busy_timeout_ms);
    checkpointer_->attach(writer_->handle());

    // Opened after the writer made the file a WAL database, which read-only connections need.
    for (std::size_t i = 0; i < options_.read_connections; ++i) {
        readers_.push_back(std::make_unique<Connection>(options_.path, SQLITE_OPEN_READONLY,
                                                        options_.busy_timeout_ms));
        free_readers_.push_back(readers_.back().get());
    }

    appends_ = std::make_unique<detail::SqliteAppends>(*writer_);
    group_commit_ =
        std::make_unique<GroupCommitWriter>(*appends_, options_.max_batch, metrics_, "chatd-store");
}

SqliteStore::~SqliteStore() {
    group_commit_.reset();
    // Readers and the checkpointer first: the last connection to close checkpoints the WAL into
    // the database file. The writer commits nothing more, so its WAL hook no longer runs.
    readers_.clear();
    checkpointer_.reset();
    writer_.reset();
}

void SqliteStore::append(NewMessage message, std::function<void(AppendResult)> done) {
    group_commit_->append(std::move(message), std::move(done));
}

void SqliteStore::flush() {
    group_commit_->flush();
}

template <typename Work>
auto SqliteStore::write(Work work) {
    try {
        return group_commit_->call([this, &work] { return work(*writer_); });
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

void SqliteStore::count_error() {
    if (metrics_ != nullptr) metrics_->store_errors.Increment();
}

namespace {

// One snapshot for all the statements of a page: rows, reactions and as_of agree.
class ReadSnapshot {
  public:
    explicit ReadSnapshot(SqliteConnection& db) : db_(db) { execute(db_, kBeginRead); }
    ~ReadSnapshot() { db_.rollback_quietly(); }  // read only: nothing to commit
    ReadSnapshot(const ReadSnapshot&) = delete;
    ReadSnapshot& operator=(const ReadSnapshot&) = delete;

  private:
    SqliteConnection& db_;
};

std::vector<model::Message> messages_of(Query& rows) {
    std::vector<model::Message> messages;
    while (rows.step()) messages.push_back(message_from_row(rows));
    return messages;
}

// Adds their reactions to the page's messages: one query for the whole page.
void add_reactions(SqliteConnection& db, std::vector<model::Message>& messages) {
    const auto holders = detail::reaction_holders(messages);
    if (holders.empty()) return;
    std::string ids = "[";
    for (const auto& [id, index] : holders) {
        if (ids.size() > 1) ids += ',';
        ids += std::to_string(id);
    }
    ids += ']';
    Query rows(db, kReactionsOf);
    rows.bind(1, ids);
    while (rows.step()) {
        detail::fold_reaction(messages[holders.at(rows.integer(0))], rows.text(1), rows.text(2));
    }
}

model::MessageId room_as_of(SqliteConnection& db, std::string_view room) {
    Query row(db, kRoomAsOf);
    row.bind(1, room);
    return row.step() ? row.integer(0) : 0;
}

void check_cursors(const HistoryQuery& query) {
    if (query.before && query.after) {
        throw std::invalid_argument("history: before and after are mutually exclusive");
    }
}

}  // namespace

HistoryPage SqliteStore::page(const HistoryQuery& query) {
    check_cursors(query);
    const std::int64_t limit = std::clamp(query.limit, 1, kMaxHistoryLimit);
    return read([&](Connection& db) {
        ReadSnapshot snapshot(db);
        HistoryPage page;
        if (query.after) {
            Query rows(db, kHistoryAfter);
            rows.bind(1, query.room).bind(2, *query.after).bind(3, limit);
            page.messages = messages_of(rows);
        } else {
            Query rows(db, query.before ? kHistoryBefore : kHistoryNewest);
            rows.bind(1, query.room);
            if (query.before) {
                rows.bind(2, *query.before).bind(3, limit);
            } else {
                rows.bind(2, limit);
            }
            page.messages = messages_of(rows);
            std::reverse(page.messages.begin(), page.messages.end());  // fetched newest first
        }
        add_reactions(db, page.messages);
        page.as_of = room_as_of(db, query.room);
        return page;
    });
}

std::optional<HistoryPage> SqliteStore::find_message(std::string_view room, model::MessageId id) {
    return read([&](Connection& db) -> std::optional<HistoryPage> {
        ReadSnapshot snapshot(db);
        HistoryPage page;
        {
            Query row(db, kFindVisible);
            row.bind(1, id).bind(2, room);
            page.messages = messages_of(row);
        }
        if (page.messages.empty()) return std::nullopt;
        add_reactions(db, page.messages);
        page.as_of = room_as_of(db, room);
        return page;
    });
}

HistoryPage SqliteStore::thread(const HistoryQuery& query, model::MessageId root) {
    check_cursors(query);
    const std::int64_t limit = std::clamp(query.limit, 1, kMaxHistoryLimit);
    return read([&](Connection& db) {
        ReadSnapshot snapshot(db);
        HistoryPage page;
        {
            Query rows(db, query.after    ? kThreadAfter
                           : query.before ? kThreadBefore
                                          : kThreadNewest);
            rows.bind(1, root).bind(2, query.room);
            if (query.after || query.before) {
                rows.bind(3, query.after ? *query.after : *query.before).bind(4, limit);
            } else {
                rows.bind(3, limit);
            }
            page.messages = messages_of(rows);
        }
        if (!query.after) std::reverse(page.messages.begin(), page.messages.end());
        add_reactions(db, page.messages);
        page.as_of = room_as_of(db, query.room);
        return page;
    });
}

std::vector<model::Message> SqliteStore::unpublished(std::string_view origin_node,
                                                     std::size_t limit) {
    return read([origin_node, limit](Connection& db) {
        std::vector<model::Message> messages;
        Query rows(db, kUnpublished);
        rows.bind(1, origin_node).bind(2, static_cast<std::int64_t>(limit));
        while (rows.step()) {
            messages.push_back(message_from_row(rows));
            detail::clear_folded_state(messages.back());
        }
        return messages;
    });
}

void SqliteStore::mark_published(const std::vector<model::MessageId>& ids) {
    if (ids.empty()) return;
    write([&ids](Connection& db) {
        write_transaction(db, [&] {
            for (const auto id : ids) Query(db, kMarkPublished).bind(1, id).run();
        });
    });
}

bool SqliteStore::create_user(const User& user) {
    return write([&user](Connection& db) {
        return write_transaction(db, [&] {
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
            if (!created) execute(db, kRollback);
            return created;
        });
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
        return write_transaction(db, [&] {
            Query(db, kSetNameKey).bind(1, user_name).bind(2, name_key).run();
            Query(db, kClaimNameKey).bind(1, name_key).bind(2, user_name).run();
            Query holder(db, kNameKeyHolder);
            holder.bind(1, name_key);
            const bool holds = holder.step() && holder.text(0) == user_name;
            return holds;
        });
    });
}

void SqliteStore::add_person(std::string_view name,
                             std::string_view name_fold,
                             std::int64_t now_ms) {
    write([&](Connection& db) {
        Query(db, kAddPerson).bind(1, name).bind(2, name_fold).bind(3, now_ms).run();
    });
}

namespace {
Person person_from_row(Query& row) {
    return Person{row.text(0), row.text(1), row.integer(2), row.integer(3)};
}
}  // namespace

std::vector<Person> SqliteStore::people(const PeopleQuery& query) {
    const auto limit = static_cast<std::int64_t>(
        std::min<std::size_t>(query.limit, std::numeric_limits<std::int64_t>::max()));
    return read([&](Connection& db) {
        std::vector<Person> found;
        if (query.prefix_fold.empty()) {
            Query rows(db, kAllPeople);
            rows.bind(1, query.after).bind(2, limit);
            while (rows.step()) found.push_back(person_from_row(rows));
        } else {
            Query rows(db, kSearchPeople);
            rows.bind(1, query.prefix_fold)
                .bind(2, query.prefix_fold + kHighestCodePoint)
                .bind(3, query.after)
                .bind(4, limit);
            while (rows.step()) found.push_back(person_from_row(rows));
        }
        return found;
    });
}

std::optional<Person> SqliteStore::find_person(std::string_view name) {
    return read([name](Connection& db) -> std::optional<Person> {
        Query row(db, kFindPerson);
        row.bind(1, name);
        if (!row.step()) return std::nullopt;
        return person_from_row(row);
    });
}

void SqliteStore::record_last_seen(const std::vector<LastSeen>& seen) {
    if (seen.empty()) return;
    write([&seen](Connection& db) {
        write_transaction(db, [&] {
            for (const auto& person : seen) {
                Query(db, kRecordLastSeen)
                    .bind(1, person.name)
                    .bind(2, person.name_fold)
                    .bind(3, person.ms)
                    .run();
            }
        });
    });
}

void SqliteStore::set_display_name(const LastSeen& person,
                                   std::string_view display_name,
                                   std::string_view display_fold) {
    write([&](Connection& db) {
        Query(db, kSetDisplayName)
            .bind(1, person.name)
            .bind(2, person.name_fold)
            .bind(3, display_name)
            .bind(4, display_fold)
            .bind(5, person.ms)
            .run();
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
        return write_transaction(db, [&] {
            std::vector<LoginFailures> counts;
            counts.reserve(keys.size());
            for (const auto& key : keys) {
                Query row(db, kAddLoginFailure);
                row.bind(1, key).bind(2, now_ms).bind(3, forget_before_ms);
                if (!row.step()) throw StoreError("sqlite: login_failures upsert returned no row");
                counts.push_back(LoginFailures{row.integer(0), row.integer(1)});
            }
            return counts;
        });
    });
}

void SqliteStore::clear_login_failures(const std::vector<std::string>& keys) {
    if (keys.empty()) return;
    write([&keys](Connection& db) {
        write_transaction(db, [&] {
            for (const auto& key : keys) Query(db, kClearLoginFailures).bind(1, key).run();
        });
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
            .bind(4, session.public_id)
            .bind(5, session.created_ms)
            .bind(6, session.last_used_ms)
            .bind(7, session.user_agent)
            .bind(8, session.address)
            .run();
    });
}

std::optional<Session> SqliteStore::find_session(std::string_view token_hash, std::int64_t now_ms) {
    return read([token_hash, now_ms](Connection& db) -> std::optional<Session> {
        Query row(db, kFindSession);
        row.bind(1, token_hash).bind(2, now_ms);
        if (!row.step()) return std::nullopt;
        return session_of(row);
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

std::vector<Session> SqliteStore::user_sessions(std::string_view user_name, std::int64_t now_ms) {
    return read([user_name, now_ms](Connection& db) {
        std::vector<Session> sessions;
        Query rows(db, kUserSessions);
        rows.bind(1, user_name).bind(2, now_ms);
        while (rows.step()) sessions.push_back(session_of(rows));
        return sessions;
    });
}

std::optional<std::string> SqliteStore::delete_session_by_id(std::string_view user_name,
                                                             std::string_view public_id) {
    return write([user_name, public_id](Connection& db) -> std::optional<std::string> {
        Query row(db, kDeleteSessionById);
        row.bind(1, user_name).bind(2, public_id);
        if (!row.step()) return std::nullopt;
        return row.text(0);
    });
}

void SqliteStore::touch_session(std::string_view token_hash, std::int64_t used_ms) {
    write([token_hash, used_ms](Connection& db) {
        Query(db, kTouchSession).bind(1, token_hash).bind(2, used_ms).run();
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
        write_transaction(db, [&] {
            Query(db, kInsertMember).bind(1, room).bind(2, user_name).run();
            if (sqlite3_changes(db.handle()) == 1) {
                Query(db, kStartMemberMark).bind(1, room).bind(2, user_name).run();
            }
        });
    });
}

void SqliteStore::remove_member(std::string_view room, std::string_view user_name) {
    write([room, user_name](Connection& db) {
        write_transaction(db, [&] {
            Query(db, kDeleteMember).bind(1, room).bind(2, user_name).run();
            Query(db, kDeleteMemberMark).bind(1, room).bind(2, user_name).run();
        });
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

std::vector<std::string> SqliteStore::room_members(std::string_view room,
                                                   std::string_view after,
                                                   std::size_t limit) {
    return read([&](Connection& db) {
        std::vector<std::string> members;
        Query rows(db, kRoomMembers);
        rows.bind(1, room).bind(2, after).bind(
            3, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT32_MAX)));
        while (rows.step()) members.push_back(rows.text(0));
        return members;
    });
}

namespace {

std::vector<ReadState> read_states_of(SqliteConnection& db,
                                      std::string_view user_name,
                                      const std::vector<std::string>& rooms,
                                      std::size_t cap) {
    std::vector<ReadState> states;
    Query rows(db, kReadStates);
    rows.bind(1, user_name)
        .bind(2, detail::json_string_array(rooms))
        .bind(3, detail::unread_count_limit(cap));
    while (rows.step()) {
        states.push_back(detail::read_state_of(rows.text(0), rows.integer(1), rows.integer(2),
                                               rows.integer(3), cap, rows.integer(4)));
    }
    return states;
}

ReadMarkResult move_read_mark(SqliteConnection& db, const ReadMark& mark) {
    using Outcome = ReadMarkResult::Outcome;
    return write_transaction(db, [&] {
        ReadMarkResult result;
        if (mark.room.empty()) {
            Query rows(db, kMarkAllRead);
            rows.bind(1, mark.user_name);
            while (rows.step()) {
                const auto newest = rows.integer(1);
                result.states.push_back(ReadState{rows.text(0), newest, 0, false, newest, 0});
            }
            detail::sort_by_room(result.states);
            result.outcome = result.states.empty() ? Outcome::Unchanged : Outcome::Moved;
        } else if (mark.up_to > room_as_of(db, mark.room)) {
            result.outcome = Outcome::BeyondNewest;
        } else {
            Query(db, kMoveReadMark)
                .bind(1, mark.user_name)
                .bind(2, mark.room)
                .bind(3, mark.up_to)
                .run();
            result.outcome =
                sqlite3_changes(db.handle()) == 1 ? Outcome::Moved : Outcome::Unchanged;
            result.states = read_states_of(db, mark.user_name, {mark.room}, mark.unread_cap);
        }
        return result;
    });
}

}  // namespace

void SqliteStore::mark_read(ReadMark mark, std::function<void(ReadMarkResult)> done) {
    group_commit_->post([this, mark = std::move(mark), done = std::move(done)] {
        ReadMarkResult result;
        try {
            result = move_read_mark(*writer_, mark);
        } catch (const std::exception& error) {
            count_error();
            result.outcome = ReadMarkResult::Outcome::Failed;
            result.error = error.what();
        }
        done(std::move(result));
    });
}

std::vector<ReadState> SqliteStore::read_states(std::string_view user_name,
                                                const std::vector<std::string>& rooms,
                                                std::size_t unread_cap) {
    if (rooms.empty()) return {};
    auto states = read([&](Connection& db) {
        ReadSnapshot snapshot(db);
        return read_states_of(db, user_name, rooms, unread_cap);
    });
    const auto missing = detail::rooms_missing(rooms, states);
    if (missing.empty()) return states;
    // A room met for the first time (general, which nobody joins): the user starts at its end.
    auto started = write([&](Connection& db) {
        Query(db, kStartReadMarks)
            .bind(1, user_name)
            .bind(2, detail::json_string_array(missing))
            .run();
        return read_states_of(db, user_name, missing, unread_cap);
    });
    states.insert(states.end(), started.begin(), started.end());
    detail::sort_by_room(states);
    return states;
}

}  // namespace chatd::store
