#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <utility>
#include <vector>

namespace chatd::work {

// A bounded queue that many threads fill and one worker empties a batch at a time: the one
// hand-off between chatd's threads (the store's writer, the publisher, the presence batcher).
// Taking the whole queue at once keeps the lock short and lets the worker amortise its cost
// (one commit, one broker flush) over everything that arrived meanwhile. Thread-safe.
template <class Item>
class BatchQueue {
  public:
    explicit BatchQueue(std::size_t capacity) : capacity_(capacity) {}
    BatchQueue(const BatchQueue&) = delete;
    BatchQueue& operator=(const BatchQueue&) = delete;

    // Waits while the queue is full: back-pressure on the producer. False once closed (the
    // item is dropped).
    bool push_wait(Item item) {
        std::unique_lock lock(mutex_);
        space_.wait(lock, [&] { return closed_ || items_.size() < capacity_; });
        return enqueue(lock, std::move(item));
    }

    // Never waits: false when full or closed, and the item is left to the caller.
    bool try_push(Item& item) {
        std::unique_lock lock(mutex_);
        if (items_.size() >= capacity_) return false;
        return enqueue(lock, std::move(item));
    }

    // Past the capacity too: for the few items that must never be lost or wait (a broker's
    // confirmation of a publish), whose number the producer bounds itself.
    bool push_always(Item item) {
        std::unique_lock lock(mutex_);
        return enqueue(lock, std::move(item));
    }

    // Waits for items (or close) and appends every queued one to `out`, in push order. False
    // once closed and empty: the worker's signal to return.
    bool take(std::vector<Item>& out) {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return closed_ || !items_.empty(); });
        return drain(lock, out);
    }

    // take() that also returns at `deadline` (true, `out` maybe unchanged).
    template <class Clock, class Duration>
    bool take_until(std::vector<Item>& out, std::chrono::time_point<Clock, Duration> deadline) {
        std::unique_lock lock(mutex_);
        ready_.wait_until(lock, deadline, [&] { return closed_ || !items_.empty(); });
        return drain(lock, out);
    }

    // Later pushes fail; queued items are still taken; waiting producers return.
    void close() {
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
        }
        ready_.notify_all();
        space_.notify_all();
    }

    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return items_.size();
    }

  private:
    bool enqueue(std::unique_lock<std::mutex>& lock, Item&& item) {
        if (closed_) return false;
        const bool was_empty = items_.empty();
        items_.push_back(std::move(item));
        lock.unlock();
        if (was_empty) ready_.notify_one();  // a non-empty queue has a worker awake already
        return true;
    }

    bool drain(std::unique_lock<std::mutex>& lock, std::vector<Item>& out) {
        if (items_.empty()) return !closed_;
        if (out.empty()) {
            out.swap(items_);
        } else {
            for (auto& item : items_) out.push_back(std::move(item));
            items_.clear();
        }
        lock.unlock();
        space_.notify_all();
        return true;
    }

    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::condition_variable ready_;  // the worker: items or close
    std::condition_variable space_;  // producers in push_wait: room or close
    std::vector<Item> items_;
    bool closed_ = false;
};

}  // namespace chatd::work
