#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "store/group_commit_writer.hpp"
#include "store/postgres_connection.hpp"

namespace chatd::store::detail {

// PostgreSQL's part of the group commit: a batch in one transaction on the writer connection,
// its rooms locked first so that ids increase in commit order within a room across nodes (see
// postgres_appends.cpp). A lost connection is reopened before the next batch, with backoff
// while the server stays away.
class PostgresAppends final : public AppendCommitter {
  public:
    explicit PostgresAppends(std::unique_ptr<PgConnection> writer) : writer_(std::move(writer)) {}

    // Throws WriterUnavailable when the connection is lost or cannot be reopened yet.
    std::vector<AppendResult> commit(const std::vector<NewMessage*>& messages) override;

  private:
    using Clock = std::chrono::steady_clock;

    // The writer connection, reconnected if it was lost. Throws WriterUnavailable while the
    // server is unreachable (backoff: at most one connection attempt per interval, none in
    // between).
    PgConnection& connection();

    std::unique_ptr<PgConnection> writer_;
    Clock::time_point next_reconnect_{};
    Clock::duration reconnect_backoff_{};
    std::string last_connect_error_;
};

}  // namespace chatd::store::detail
