#pragma once

#include <sqlite3.h>

#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_connection.hpp"
#include "work/batch_queue.hpp"

namespace chatd::store::detail {

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

    // Opens its connection and starts its thread. Throws StoreError.
    WalCheckpointer(const std::string& path, bool synchronous_full, int busy_timeout_ms);
    ~WalCheckpointer();

    WalCheckpointer(const WalCheckpointer&) = delete;
    WalCheckpointer& operator=(const WalCheckpointer&) = delete;

    // Replaces SQLite's automatic checkpoint on `writer` (which would run inside COMMIT).
    void attach(sqlite3* writer);

  private:
    struct Request {};

    static int on_commit(void* self, sqlite3* writer, const char* schema, int wal_pages);
    void run();

    SqliteConnection db_;
    // Requests not yet served; one is enough, so a full queue drops the next.
    work::BatchQueue<Request> requests_{1};
    std::thread thread_;  // last: starts after everything above exists
};

}  // namespace chatd::store::detail
