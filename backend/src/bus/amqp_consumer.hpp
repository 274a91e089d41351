#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bus/amqp_connection.hpp"
#include "bus/wire.hpp"

namespace chatd::bus {

class AmqpPublisher;
class LocalUsers;
class NodePresence;
class UserQueues;

// The acks a consuming channel owes: the highest delivery tag handed to the hub and not acked
// yet, acked with multiple=true once per read batch, and before anything that would give the
// channel's unacked messages back to the broker (closing it, deleting its queue, stopping). Pure.
class AckBatcher {
  public:
    void add(Channel channel, std::uint64_t tag) {
        for (auto& [ch, last] : pending_) {
            if (ch == channel) {
                last = tag;  // tags grow per channel: one multiple=true ack covers the earlier
                return;
            }
        }
        pending_.emplace_back(channel, tag);
    }
    // The channel's pending ack, now owed by the caller.
    std::optional<std::uint64_t> take(Channel channel);
    // `send(channel, tag)` for every channel's pending ack.
    template <class Send>
    void flush(Send&& send) {
        for (const auto& [channel, tag] : pending_) send(channel, tag);
        pending_.clear();
    }
    // The broker closed `channel`: its unacked messages are back in the queue, acks would fail.
    void forget(Channel channel);
    void clear() { pending_.clear(); }

  private:
    std::vector<std::pair<Channel, std::uint64_t>> pending_;
};

// Per-user: the same body arrives once per user queue, the queues' deliveries interleaved; this
// keeps the last bodies decoded and their results (decode_wire is pure and events are
// immutable, so a hit is exactly a decode). Round-robin replacement.
class DecodeCache {
  public:
    static constexpr std::size_t kSize = 16;
    const Wire& decode(std::string_view body);

  private:
    struct Decoded {
        std::string body;
        Wire wire;
    };
    std::array<Decoded, kSize> entries_;
    std::size_t next_ = 0;
};

// The consuming side of the bus: each delivery is decoded, handed to the hub (only to the
// user's connections when it comes from a user queue), forwarded to the node with the user when
// this node holds the queue of a user connected elsewhere, and acked in batches. chat.events
// deliveries from other nodes feed the presence directory; changes on chat.events (per-user
// topology) go to the hub from every node, this one included. The bus thread only.
class AmqpConsumer {
  public:
    using Deliver = std::function<void(const model::EventPtr&, const std::string& only_user)>;

    AmqpConsumer(std::string node_id,
                 int prefetch,
                 AckBatcher& acks,
                 LocalUsers& local,
                 UserQueues& user_queues,
                 NodePresence& presence,
                 AmqpPublisher& publisher,
                 Deliver deliver);

    void on_delivery(AmqpConnection& connection,
                     Channel channel,
                     std::uint64_t tag,
                     std::string_view body);

  private:
    // A chat.events delivery: a change from any node, another node's events.
    void on_event(const Wire& wire);
    const Wire& decode(Channel channel, std::string_view body);
    // The brief: a DISCONNECTION_MESSAGE from a user's own queue deletes that queue.
    void delete_user_queue(AmqpConnection& connection,
                           Channel channel,
                           const std::string& user_name);

    std::string node_id_;
    int prefetch_;
    AckBatcher& acks_;
    LocalUsers& local_;
    UserQueues& user_queues_;
    NodePresence& presence_;
    AmqpPublisher& publisher_;
    Deliver deliver_;
    DecodeCache decode_cache_;
    Wire node_wire_;  // the node's and the events queue's delivery being handled
};

}  // namespace chatd::bus
