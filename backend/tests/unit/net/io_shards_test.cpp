#include "net/io_shards.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

namespace chatd::net {
namespace {

// A handler that throws (an allocation failure included) is reported and the shard runs on:
// the handlers queued after it still run, and run() returns only at stop().
TEST(IoShards, AnExceptionFromAHandlerIsReportedAndTheShardRunsOn) {
    IoShards shards(2);
    std::vector<std::string> reported;
    std::mutex mutex;
    shards.on_exception([&](const char* what) {
        std::lock_guard lock(mutex);
        reported.emplace_back(what);
    });
    std::atomic<int> after{0};
    for (std::size_t shard = 0; shard < 2; ++shard) {
        asio::post(shards.context(shard), [] { throw std::bad_alloc(); });
        asio::post(shards.context(shard), [] { throw std::runtime_error("boom"); });
        asio::post(shards.context(shard), [&] {
            if (after.fetch_add(1) + 1 == 2) shards.stop();
        });
    }
    shards.run();
    EXPECT_EQ(after.load(), 2);
    std::lock_guard lock(mutex);
    EXPECT_EQ(reported.size(), 4u);
}

}  // namespace
}  // namespace chatd::net
