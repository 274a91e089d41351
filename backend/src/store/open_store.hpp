#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "store/store.hpp"

namespace chatd::metrics {
class Metrics;
}  // namespace chatd::metrics

namespace chatd::store {

// Settings that apply to whichever backend the URL selects.
struct StoreTuning {
    // SQLite only: synchronous=FULL (true) or NORMAL (false).
    bool sqlite_synchronous_full = true;
    // SQLite: read-only connections; PostgreSQL: pooled connections for reads and other writes.
    std::size_t connections = 4;
    // Appends per group commit. 4096 rather than 1024: the hot index pages of a commit are
    // written (and synced) once for 4x the messages, ~20% less writer CPU per message in
    // durable-100.
    std::size_t max_batch = 4096;
};

// Opens the store a --db URL names:
//   sqlite:PATH                      SqliteStore on the file PATH (parent directories created)
//   postgresql://... | postgres://... PostgresStore; the URL is handed to libpq as is
// Throws std::invalid_argument for any other form (the message names the scheme only: URLs may
// hold passwords) and StoreError when the backend cannot open. `metrics` may be null;
// otherwise it must outlive the store.
std::unique_ptr<Store> open_store(const std::string& url,
                                  const StoreTuning& tuning,
                                  metrics::Metrics* metrics);

}  // namespace chatd::store
