#pragma once

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "model/message.hpp"
#include "store/schema_codes.hpp"
#include "store/store.hpp"

namespace chatd::store::detail {

// Every chatd session: a node that stalls inside a transaction (stopped process, lost network)
// is disconnected by the server after this long, which releases its room locks, so it cannot
// block the other nodes' appends for longer. chatd itself never idles inside a transaction.
inline constexpr const char* kSessionIdleTimeout =
    "SET idle_in_transaction_session_timeout = '30s'";

inline constexpr const char* kBegin = "BEGIN";
inline constexpr const char* kCommit = "COMMIT";
inline constexpr const char* kRollback = "ROLLBACK";

// SQLSTATEs chatd reacts to.
inline constexpr std::string_view kForeignKeyViolation = "23503";

// libpq messages end with a newline (sometimes several lines); keep them on one log line.
inline std::string one_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text;
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

inline std::string param(std::int64_t value) {
    return std::to_string(value);
}
inline std::string param(bool value) {
    return value ? "t" : "f";
}

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

    // Runs `body` in one transaction (`begin` ... COMMIT) and returns what it returns; if it
    // throws, rolls back and rethrows, so a pooled connection never goes back inside a
    // transaction. A body may end the transaction itself with kRollback to refuse without an
    // error: nothing is left to commit then.
    template <class Body>
    auto transaction(Body&& body, const char* begin = kBegin) -> decltype(body()) {
        run(begin);
        try {
            if constexpr (std::is_void_v<decltype(body())>) {
                body();
                if (in_transaction()) commit();
            } else {
                auto result = body();
                if (in_transaction()) commit();
                return result;
            }
        } catch (...) {
            rollback_quietly();
            throw;
        }
    }

    bool in_transaction() const {
        if (conn_ == nullptr) return false;
        const auto status = PQtransactionStatus(conn_);
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR;
    }

    // Ends a transaction that is still open after a failure; never throws.
    void rollback_quietly() noexcept {
        if (PQstatus(conn_) == CONNECTION_OK && in_transaction()) PQclear(PQexec(conn_, kRollback));
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

inline model::Message message_from_row(const Rows& rows, int row) {
    model::Message message;
    message.id = rows.integer(row, 0);
    message.room = rows.text(row, 1);
    message.user_name = rows.text(row, 2);
    message.content = rows.text(row, 3);
    message.sent_at = rows.text(row, 4);
    message.ts_ms = rows.integer(row, 5);
    message.client_msg_id = rows.text(row, 6);
    message.kind = kind_from_db(rows.integer(row, 7));
    message.prev_id = rows.integer(row, 8);
    message.target_id = rows.integer(row, 9);
    message.reply_to = rows.integer(row, 10);
    message.edited_ms = rows.integer(row, 11);
    message.deleted = rows.boolean(row, 12);
    message.reply_count = rows.integer(row, 13);
    message.last_reply_ms = rows.integer(row, 14);
    message.mentions = mentions_from_db(rows.text(row, 15));
    message.mentions_room = rows.boolean(row, 16);
    return message;
}

inline std::vector<model::Message> messages_from(const Rows& rows) {
    std::vector<model::Message> messages;
    messages.reserve(static_cast<std::size_t>(rows.size()));
    for (int row = 0; row < rows.size(); ++row) messages.push_back(message_from_row(rows, row));
    return messages;
}

}  // namespace chatd::store::detail
