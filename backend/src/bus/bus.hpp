#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "model/message.hpp"

namespace chatd::bus {

// Carries events from the node that produced them to every node that has a recipient,
// this one included. Implementations: LocalBus (in-process), AmqpBus (RabbitMQ).
class Bus {
  public:
    // `only_user` empty: every local subscriber of the event; otherwise only that user's local
    // connections (a delivery from that user's own RabbitMQ queue).
    using Handler = std::function<void(const model::EventPtr&, const std::string& only_user)>;
    // Runs once per publish: true once the event is safely with the broker (publisher confirm),
    // false when it could not be published (then the store's outbox keeps the message).
    // May run on any thread, before publish returns; must not block.
    using Completion = std::function<void(bool confirmed)>;

    virtual ~Bus() = default;

    // Sets where delivered events go; call once before the first publish.
    virtual void start(Handler on_event) = 0;
    // Never blocks; thread-safe. Delivery to the handler may happen before this returns.
    virtual void publish(model::EventPtr event, Completion done = nullptr) = 0;
    // A user got their first / lost their last connection on this node; the per-user RabbitMQ
    // topology consumes the user's queue in between.
    virtual void user_online(const std::string& user_name) = 0;
    virtual void user_offline(const std::string& user_name) = 0;
    // Runs `done` (on any thread, maybe at once) when events for `user_name` published from now
    // on will reach this node: per-user RabbitMQ topology, once the user's queue is bound and
    // consumed (or another node holds it, or the broker is down). The WebSocket upgrade waits
    // for it (bounded), so a client that sees 101 misses nothing.
    virtual void when_subscribed(const std::string& /*user_name*/, std::function<void()> done) {
        done();
    }
    // False while the bus cannot publish (feeds /readyz).
    virtual bool ready() const = 0;
    // Delivers or drops nothing after it returns.
    virtual void stop() = 0;

    // Distributed buses: this node's name, stamped on stored messages as their origin (the
    // store's publication outbox). Empty: messages need no outbox (in-process bus).
    virtual std::string_view origin_node() const { return {}; }
    // Runs (on a bus thread) after every (re)connection to the broker, and whenever a publish
    // failed since: the time to republish the outbox. Set before start.
    virtual void on_connected(std::function<void()> /*callback*/) {}
    // Runs on a bus thread when the broker connection is back after an outage (a lost
    // connection, or a first attempt that failed), once this node's queues are bound again and
    // before anything consumed from them is delivered. While the bindings
    // were gone, events may have been routed past this node: a broker restart drops the `chat`
    // exchange (the brief declares it non-durable) and every binding to it, and whatever a node
    // publishes before the bindings are back reaches no queue. A client still connected would
    // never ask for those messages (its resync mark moves on with the next live frame), so the
    // node makes its native clients reconnect and resync from the store. Set before start.
    virtual void on_resubscribed(std::function<void()> /*callback*/) {}
    // Users online on other nodes (sorted, may overlap with local ones).
    virtual std::vector<std::string> remote_users() const { return {}; }

    // True when a message of a room other than general must be published with publish_to and
    // the room's members (AmqpBus per-user: it goes to the members' queues only, never to the
    // `chat` fanout that every user queue is bound to).
    virtual bool routes_by_member() const { return false; }
    // publish() for a message addressed to `recipients` (user names); `done` runs once, true
    // only when every copy is confirmed. Buses that do not route by member ignore `recipients`.
    virtual void publish_to(model::EventPtr event,
                            std::vector<std::string> /*recipients*/,
                            Completion done = nullptr) {
        publish(std::move(event), std::move(done));
    }
};

}  // namespace chatd::bus
