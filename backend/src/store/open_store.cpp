#include "store/open_store.hpp"

#include <stdexcept>
#include <string_view>

#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"

namespace chatd::store {
namespace {

constexpr std::string_view kSqlitePrefix = "sqlite:";

bool is_postgres_url(std::string_view url) {
    return url.starts_with("postgresql://") || url.starts_with("postgres://");
}

}  // namespace

std::unique_ptr<Store> open_store(const std::string& url,
                                  const StoreTuning& tuning,
                                  metrics::Metrics* metrics) {
    if (url.starts_with(kSqlitePrefix)) {
        SqliteOptions options;
        options.path = url.substr(kSqlitePrefix.size());
        options.synchronous_full = tuning.sqlite_synchronous_full;
        options.read_connections = tuning.connections;
        options.max_batch = tuning.max_batch;
        return std::make_unique<SqliteStore>(std::move(options), metrics);
    }
    if (is_postgres_url(url)) {
        PostgresOptions options;
        options.conninfo = url;
        options.pool_size = tuning.connections;
        options.max_batch = tuning.max_batch;
        return std::make_unique<PostgresStore>(std::move(options), metrics);
    }
    const auto colon = url.find(':');
    const std::string scheme = colon == std::string::npos ? "(none)" : url.substr(0, colon + 1);
    throw std::invalid_argument("--db: unsupported store URL scheme " + scheme +
                                ": expected sqlite:PATH or postgresql://...");
}

}  // namespace chatd::store
