#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "bus/amqp_connection.hpp"
#include "bus/bus.hpp"
#include "work/batch_queue.hpp"

namespace chatd::metrics {
class Metrics;
}

namespace chatd::bus {

// Publisher confirms on one channel: the delivery tags in flight and the completion of each.
// Every publish on a confirm channel takes the next tag, acked or not. Pure.
class ConfirmTracker {
  public:
    using Clock = std::chrono::steady_clock;
    struct Pending {
        std::uint64_t tag;
        Bus::Completion done;
        Clock::time_point start;
        bool message;  // only messages report their outcome (ephemeral events are fire-and-forget)
    };

    // A new confirm channel: its first publish is tag 1.
    void restart() { next_tag_ = 1; }
    std::uint64_t add(Bus::Completion done, bool message, Clock::time_point now) {
        unconfirmed_.push_back(Pending{next_tag_, std::move(done), now, message});
        return next_tag_++;
    }
    // The broker's ack (ok) or nack of `tag`, and of every earlier tag when `multiple`:
    // `finish(pending, ok)` runs for each, in tag order.
    template <class Finish>
    void confirm(std::uint64_t tag, bool multiple, bool ok, Finish&& finish) {
        if (multiple) {
            while (!unconfirmed_.empty() && unconfirmed_.front().tag <= tag) {
                finish(unconfirmed_.front(), ok);
                unconfirmed_.pop_front();
            }
            return;
        }
        for (auto it = unconfirmed_.begin(); it != unconfirmed_.end(); ++it) {
            if (it->tag == tag) {
                finish(*it, ok);
                unconfirmed_.erase(it);
                return;
            }
        }
    }
    // The channel is gone: `finish(pending, false)` for each, then nothing is in flight.
    template <class Finish>
    void fail_all(Finish&& finish) {
        for (auto& pending : unconfirmed_) finish(pending, false);
        unconfirmed_.clear();
    }
    bool empty() const { return unconfirmed_.empty(); }

  private:
    std::deque<Pending> unconfirmed_;
    std::uint64_t next_tag_ = 1;
};

// The completion of a publish sent as `copies` copies: `done` runs once, true when every copy is
// confirmed, false at the first failure. Not thread-safe (the bus thread runs all of them).
Bus::Completion all_confirmed(std::size_t copies, Bus::Completion done);

// One publish waiting for the bus thread.
struct Outgoing {
    std::string body;
    std::string_view exchange;
    bool persistent;  // a message: confirmed, and its failure reported
    Bus::Completion done;
    // Default exchange: one copy per queue (routing key = queue name), `done` once.
    std::vector<std::string> queues;
};

// The publishing side of the bus: publishes from any thread wait in a bounded queue for the bus
// thread, which sends them on the confirm channel and completes each message on the broker's ack
// (true) or nack (false). A message that cannot reach the broker (queue full, not connected, the
// connection lost before its confirm) completes with false, is counted, and asks for a sweep:
// the service then republishes it from the store's outbox.
class AmqpPublisher {
  public:
    using Clock = std::chrono::steady_clock;

    // Wakes the bus thread through `wake` when a publish arrives.
    AmqpPublisher(std::size_t max_queued, metrics::Metrics& metrics, WakeSignal& wake);

    // Any thread, never blocks. False when the queue is full: `outgoing` is left to the caller.
    bool enqueue(Outgoing& outgoing);
    // Any thread: the message could not be published.
    void fail(Bus::Completion& done);
    // A message failed since the last sweep (when the outbox was last republished).
    bool failed_since_sweep() const { return failed_; }
    void swept() { failed_ = false; }

    // --- the bus thread -------------------------------------------------------------------
    // After confirm.select on a new connection.
    void start_channel() { confirms_.restart(); }
    // Sends every queued publish; on ConnectionLost the messages not sent fail.
    void send_queued(AmqpConnection& connection);
    // One publish on the confirm channel.
    void send(AmqpConnection& connection,
              const std::string& body,
              std::string_view exchange,
              bool persistent,
              Bus::Completion done,
              const std::string& routing_key = {});
    void on_confirm(std::uint64_t tag, bool multiple, bool ok);
    bool awaiting_confirms() const { return !confirms_.empty(); }
    // The connection is gone: what waits for a confirm, and what is queued, fails.
    void fail_in_flight();
    void fail_queued();

  private:
    // Everything queued, without waiting.
    std::vector<Outgoing> take_queued();

    metrics::Metrics& metrics_;
    WakeSignal& wake_;
    work::BatchQueue<Outgoing> queue_;
    // Set by the first enqueue after the bus thread last took the queue, which then wakes it:
    // one eventfd write per batch, and none lost (cleared before each take).
    std::atomic<bool> wake_pending_{false};
    std::atomic<bool> failed_{false};
    ConfirmTracker confirms_;  // the bus thread only
};

}  // namespace chatd::bus
