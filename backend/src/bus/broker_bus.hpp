#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "bus/bus.hpp"

namespace chatd::bus {

// Whether a stored message goes, in the per-user topology, to each member's queue (publish_to
// with the room's members): a new message of a room other than general. general goes on the
// brief's `chat` fanout; a change (edit, delete, react, unreact) never enters a user queue, since
// the brief's readers of those queues could not parse it: it goes on chat.events to every node.
inline bool addressed_to_members(const model::Message& message) {
    return message.room != model::kGeneralRoom && !model::is_change(message.kind);
}

// A bus through a broker (AmqpBus): publishes can fail and are confirmed, so stored messages go
// through the store's publication outbox (delivery::OutboxPublisher), and the connection can be
// lost and come back.
class BrokerBus : public Bus {
  public:
    // This node's name, stamped on stored messages as their origin (the outbox's key).
    virtual std::string_view origin_node() const = 0;
    // Runs (on a bus thread) after every (re)connection to the broker, and whenever a publish
    // failed since: the time to republish the outbox. Set before start.
    virtual void on_connected(std::function<void()> callback) = 0;
    // Runs on a bus thread when the broker connection is back after an outage (a lost
    // connection, or a first attempt that failed), once this node's queues are bound again and
    // before anything consumed from them is delivered. While the bindings were gone, events may
    // have been routed past this node: a broker restart drops the `chat` exchange (the brief
    // declares it non-durable) and every binding to it, and whatever a node publishes before the
    // bindings are back reaches no queue. Set before start.
    virtual void on_resubscribed(std::function<void()> callback) = 0;
    // True when a message addressed_to_members() must be published with publish_to and the
    // room's members (per-user topology: it goes to the members' queues only, never to the
    // `chat` fanout that every user queue is bound to).
    virtual bool routes_by_member() const = 0;
    // publish() for a message addressed to `recipients` (user names); `done` runs once, true
    // only when every copy is confirmed.
    virtual void publish_to(model::EventPtr event,
                            std::vector<std::string> recipients,
                            Completion done = nullptr) = 0;
};

}  // namespace chatd::bus
