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
    // Every connection of an online user on this node is away (true) or one is active again;
    // other nodes learn it from this node's presence heartbeat.
    virtual void user_away(const std::string& /*user_name*/, bool /*away*/) {}
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

    // Users online on other nodes (sorted, may overlap with local ones); none for one process.
    virtual std::vector<std::string> remote_users() const = 0;
    // How a user is on the other nodes together: offline, online (a connection there is
    // active) or away (all of them are).
    virtual model::Availability remote_availability(const std::string& /*user_name*/) const {
        return model::Availability::Offline;
    }
    // Users online on other nodes and away on each of them (sorted).
    virtual std::vector<std::string> remote_away_users() const { return {}; }
};

}  // namespace chatd::bus
