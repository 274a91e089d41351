#include "store/postgres_store.hpp"

#include <algorithm>
#include <exception>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "metrics/metrics.hpp"
#include "model/clock.hpp"
#include "store/embedded_migrations.hpp"
#include "store/group_commit_writer.hpp"
#include "store/postgres_appends.hpp"
#include "store/postgres_connection.hpp"
#include "store/read_state_rows.hpp"
#include "store/schema_codes.hpp"

namespace chatd::store {
namespace {

using detail::kBegin;
using detail::kForeignKeyViolation;
using detail::kRollback;
using detail::messages_from;
using detail::param;
using detail::Params;
using detail::PgConnection;
using detail::PgError;
using detail::Rows;

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

constexpr const char* kUnpublished =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE origin_node = $1 AND NOT published ORDER BY id ASC LIMIT $2::bigint";
constexpr const char* kMarkPublished =
    "UPDATE messages SET published = TRUE WHERE id = ANY ($1::bigint[]) AND NOT published";
// Newest and before= pages: visible rows only, through messages_visible_by_room (`kind < 3`
// repeats its predicate so the planner can prove the partial index applies).
constexpr const char* kHistoryNewest =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE room = $1 AND kind < 3 ORDER BY id DESC LIMIT $2::bigint";
constexpr const char* kHistoryBefore =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE room = $1 AND kind < 3 AND id < $2::bigint"
    " ORDER BY id DESC LIMIT $3::bigint";
// after= pages: every row, changes included, so a client can apply them in order.
constexpr const char* kHistoryAfter =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE room = $1 AND id > $2::bigint ORDER BY id ASC LIMIT $3::bigint";
// A thread's replies, through messages_replies.
constexpr const char* kThreadNewest =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE reply_to = $1::bigint AND reply_to <> 0 AND room = $2 AND kind = 0"
    " ORDER BY id DESC LIMIT $3::bigint";
constexpr const char* kThreadBefore =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE reply_to = $1::bigint AND reply_to <> 0 AND room = $2 AND kind = 0"
    " AND id < $3::bigint ORDER BY id DESC LIMIT $4::bigint";
constexpr const char* kThreadAfter =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE reply_to = $1::bigint AND reply_to <> 0 AND room = $2 AND kind = 0"
    " AND id > $3::bigint ORDER BY id ASC LIMIT $4::bigint";
constexpr const char* kFindVisible =
    "SELECT " CHATD_MESSAGE_COLUMNS
    " FROM messages m WHERE id = $1::bigint AND room = $2 AND kind < 3";
// The reactions of a page's messages ($1: a bigint[] of ids), one query whatever its length.
constexpr const char* kReactionsOf =
    "SELECT message_id, emoji, user_name FROM reactions"
    " WHERE message_id = ANY ($1::bigint[]) ORDER BY message_id, change_id";
// The room's highest id of any kind: a page's as_of.
constexpr const char* kRoomAsOf =
    "SELECT COALESCE((SELECT id FROM messages WHERE room = $1 ORDER BY id DESC LIMIT 1), 0)";
// Every statement of a page reads one snapshot, so rows, reactions and as_of agree.
constexpr const char* kBeginSnapshot = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

constexpr const char* kInsertUser =
    "INSERT INTO users (name, password_hash, created_ms, name_key)"
    " VALUES ($1, $2, $3::bigint, $4) ON CONFLICT (name) DO NOTHING";
constexpr const char* kFindUser =
    "SELECT name, password_hash, created_ms, name_key FROM users WHERE name = $1";
constexpr const char* kClaimNameKey =
    "INSERT INTO user_name_keys (name_key, user_name) VALUES ($1, $2)"
    " ON CONFLICT (name_key) DO NOTHING";
constexpr const char* kNameKeyHolder = "SELECT user_name FROM user_name_keys WHERE name_key = $1";
// U+10FFFF in UTF-8: appended to a prefix, the end of the range of the strings starting with it.
constexpr const char* kHighestCodePoint = "\xF4\x8F\xBF\xBF";
// The people directory. A search reads two index ranges (name folds, display name folds), each
// from the prefix up to the prefix followed by U+10FFFF, the highest code point.
constexpr const char* kAddPerson =
    "INSERT INTO people (name, name_fold, created_ms) VALUES ($1, $2, $3::bigint)"
    " ON CONFLICT (name) DO UPDATE SET name_fold = excluded.name_fold"
    " WHERE people.name_fold <> excluded.name_fold";
constexpr const char* kRecordLastSeen =
    "INSERT INTO people (name, name_fold, last_seen_ms, created_ms) VALUES ($1, $2, $3::bigint, "
    "$3::bigint)"
    " ON CONFLICT (name) DO UPDATE SET last_seen_ms = GREATEST(people.last_seen_ms, "
    "excluded.last_seen_ms)";
constexpr const char* kSetDisplayName =
    "INSERT INTO people (name, name_fold, display_name, display_fold, created_ms)"
    " VALUES ($1, $2, $3, $4, $5::bigint) ON CONFLICT (name) DO UPDATE"
    " SET display_name = excluded.display_name, display_fold = excluded.display_fold";
constexpr const char* kFindPerson =
    "SELECT name, display_name, last_seen_ms, created_ms FROM people WHERE name = $1";
constexpr const char* kAllPeople =
    "SELECT name, display_name, last_seen_ms, created_ms FROM people WHERE name > $1"
    " ORDER BY name LIMIT $2::bigint";
constexpr const char* kSearchPeople =
    "SELECT name, display_name, last_seen_ms, created_ms FROM people WHERE name IN ("
    " SELECT name FROM people WHERE name_fold >= $1 AND name_fold < $2 AND name > $3"
    " UNION SELECT name FROM people WHERE display_fold >= $1 AND display_fold < $2 AND name > $3)"
    " ORDER BY name LIMIT $4::bigint";
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
    "INSERT INTO sessions (token_hash, user_name, expires_ms, public_id, created_ms, "
    "last_used_ms, user_agent, address) VALUES ($1, $2, $3::bigint, NULLIF($4, ''), $5::bigint, "
    "$6::bigint, "
    "$7, $8)";
constexpr const char* kFindSession =
    "SELECT token_hash, user_name, expires_ms, public_id, created_ms, last_used_ms, user_agent,"
    " address FROM sessions WHERE token_hash = $1 AND expires_ms > $2::bigint";
constexpr const char* kUserSessions =
    "SELECT token_hash, user_name, expires_ms, public_id, created_ms, last_used_ms, user_agent,"
    " address FROM sessions WHERE user_name = $1 AND expires_ms > $2::bigint"
    " ORDER BY created_ms DESC, expires_ms DESC, public_id";
constexpr const char* kDeleteSessionById =
    "DELETE FROM sessions WHERE user_name = $1 AND public_id = $2 RETURNING token_hash";
constexpr const char* kTouchSession =
    "UPDATE sessions SET last_used_ms = $2::bigint WHERE token_hash = $1"
    " AND last_used_ms < $2::bigint";

// A row of kFindSession or kUserSessions.
Session session_of(const Rows& rows, int row) {
    return Session{rows.text(row, 0), rows.text(row, 1),    rows.integer(row, 2),
                   rows.text(row, 3), rows.integer(row, 4), rows.integer(row, 5),
                   rows.text(row, 6), rows.text(row, 7)};
}
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

// A new member's read mark starts at the room's newest id (the `n` subqueries, as kRoomAsOf),
// replacing one left from before (docs/design/storage.md "Read state"); leaving deletes it.
constexpr const char* kInsertMember =
    "WITH joined AS (INSERT INTO members (room, user_name) VALUES ($1, $2)"
    " ON CONFLICT (room, user_name) DO NOTHING RETURNING room, user_name)"
    " INSERT INTO read_marks (user_name, room, last_read_id)"
    " SELECT user_name, room,"
    " COALESCE((SELECT id FROM messages n WHERE n.room = joined.room ORDER BY id DESC LIMIT 1), 0)"
    " FROM joined ON CONFLICT (user_name, room) DO UPDATE SET last_read_id = EXCLUDED.last_read_id";
constexpr const char* kDeleteMember =
    "WITH left_room AS (DELETE FROM members WHERE room = $1 AND user_name = $2)"
    " DELETE FROM read_marks WHERE room = $1 AND user_name = $2";
// Marks for the rooms of $2 (a JSON array) that exist and have none yet, at their newest id.
constexpr const char* kStartReadMarks =
    "INSERT INTO read_marks (user_name, room, last_read_id)"
    " SELECT $1, r.name,"
    " COALESCE((SELECT id FROM messages n WHERE n.room = r.name ORDER BY id DESC LIMIT 1), 0)"
    " FROM rooms r WHERE r.name IN (SELECT json_array_elements_text($2::json))"
    " ON CONFLICT (user_name, room) DO NOTHING";
// Each room's mark, its unread count (at most $3, through messages_unread) and its newest id:
// one query for every room.
constexpr const char* kReadStates =
    "SELECT r.room, r.last_read_id, counted.unread,"
    " COALESCE((SELECT id FROM messages n WHERE n.room = r.room ORDER BY id DESC LIMIT 1), 0),"
    " mentioned.mentions"
    " FROM read_marks r"
    " CROSS JOIN LATERAL (SELECT COUNT(*) AS unread FROM (SELECT 1 FROM messages m"
    " WHERE m.room = r.room AND m.kind = 0 AND NOT m.deleted AND m.id > r.last_read_id"
    " AND m.user_name <> r.user_name LIMIT $3::bigint) c) counted"
    " CROSS JOIN LATERAL (SELECT COUNT(*) AS mentions FROM (SELECT 1 FROM mentions mn"
    " JOIN messages m ON m.id = mn.message_id WHERE mn.user_name = r.user_name"
    " AND mn.room = r.room AND mn.message_id > r.last_read_id AND NOT m.deleted"
    " LIMIT $3::bigint) c) mentioned"
    " WHERE r.user_name = $1 AND r.room IN (SELECT json_array_elements_text($2::json))"
    " ORDER BY r.room";
// Forward only: a lower id returns no row.
constexpr const char* kMoveReadMark =
    "INSERT INTO read_marks (user_name, room, last_read_id) VALUES ($1, $2, $3::bigint)"
    " ON CONFLICT (user_name, room) DO UPDATE SET last_read_id = EXCLUDED.last_read_id"
    " WHERE read_marks.last_read_id < EXCLUDED.last_read_id RETURNING last_read_id";
constexpr const char* kMarkAllRead =
    "UPDATE read_marks r SET last_read_id = latest.newest FROM (SELECT rm.room,"
    " COALESCE((SELECT id FROM messages n WHERE n.room = rm.room ORDER BY id DESC LIMIT 1), 0)"
    " AS newest FROM read_marks rm WHERE rm.user_name = $1) latest"
    " WHERE r.user_name = $1 AND r.room = latest.room AND r.last_read_id < latest.newest"
    " RETURNING r.room, r.last_read_id";
constexpr const char* kIsMember = "SELECT 1 FROM members WHERE room = $1 AND user_name = $2";
constexpr const char* kRoomsOf = "SELECT room FROM members WHERE user_name = $1 ORDER BY room";
constexpr const char* kMembersOf =
    "SELECT user_name FROM members WHERE room = $1 ORDER BY user_name";
// read_marks.user_name is COLLATE "C": byte order, as SQLite compares, served by
// read_marks_by_room.
constexpr const char* kRoomMembers =
    "SELECT user_name FROM read_marks WHERE room = $1 AND user_name > $2"
    " ORDER BY user_name LIMIT $3::bigint";

constexpr int kMaxHistoryLimit = 1000;
static_assert(detail::versions_strictly_increase(embedded::kPostgresMigrations),
              "migration versions must strictly increase");

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

}  // namespace

PostgresStore::PostgresStore(PostgresOptions options, metrics::Metrics* metrics)
    : options_(std::move(options)), metrics_(metrics) {
    options_.pool_size = std::max<std::size_t>(options_.pool_size, 1);
    if (options_.conninfo.empty()) {
        // libpq would fall back to PG* environment variables and a local socket: refuse.
        throw StoreError("postgres: the connection string is empty");
    }

    auto writer = std::make_unique<Connection>(options_.conninfo, "chatd-writer");
    migrate(*writer);
    for (std::size_t i = 0; i < options_.pool_size; ++i) {
        pool_.push_back(std::make_unique<Connection>(options_.conninfo, "chatd-pool"));
        free_connections_.push_back(pool_.back().get());
    }

    appends_ = std::make_unique<detail::PostgresAppends>(std::move(writer));
    group_commit_ =
        std::make_unique<GroupCommitWriter>(*appends_, options_.max_batch, metrics_, "chatd-store");
}

PostgresStore::~PostgresStore() {
    group_commit_.reset();
    pool_.clear();
    appends_.reset();
}

void PostgresStore::append(NewMessage message, std::function<void(AppendResult)> done) {
    group_commit_->append(std::move(message), std::move(done));
}

void PostgresStore::flush() {
    group_commit_->flush();
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

namespace {

// A bigint[] literal: digits and commas only, bound as one parameter.
template <typename Ids>
std::string bigint_array(const Ids& ids) {
    std::string array = "{";
    for (const auto id : ids) {
        if (array.size() > 1) array += ',';
        array += std::to_string(id);
    }
    return array + '}';
}

// Adds their reactions to the page's messages: one query for the whole page.
void add_reactions(PgConnection& db, std::vector<model::Message>& messages) {
    const auto holders = detail::reaction_holders(messages);
    if (holders.empty()) return;
    std::vector<model::MessageId> ids;
    ids.reserve(holders.size());
    for (const auto& [id, index] : holders) ids.push_back(id);
    const auto rows = db.exec(kReactionsOf, {bigint_array(ids)});
    for (int row = 0; row < rows.size(); ++row) {
        detail::fold_reaction(messages[holders.at(rows.integer(row, 0))], rows.text(row, 1),
                              rows.text(row, 2));
    }
}

// Runs `read` in one REPEATABLE READ READ ONLY transaction, then as_of from the same snapshot.
template <typename Read>
HistoryPage in_one_snapshot(PgConnection& db, std::string_view room, Read read) {
    return db.transaction(
        [&] {
            HistoryPage page;
            page.messages = read();
            add_reactions(db, page.messages);
            page.as_of = db.exec(kRoomAsOf, {std::string(room)}).integer(0, 0);
            return page;
        },
        kBeginSnapshot);
}

void check_cursors(const HistoryQuery& query) {
    if (query.before && query.after) {
        throw std::invalid_argument("history: before and after are mutually exclusive");
    }
}

}  // namespace

HistoryPage PostgresStore::page(const HistoryQuery& query) {
    check_cursors(query);
    const std::int64_t limit = std::clamp(query.limit, 1, kMaxHistoryLimit);
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        return in_one_snapshot(db, query.room, [&] {
            if (query.after) {
                return messages_from(
                    db.exec(kHistoryAfter, {query.room, param(*query.after), param(limit)}));
            }
            auto messages =
                query.before
                    ? messages_from(
                          db.exec(kHistoryBefore, {query.room, param(*query.before), param(limit)}))
                    : messages_from(db.exec(kHistoryNewest, {query.room, param(limit)}));
            std::reverse(messages.begin(), messages.end());  // fetched newest first
            return messages;
        });
    });
}

std::optional<HistoryPage> PostgresStore::find_message(std::string_view room, model::MessageId id) {
    auto page = pooled(OnLostConnection::Retry, [&](Connection& db) {
        return in_one_snapshot(db, room, [&] {
            return messages_from(db.exec(kFindVisible, {param(id), std::string(room)}));
        });
    });
    if (page.messages.empty()) return std::nullopt;
    return page;
}

HistoryPage PostgresStore::thread(const HistoryQuery& query, model::MessageId root) {
    check_cursors(query);
    const std::int64_t limit = std::clamp(query.limit, 1, kMaxHistoryLimit);
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        return in_one_snapshot(db, query.room, [&] {
            if (query.after) {
                return messages_from(db.exec(
                    kThreadAfter, {param(root), query.room, param(*query.after), param(limit)}));
            }
            auto messages =
                query.before
                    ? messages_from(db.exec(kThreadBefore, {param(root), query.room,
                                                            param(*query.before), param(limit)}))
                    : messages_from(
                          db.exec(kThreadNewest, {param(root), query.room, param(limit)}));
            std::reverse(messages.begin(), messages.end());  // fetched newest first
            return messages;
        });
    });
}

std::vector<model::Message> PostgresStore::unpublished(std::string_view origin_node,
                                                       std::size_t limit) {
    const auto bounded = static_cast<std::int64_t>(
        std::min<std::size_t>(limit, std::numeric_limits<std::int64_t>::max()));
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        auto messages =
            messages_from(db.exec(kUnpublished, {std::string(origin_node), param(bounded)}));
        for (auto& message : messages) detail::clear_folded_state(message);
        return messages;
    });
}

void PostgresStore::mark_published(const std::vector<model::MessageId>& ids) {
    if (ids.empty()) return;
    const std::string array = bigint_array(ids);
    pooled(OnLostConnection::Retry, [&](Connection& db) { db.exec(kMarkPublished, {array}); });
}

bool PostgresStore::create_user(const User& user) {
    // Not retried: if the lost connection had committed the insert, a retry would say "taken".
    // The user and its key in one transaction: a concurrent registration of a look-alike waits
    // on the key's primary key until this one ends, then finds it taken.
    return pooled(OnLostConnection::Fail, [&](Connection& db) {
        return db.transaction([&] {
            bool created = db.exec(kInsertUser, {user.name, user.password_hash,
                                                 param(user.created_ms), user.name_key})
                               .affected() == 1;
            if (created && !user.name_key.empty()) {
                created = db.exec(kClaimNameKey, {user.name_key, user.name}).affected() == 1;
            }
            if (!created) db.run(kRollback);
            return created;
        });
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
        return db.transaction([&] {
            db.exec(kSetNameKey, {user, key});
            db.exec(kClaimNameKey, {key, user});
            const auto holder = db.exec(kNameKeyHolder, {key});
            const bool holds = !holder.empty() && holder.text(0, 0) == user;
            return holds;
        });
    });
}

void PostgresStore::add_person(std::string_view name,
                               std::string_view name_fold,
                               std::int64_t now_ms) {
    pooled(OnLostConnection::Retry, [&](Connection& db) {
        db.exec(kAddPerson, {std::string(name), std::string(name_fold), param(now_ms)});
    });
}

namespace {
template <typename Rows>
std::vector<Person> people_from_rows(const Rows& rows) {
    std::vector<Person> found;
    found.reserve(static_cast<std::size_t>(rows.size()));
    for (int row = 0; row < rows.size(); ++row) {
        found.push_back(Person{rows.text(row, 0), rows.text(row, 1), rows.integer(row, 2),
                               rows.integer(row, 3)});
    }
    return found;
}
}  // namespace

std::vector<Person> PostgresStore::people(const PeopleQuery& query) {
    const auto limit = static_cast<std::int64_t>(
        std::min<std::size_t>(query.limit, std::numeric_limits<std::int64_t>::max()));
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        if (query.prefix_fold.empty()) {
            return people_from_rows(db.exec(kAllPeople, {query.after, param(limit)}));
        }
        return people_from_rows(db.exec(
            kSearchPeople,
            {query.prefix_fold, query.prefix_fold + kHighestCodePoint, query.after, param(limit)}));
    });
}

std::optional<Person> PostgresStore::find_person(std::string_view name) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) -> std::optional<Person> {
        auto found = people_from_rows(db.exec(kFindPerson, {std::string(name)}));
        if (found.empty()) return std::nullopt;
        return std::move(found.front());
    });
}

void PostgresStore::record_last_seen(const std::vector<LastSeen>& seen) {
    if (seen.empty()) return;
    // Idempotent (last_seen_ms only moves forward): a retry after a lost connection is safe.
    pooled(OnLostConnection::Retry, [&](Connection& db) {
        db.transaction([&] {
            for (const auto& person : seen) {
                db.exec(kRecordLastSeen, {person.name, person.name_fold, param(person.ms)});
            }
        });
    });
}

void PostgresStore::set_display_name(const LastSeen& person,
                                     std::string_view display_name,
                                     std::string_view display_fold) {
    pooled(OnLostConnection::Retry, [&](Connection& db) {
        db.exec(kSetDisplayName, {person.name, person.name_fold, std::string(display_name),
                                  std::string(display_fold), param(person.ms)});
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
        return db.transaction([&] {
            std::vector<LoginFailures> counts;
            counts.reserve(keys.size());
            for (const auto& key : keys) {
                const auto rows =
                    db.exec(kAddLoginFailure, {key, param(now_ms), param(forget_before_ms)});
                counts.push_back(LoginFailures{rows.integer(0, 0), rows.integer(0, 1)});
            }
            return counts;
        });
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
        db.exec(kInsertSession, {session.token_hash, session.user_name, param(session.expires_ms),
                                 session.public_id, param(session.created_ms),
                                 param(session.last_used_ms), session.user_agent, session.address});
    });
}

std::optional<Session> PostgresStore::find_session(std::string_view token_hash,
                                                   std::int64_t now_ms) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) -> std::optional<Session> {
        const auto rows = db.exec(kFindSession, {std::string(token_hash), param(now_ms)});
        if (rows.empty()) return std::nullopt;
        return session_of(rows, 0);
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

std::vector<Session> PostgresStore::user_sessions(std::string_view user_name, std::int64_t now_ms) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        const auto rows = db.exec(kUserSessions, {std::string(user_name), param(now_ms)});
        std::vector<Session> sessions;
        for (int i = 0; i < rows.size(); ++i) sessions.push_back(session_of(rows, i));
        return sessions;
    });
}

std::optional<std::string> PostgresStore::delete_session_by_id(std::string_view user_name,
                                                               std::string_view public_id) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) -> std::optional<std::string> {
        const auto rows =
            db.exec(kDeleteSessionById, {std::string(user_name), std::string(public_id)});
        if (rows.empty()) return std::nullopt;
        return rows.text(0, 0);
    });
}

void PostgresStore::touch_session(std::string_view token_hash, std::int64_t used_ms) {
    pooled(OnLostConnection::Retry, [&](Connection& db) {
        db.exec(kTouchSession, {std::string(token_hash), param(used_ms)});
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

std::vector<std::string> PostgresStore::room_members(std::string_view room,
                                                     std::string_view after,
                                                     std::size_t limit) {
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        return first_column(db.exec(kRoomMembers, {std::string(room), std::string(after),
                                                   param(static_cast<std::int64_t>(limit))}));
    });
}

namespace {

std::vector<ReadState> read_states_of(PgConnection& db,
                                      std::string_view user_name,
                                      const std::vector<std::string>& rooms,
                                      std::size_t cap) {
    const auto rows =
        db.exec(kReadStates, {std::string(user_name), detail::json_string_array(rooms),
                              param(detail::unread_count_limit(cap))});
    std::vector<ReadState> states;
    states.reserve(static_cast<std::size_t>(rows.size()));
    for (int row = 0; row < rows.size(); ++row) {
        states.push_back(detail::read_state_of(rows.text(row, 0), rows.integer(row, 1),
                                               rows.integer(row, 2), rows.integer(row, 3), cap,
                                               rows.integer(row, 4)));
    }
    return states;
}

ReadMarkResult move_read_mark(PgConnection& db, const ReadMark& mark) {
    using Outcome = ReadMarkResult::Outcome;
    return db.transaction([&] {
        ReadMarkResult result;
        if (mark.room.empty()) {
            const auto rows = db.exec(kMarkAllRead, {mark.user_name});
            for (int row = 0; row < rows.size(); ++row) {
                const auto newest = rows.integer(row, 1);
                result.states.push_back(ReadState{rows.text(row, 0), newest, 0, false, newest, 0});
            }
            detail::sort_by_room(result.states);
            result.outcome = result.states.empty() ? Outcome::Unchanged : Outcome::Moved;
        } else if (mark.up_to > db.exec(kRoomAsOf, {mark.room}).integer(0, 0)) {
            result.outcome = Outcome::BeyondNewest;
        } else {
            const auto moved =
                db.exec(kMoveReadMark, {mark.user_name, mark.room, param(mark.up_to)});
            result.outcome = moved.empty() ? Outcome::Unchanged : Outcome::Moved;
            result.states = read_states_of(db, mark.user_name, {mark.room}, mark.unread_cap);
        }
        return result;
    });
}

}  // namespace

void PostgresStore::mark_read(ReadMark mark, std::function<void(ReadMarkResult)> done) {
    // Queued on the writer thread so that the caller never waits; it runs on a pooled connection
    // (the writer's own is the appends'), one short transaction between two group commits.
    group_commit_->post([this, mark = std::move(mark), done = std::move(done)] {
        ReadMarkResult result;
        try {
            // Not retried on a lost connection: a second run would answer Unchanged.
            result = pooled(OnLostConnection::Fail,
                            [&mark](Connection& db) { return move_read_mark(db, mark); });
        } catch (const std::exception& error) {
            result.outcome = ReadMarkResult::Outcome::Failed;
            result.error = error.what();
        }
        done(std::move(result));
    });
}

std::vector<ReadState> PostgresStore::read_states(std::string_view user_name,
                                                  const std::vector<std::string>& rooms,
                                                  std::size_t unread_cap) {
    if (rooms.empty()) return {};
    return pooled(OnLostConnection::Retry, [&](Connection& db) {
        auto states = read_states_of(db, user_name, rooms, unread_cap);
        const auto missing = detail::rooms_missing(rooms, states);
        if (missing.empty()) return states;
        // A room met for the first time (general, which nobody joins): the user starts at its end.
        db.exec(kStartReadMarks, {std::string(user_name), detail::json_string_array(missing)});
        auto started = read_states_of(db, user_name, missing, unread_cap);
        states.insert(states.end(), started.begin(), started.end());
        detail::sort_by_room(states);
        return states;
    });
}

}  // namespace chatd::store
