#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>

#include "model/message.hpp"
#include "store/schema_codes.hpp"
#include "store/store.hpp"

namespace chatd::store::detail {

// IMMEDIATE takes the write lock up front, so a batch never fails half-way on a lock upgrade.
inline constexpr const char* kBeginImmediate = "BEGIN IMMEDIATE";
inline constexpr const char* kCommit = "COMMIT";
inline constexpr const char* kRollback = "ROLLBACK";

struct TransparentHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const noexcept {
        return std::hash<std::string_view>{}(text);
    }
};

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

inline model::Message message_from_row(const Query& row) {
    model::Message message;
    message.id = row.integer(0);
    message.room = row.text(1);
    message.user_name = row.text(2);
    message.content = row.text(3);
    message.sent_at = row.text(4);
    message.ts_ms = row.integer(5);
    message.client_msg_id = row.text(6);
    message.kind = kind_from_db(row.integer(7));
    message.prev_id = row.integer(8);
    message.target_id = row.integer(9);
    message.reply_to = row.integer(10);
    message.edited_ms = row.integer(11);
    message.deleted = row.integer(12) != 0;
    message.reply_count = row.integer(13);
    message.last_reply_ms = row.integer(14);
    message.mentions = mentions_from_db(row.text(15));
    message.mentions_room = row.integer(16) != 0;
    return message;
}

inline void execute(SqliteConnection& db, const char* sql) {
    Query(db, sql).run();
}

// Runs `body` in one write transaction (BEGIN IMMEDIATE ... COMMIT) and returns what it returns;
// if it throws, rolls back and rethrows. A body may end the transaction itself with kRollback to
// refuse without an error: nothing is left to commit then.
template <class Body>
auto write_transaction(SqliteConnection& db, Body&& body) -> decltype(body()) {
    execute(db, kBeginImmediate);
    try {
        if constexpr (std::is_void_v<decltype(body())>) {
            body();
            if (db.in_transaction()) execute(db, kCommit);
        } else {
            auto result = body();
            if (db.in_transaction()) execute(db, kCommit);
            return result;
        }
    } catch (...) {
        db.rollback_quietly();
        throw;
    }
}

}  // namespace chatd::store::detail
