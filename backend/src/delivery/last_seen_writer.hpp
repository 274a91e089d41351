#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "metrics/metrics.hpp"
#include "store/store.hpp"

namespace chatd::delivery {

// Stores when each user's last connection on this node closed (the directory's "last seen"),
// at a bounded write rate: what arrives within one `interval` after a write is gathered and
// written together, one transaction, one row per user (a user's later close replaces the
// earlier one, counted as chat_limit_hits_total{kind="last_seen_coalesced"}). A failed write is
// logged and retried with the next batch.
class LastSeenWriter {
  public:
    LastSeenWriter(store::Store& store,
                   metrics::Metrics& metrics,
                   std::chrono::milliseconds interval);
    ~LastSeenWriter();  // writes what is pending, then returns
    LastSeenWriter(const LastSeenWriter&) = delete;
    LastSeenWriter& operator=(const LastSeenWriter&) = delete;

    // Never waits for the store.
    void record(const std::string& user_name, std::int64_t at_ms);

  private:
    void run();
    void write(std::map<std::string, std::int64_t> batch);

    store::Store& store_;
    metrics::Metrics& metrics_;
    const std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::map<std::string, std::int64_t> pending_;  // guarded by mutex_
    bool stopping_ = false;                        // guarded by mutex_
    std::thread thread_;                           // last: starts once the members above exist
};

}  // namespace chatd::delivery
