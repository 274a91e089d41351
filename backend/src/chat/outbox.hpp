#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <vector>

#include "chat/sink.hpp"

namespace chatd::chat {

// Bounded queue of frames waiting for one connection's writer. Thread-safe.
// Invariant: only the connection's writer calls take(); any thread may push().
class Outbox {
  public:
    struct Limits {
        std::size_t max_bytes = 4 * 1024 * 1024;
        std::size_t max_frames = 16384;
    };

    enum class PushResult {
        Queued,        // the writer was already awake or busy
        QueuedWakeUp,  // the writer may be idle: the caller must wake it
        Overflow,      // the frame was dropped; the connection must be closed and resync
        Closed,
    };

    explicit Outbox(Limits limits) : limits_(limits) {}

    PushResult push(Frame frame);
    // Moves every queued frame into `out` (cleared first; O(1): the two vectors swap). Returns
    // false when nothing was queued, after which the next push answers QueuedWakeUp; both
    // vectors are then released, so an idle connection holds no queue memory.
    bool take(std::vector<Frame>& out);
    // Later pushes answer Closed; queued frames are discarded.
    void close();
    // Later pushes answer Closed; queued frames stay for take().
    void seal();
    std::size_t queued_bytes() const;
    // The bytes the connection's writer holds beside the queue (frames being written, a pong):
    // they count against max_bytes too, so that one bound covers every byte queued.
    void set_beside(std::size_t bytes) noexcept { beside_.store(bytes, std::memory_order_relaxed); }

  private:
    const Limits limits_;
    mutable std::mutex mutex_;
    // A vector, not a deque: an empty std::deque still holds a 512-byte block (per connection).
    std::vector<Frame> frames_;
    std::size_t bytes_ = 0;
    std::atomic<std::size_t> beside_{0};
    bool writer_idle_ = true;
    bool closed_ = false;
};

}  // namespace chatd::chat
