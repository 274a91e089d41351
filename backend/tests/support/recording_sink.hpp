#pragma once

#include <algorithm>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/sink.hpp"

namespace chatd::test_support {

// A chat::Sink that records what it is given. Thread-safe: the store's writer thread, the bus and
// the test thread may all call it at once.
class RecordingSink final : public chat::Sink {
  public:
    struct Close {
        chat::CloseCode code;
        std::string reason;
        bool after_queued = false;  // close_after_queued(): the frames before it are sent
    };

    void deliver(const chat::Frame& frame) override {
        std::lock_guard lock(mutex_);
        frames_.push_back(frame);
    }

    void close(chat::CloseCode code, std::string_view reason) override {
        std::lock_guard lock(mutex_);
        closes_.push_back(Close{code, std::string(reason)});
    }

    void close_after_queued(chat::CloseCode code, std::string_view reason) override {
        std::lock_guard lock(mutex_);
        closes_.push_back(Close{code, std::string(reason), true});
    }

    // What queued_bytes() reports (a backed-up connection).
    void set_queued_bytes(std::size_t bytes) {
        std::lock_guard lock(mutex_);
        queued_bytes_ = bytes;
    }
    std::size_t queued_bytes() const override {
        std::lock_guard lock(mutex_);
        return queued_bytes_;
    }

    // Set before the sink is attached to a hub.
    void set_shard(std::size_t shard) { shard_ = shard; }
    std::size_t shard() const override { return shard_; }
    void deliver_on_shard(const chat::Frame& frame, bool /*write_now*/) override {
        std::lock_guard lock(mutex_);
        frames_.push_back(frame);
        ++delivered_on_shard_;
    }
    // How many of the frames came through deliver_on_shard().
    std::size_t delivered_on_shard() const {
        std::lock_guard lock(mutex_);
        return delivered_on_shard_;
    }

    // The delivered frames' texts, in delivery order.
    std::vector<std::string> texts() const {
        std::lock_guard lock(mutex_);
        std::vector<std::string> out;
        out.reserve(frames_.size());
        for (const auto& frame : frames_) out.push_back(*frame);
        return out;
    }

    // The delivered frame objects themselves (to compare pointers).
    std::vector<chat::Frame> frames() const {
        std::lock_guard lock(mutex_);
        return frames_;
    }

    std::size_t frame_count() const {
        std::lock_guard lock(mutex_);
        return frames_.size();
    }

    std::vector<Close> closes() const {
        std::lock_guard lock(mutex_);
        return closes_;
    }

    bool closed() const {
        std::lock_guard lock(mutex_);
        return !closes_.empty();
    }

    // Forgets everything recorded so far.
    void clear() {
        std::lock_guard lock(mutex_);
        frames_.clear();
        closes_.clear();
    }

  private:
    mutable std::mutex mutex_;
    std::vector<chat::Frame> frames_;
    std::vector<Close> closes_;
    std::size_t shard_ = 0;
    std::size_t delivered_on_shard_ = 0;
    std::size_t queued_bytes_ = 0;
};

}  // namespace chatd::test_support
