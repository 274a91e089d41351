#include "bus/amqp_consumer.hpp"

#include <spdlog/spdlog.h>

#include "bus/amqp_publisher.hpp"
#include "bus/amqp_topology.hpp"
#include "bus/node_presence.hpp"
#include "bus/user_queues.hpp"

namespace chatd::bus {

std::optional<std::uint64_t> AckBatcher::take(Channel channel) {
    for (auto it = pending_.begin(); it != pending_.end(); ++it) {
        if (it->first == channel) {
            const auto tag = it->second;
            pending_.erase(it);
            return tag;
        }
    }
    return std::nullopt;
}

void AckBatcher::forget(Channel channel) {
    std::erase_if(pending_, [channel](const auto& p) { return p.first == channel; });
}

const Wire& DecodeCache::decode(std::string_view body) {
    for (const auto& entry : entries_) {
        if (entry.body == body) return entry.wire;
    }
    auto& entry = entries_[next_];
    next_ = (next_ + 1) % kSize;
    entry.wire = decode_wire(body);
    entry.body.assign(body);
    return entry.wire;
}

AmqpConsumer::AmqpConsumer(std::string node_id,
                           int prefetch,
                           AckBatcher& acks,
                           LocalUsers& local,
                           UserQueues& user_queues,
                           NodePresence& presence,
                           AmqpPublisher& publisher,
                           Deliver deliver)
    : node_id_(std::move(node_id)),
      prefetch_(prefetch),
      acks_(acks),
      local_(local),
      user_queues_(user_queues),
      presence_(presence),
      publisher_(publisher),
      deliver_(std::move(deliver)) {}

const Wire& AmqpConsumer::decode(Channel channel, std::string_view body) {
    if (channel < kFirstUserChannel) {
        node_wire_ = decode_wire(body);  // every body arrives once: nothing to reuse
        return node_wire_;
    }
    return decode_cache_.decode(body);
}

void AmqpConsumer::on_delivery(AmqpConnection& connection,
                               Channel channel,
                               std::uint64_t tag,
                               std::string_view body) {
    const Wire& wire = decode(channel, body);
    if (channel == kEventsChannel) {
        on_event(wire);
        return;
    }
    std::string only_user;
    if (channel != kNodeChannel) {
        const auto* user = user_queues_.user_of(channel);
        if (!user) return;  // closed meanwhile: the broker requeues it
        only_user = *user;
        if (!local_.contains(only_user)) {
            // The user's last connection here is gone (maybe to the other node, whose consume
            // waits for ours to end): acking would drop the message for them. Closing the channel
            // unacked gives the queue, this message included, to the next holder.
            BrokerUserChannels user_channels(connection, acks_, prefetch_);
            user_queues_.release(user_channels, only_user);
            return;
        }
    }
    bool delete_queue = false;
    if (wire.kind == Wire::Kind::Event) {
        if (const auto* m = std::get_if<model::Message>(wire.event.get())) {
            deliver_(wire.event, only_user);
            if (!only_user.empty()) {
                if (presence_.online_elsewhere(only_user)) {
                    publisher_.send(connection, encode_forward(*m, node_id_, only_user),
                                    kEventsExchange, false, nullptr);
                }
                // The brief: a DISCONNECTION_MESSAGE removes the sender's queue.
                delete_queue = m->kind == model::MessageKind::Leave && m->user_name == only_user;
            }
        }
    } else {
        spdlog::debug("amqp: dropped a body on channel {}: {}", channel, wire.error);
    }
    acks_.add(channel, tag);
    if (delete_queue) delete_user_queue(connection, channel, only_user);
}

void AmqpConsumer::delete_user_queue(AmqpConnection& connection,
                                     Channel channel,
                                     const std::string& user_name) {
    if (const auto owed = acks_.take(channel)) connection.ack_up_to(channel, *owed);
    if (!connection.delete_queue(channel, user_name)) return;
    // Its /receive streams are closing; do not recreate the queue before they have.
    BrokerUserChannels user_channels(connection, acks_, prefetch_);
    user_queues_.release(user_channels, user_name,
                         UserQueues::Clock::now() + std::chrono::seconds(3));
    local_.mark_changed();
}

void AmqpConsumer::on_event(const Wire& wire) {
    if (wire.kind == Wire::Kind::Invalid) return;
    if (wire.kind == Wire::Kind::Event) {
        if (const auto* m = std::get_if<model::Message>(wire.event.get())) {
            // A change (per-user topology): stored rows reach this node's hub only through the
            // broker, as messages do, its own node's copy included; the hub hands it to the
            // room's members here. Anything else stored never travels on chat.events.
            if (model::is_change(m->kind)) deliver_(wire.event, {});
            return;
        }
    }
    if (wire.node == node_id_) return;
    const auto now = NodePresence::Clock::now();
    if (wire.kind == Wire::Kind::Heartbeat) {
        presence_.heartbeat_from(wire.node, wire.users, now, wire.away);
        return;
    }
    if (wire.kind == Wire::Kind::Forward) {
        if (local_.contains(wire.user) && !user_queues_.holds(wire.user)) {
            deliver_(wire.event, wire.user);
        }
        return;
    }
    if (const auto* p = std::get_if<model::Presence>(wire.event.get())) {
        presence_.apply(wire.node, *p, now);
    }
    deliver_(wire.event, {});
}

}  // namespace chatd::bus
