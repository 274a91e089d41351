#include "delivery/last_seen_writer.hpp"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>
#include <vector>

#include "chat/user_names.hpp"

namespace chatd::delivery {

LastSeenWriter::LastSeenWriter(store::Store& store,
                               metrics::Metrics& metrics,
                               std::chrono::milliseconds interval)
    : store_(store), metrics_(metrics), interval_(interval), thread_([this] { run(); }) {}

LastSeenWriter::~LastSeenWriter() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
}

void LastSeenWriter::record(const std::string& user_name, std::int64_t at_ms) {
    {
        std::lock_guard lock(mutex_);
        auto [at, added] = pending_.try_emplace(user_name, at_ms);
        if (!added) {
            at->second = std::max(at->second, at_ms);
            metrics_.limit_hit(metrics::Limit::LastSeenCoalesced);
        }
    }
    changed_.notify_all();
}

void LastSeenWriter::run() {
    std::unique_lock lock(mutex_);
    while (true) {
        changed_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
        if (pending_.empty()) return;  // stopping, nothing left
        auto batch = std::exchange(pending_, {});
        const bool last = stopping_;
        lock.unlock();
        write(std::move(batch));
        lock.lock();
        if (last) {
            if (pending_.empty()) return;
            continue;
        }
        // The bound: no other write within an interval of this one (unless stopping).
        changed_.wait_for(lock, interval_, [this] { return stopping_; });
    }
}

void LastSeenWriter::write(std::map<std::string, std::int64_t> batch) {
    std::vector<store::LastSeen> rows;
    rows.reserve(batch.size());
    for (const auto& [name, ms] : batch) rows.push_back({name, chat::search_fold(name), ms});
    try {
        store_.record_last_seen(rows);
    } catch (const std::exception& error) {
        spdlog::warn("last seen of {} users not stored (retried with the next ones): {}",
                     rows.size(), error.what());
        std::lock_guard lock(mutex_);
        for (const auto& [name, ms] : batch) {
            auto [at, added] = pending_.try_emplace(name, ms);
            if (!added) at->second = std::max(at->second, ms);
        }
    }
}

}  // namespace chatd::delivery
