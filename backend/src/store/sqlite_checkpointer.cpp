#include "store/sqlite_checkpointer.hpp"

#include <pthread.h>

namespace chatd::store::detail {

WalCheckpointer::WalCheckpointer(const std::string& path,
                                 bool synchronous_full,
                                 int busy_timeout_ms)
    : db_(path, SQLITE_OPEN_READWRITE, busy_timeout_ms) {
    if (sqlite3_exec(db_.handle(),
                     synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                     nullptr, nullptr, nullptr) != SQLITE_OK) {
        db_.fail("checkpointer");
    }
    thread_ = std::thread([this] { run(); });
}

WalCheckpointer::~WalCheckpointer() {
    requests_.close();
    thread_.join();
}

void WalCheckpointer::attach(sqlite3* writer) {
    sqlite3_wal_hook(writer, &WalCheckpointer::on_commit, this);
}

int WalCheckpointer::on_commit(void* self, sqlite3* writer, const char* schema, int wal_pages) {
    if (wal_pages >= kWriterCheckpointPages) {
        sqlite3_wal_checkpoint_v2(writer, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (wal_pages >= kThresholdPages) {
        Request request;
        static_cast<WalCheckpointer*>(self)->requests_.try_push(request);
    }
    return SQLITE_OK;
}

void WalCheckpointer::run() {
    pthread_setname_np(pthread_self(), "chatd-ckpt");
    std::vector<Request> requests;
    while (requests_.take(requests)) {
        requests.clear();
        // SQLITE_BUSY (another checkpoint, e.g. another process) is retried on the next
        // request; the WAL stays valid meanwhile.
        sqlite3_wal_checkpoint_v2(db_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr,
                                  nullptr);
    }
}

}  // namespace chatd::store::detail
