#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <variant>
#include <vector>

#include "bus/broker_bus.hpp"
#include "chat/publisher.hpp"
#include "metrics/metrics.hpp"
#include "store/store.hpp"
#include "work/batch_queue.hpp"

namespace chatd::delivery {

// Publishes stored messages to a broker through the store's publication outbox, in id order.
//
// Every message is stored unpublished and marked published once the broker confirms it. The
// publisher is either *direct* (each message handed by the writer is published at once) or
// *behind* (at start, and after any failed publish or a full queue): then messages handed by
// the writer are left in the outbox, and sweeps republish the outbox oldest first. Once a sweep
// reads fewer than `sweep_limit` messages and publishes them all, the publisher is direct again
// and skips the handed messages that sweep covered (ids at or below the highest id a sweep
// read). So this node's messages reach the bus in id order except when a publish fails after
// later ones were handed to the bus (a lost connection): docs/reliability.md.
//
// Why the skip is safe: this node's commits are sequential (one writer), so its ids increase in
// commit order and a read of the outbox sees a prefix of them. A message at or below the highest
// id read was committed before the read: it was read (and published), or already published.
//
// One thread owns all state; the writer and the bus only enqueue.
class OutboxPublisher final : public chat::Publisher {
  public:
    struct Options {
        std::size_t queue_capacity = 16384;    // past it handed messages stay in the outbox
        std::size_t sweep_limit = 1000;        // messages read per sweep
        std::chrono::milliseconds retry{200};  // between sweeps while behind
    };

    OutboxPublisher(store::Store& store,
                    bus::BrokerBus& bus,
                    metrics::Metrics& metrics,
                    Options options);
    ~OutboxPublisher() override;  // call before bus.stop(): marks what was confirmed meanwhile
    OutboxPublisher(const OutboxPublisher&) = delete;
    OutboxPublisher& operator=(const OutboxPublisher&) = delete;

    void publish(model::Message stored) override;
    std::string_view outbox_origin() const override { return node_; }

  private:
    struct Completed {
        model::MessageId id;
        bool confirmed;
    };
    struct SweepNow {};
    using Item = std::variant<model::Message, Completed, SweepNow>;
    using Members = std::map<std::string, std::vector<std::string>, std::less<>>;

    void run();
    // False when the publish failed at once (the bus is down or full): the caller falls behind.
    bool publish_one(model::Message message, Members& members);
    // Republishes the outbox, oldest first; direct again once it is caught up.
    void sweep();
    void mark_confirmed();

    store::Store& store_;
    bus::BrokerBus& bus_;
    metrics::Metrics& metrics_;
    const Options options_;
    const std::string node_;
    work::BatchQueue<Item> queue_;
    std::atomic<bool> overflowed_{false};     // the writer found the queue full
    std::atomic<std::uint64_t> failures_{0};  // publishes the bus failed, ever

    // Owned by the publisher's thread.
    bool behind_ = true;
    std::uint64_t failures_seen_ = 0;  // failures_ when the publisher was last caught up
    std::chrono::steady_clock::time_point next_sweep_{};
    model::MessageId swept_up_to_ = 0;                // the highest id any sweep read
    std::unordered_set<model::MessageId> in_flight_;  // published, completion not yet taken
    std::vector<model::MessageId> confirmed_;         // confirmed, not yet marked published
    std::optional<bool>* inline_outcome_ = nullptr;   // set while publish_one calls the bus

    std::thread thread_;  // last: starts once the members above exist
};

}  // namespace chatd::delivery
