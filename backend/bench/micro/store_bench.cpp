// Google Benchmark of the SQLite store's group commit, without a network: what one durable
// append costs the writer thread. Each iteration queues `batch` appends (100 rooms, 100 users,
// a client_msg_id each, as chat-bench's durable-100 sends them) and waits for their callbacks.
// Counters: messages/s (wall) and writer_cpu_us_per_msg (CPU time of the thread named
// "chatd-store", from /proc), which other processes' load disturbs much less than wall time.
// Run: build/release/bench/chatd-store-bench [--benchmark_filter=...] (docs/benchmarks.md).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "model/clock.hpp"
#include "store/sqlite_store.hpp"

namespace {

using namespace chatd;
namespace fs = std::filesystem;

constexpr int kRooms = 100;

// utime + stime, in clock ticks, of this process's thread named `name`; -1 when there is none.
long thread_cpu_ticks(const std::string& name) {
    for (const auto& task : fs::directory_iterator("/proc/self/task")) {
        std::ifstream comm(task.path() / "comm");
        std::string thread_name;
        std::getline(comm, thread_name);
        if (thread_name != name) continue;
        std::ifstream stat_file(task.path() / "stat");
        std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
        // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
        std::istringstream fields(stat.substr(stat.rfind(')') + 2));
        std::string field;
        long utime = 0;
        long stime = 0;
        for (int index = 3; index <= 15 && fields >> field; ++index) {
            if (index == 14) utime = std::stol(field);
            if (index == 15) stime = std::stol(field);
        }
        return utime + stime;
    }
    return -1;
}

void BM_SqliteGroupCommit(benchmark::State& state) {
    const auto batch = static_cast<int>(state.range(0));
    const bool full = state.range(1) != 0;
    auto dir = fs::temp_directory_path() / ("chatd-store-bench-" + std::to_string(getpid()));
    fs::remove_all(dir);
    std::uint64_t total = 0;
    {
        store::SqliteOptions options;
        options.path = (dir / "bench.db").string();
        options.synchronous_full = full;
        options.max_batch = static_cast<std::size_t>(batch);
        store::SqliteStore store(options);
        for (int r = 0; r < kRooms; ++r) {
            store.create_room({"room" + std::to_string(r), false, "bench", 0});
        }
        const long ticks_before = thread_cpu_ticks("chatd-store");
        std::atomic<int> failed{0};
        for (auto _ : state) {
            for (int i = 0; i < batch; ++i, ++total) {
                const auto n = static_cast<int>(total % kRooms);
                store::NewMessage message;
                message.room = "room" + std::to_string(n);
                message.user_name = "user" + std::to_string(n);
                message.content = "cb 1 2 3 1234567890123 hello there, a message of about 60 b";
                message.sent_at = "27/11/2026 21:51:18";
                message.ts_ms = model::now_ms();
                message.client_msg_id = std::to_string(n) + "-" + std::to_string(total);
                store.append(std::move(message), [&failed](store::AppendResult result) {
                    if (!result.ok) failed.fetch_add(1, std::memory_order_relaxed);
                });
            }
            store.flush();
        }
        const long ticks = thread_cpu_ticks("chatd-store") - ticks_before;
        if (failed.load() != 0) state.SkipWithError("appends failed");
        state.SetItemsProcessed(static_cast<std::int64_t>(total));
        if (ticks >= 0 && total > 0) {
            state.counters["writer_cpu_us_per_msg"] = 1e6 * static_cast<double>(ticks) /
                                                      static_cast<double>(sysconf(_SC_CLK_TCK)) /
                                                      static_cast<double>(total);
        }
    }
    fs::remove_all(dir);
}
// Args: batch size, synchronous FULL (1) or NORMAL (0).
BENCHMARK(BM_SqliteGroupCommit)
    ->ArgsProduct({{1024, 4096}, {0, 1}})
    ->ArgNames({"batch", "full"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MinTime(3.0);
// A fixed amount of work (30 batches of 1,024 into a fresh database), for instruction counts:
// valgrind --tool=callgrind chatd-store-bench --benchmark_filter=Fixed
BENCHMARK(BM_SqliteGroupCommit)
    ->Name("BM_SqliteGroupCommitFixed")
    ->Args({1024, 0})
    ->Iterations(30)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
