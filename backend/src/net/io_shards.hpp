#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "chat/sink.hpp"
#include "net/asio.hpp"

namespace chatd::net {

// The I/O threads: one io_context each, run by one thread, so every handler of a connection
// (its socket lives on one shard) runs on that thread, in order, without a strand. The hub hands
// a shard all the deliveries to its connections in one run_on (chat::ShardRunner).
class IoShards final : public chat::ShardRunner {
  public:
    explicit IoShards(std::size_t count)
        : queued_(std::make_unique<std::atomic<std::size_t>[]>(std::max<std::size_t>(1, count))) {
        for (std::size_t i = 0; i < std::max<std::size_t>(1, count); ++i) {
            // Not the concurrency hint 1: with it, fan-outs written from run_on work stalled
            // connections' reads for up to seconds at 100 messages/s
            // (docs/design/websocket.md, "Shards and the writer").
            contexts_.push_back(std::make_unique<asio::io_context>());
            guards_.push_back(asio::make_work_guard(*contexts_.back()));
        }
    }

    std::size_t shard_count() const override { return contexts_.size(); }
    void run_on(std::size_t shard, std::function<void()> work) override {
        queued_[shard].fetch_add(1, std::memory_order_relaxed);
        asio::post(*contexts_[shard], [this, shard, work = std::move(work)] {
            queued_[shard].fetch_sub(1, std::memory_order_relaxed);
            work();
        });
    }
    bool has_queued_work(std::size_t shard) const override {
        return queued_[shard].load(std::memory_order_relaxed) > 0;
    }

    asio::io_context& context(std::size_t shard) { return *contexts_[shard]; }
    // The shard whose context runs `executor` (0 for another context).
    std::size_t shard_of(const asio::any_io_executor& executor) const {
        const auto* context = &asio::query(executor, asio::execution::context);
        for (std::size_t i = 0; i < contexts_.size(); ++i) {
            if (contexts_[i].get() == context) return i;
        }
        return 0;
    }
    // Shards take new connections in turn.
    std::size_t next_shard() {
        return next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size();
    }

    // Called (on the shard's thread) with what a handler threw; set before run().
    void on_exception(std::function<void(const char* what)> report) {
        on_exception_ = std::move(report);
    }

    // Runs every shard, shard 0 on the calling thread, until stop(). A handler that throws
    // (std::bad_alloc included) never ends a shard, nor the process: its exception is reported
    // and the shard runs on (Asio allows run() again after an exception escaped it).
    void run() {
        std::vector<std::thread> threads;
        for (std::size_t i = 1; i < contexts_.size(); ++i) {
            threads.emplace_back([this, context = contexts_[i].get()] { run_one(*context); });
        }
        run_one(*contexts_[0]);
        for (auto& thread : threads) thread.join();
    }
    void stop() {
        for (auto& context : contexts_) context->stop();
    }

  private:
    void run_one(asio::io_context& context) {
        for (;;) {
            try {
                context.run();
                return;
            } catch (const std::exception& error) {
                report(error.what());
            } catch (...) {
                report("unknown exception");
            }
        }
    }
    void report(const char* what) noexcept {
        try {
            if (on_exception_) on_exception_(what);
        } catch (...) {
        }
    }

    std::function<void(const char*)> on_exception_;
    std::vector<std::unique_ptr<asio::io_context>> contexts_;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
    // run_on work posted to each shard and not started yet.
    std::unique_ptr<std::atomic<std::size_t>[]> queued_;
    std::atomic<std::size_t> next_{0};
};

}  // namespace chatd::net
