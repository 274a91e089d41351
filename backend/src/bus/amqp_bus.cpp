#include "bus/amqp_bus.hpp"

#include <spdlog/spdlog.h>

#include "bus/amqp_loop.hpp"
#include "bus/amqp_topology.hpp"
#include "bus/wire.hpp"
#include "metrics/metrics.hpp"

// The parts (docs/design/rabbitmq.md): amqp_connection (rabbitmq-c, backoff),
// amqp_topology (declarations, routing), user_queues (per-user consumes), amqp_publisher
// (outgoing queue, confirms), amqp_consumer (acks, decoding, forwarding), node_presence
// (heartbeats), amqp_loop (the bus thread). This file is the Bus interface over them.
namespace chatd::bus {

struct AmqpBus::Impl : AmqpLoop {
    using AmqpLoop::AmqpLoop;
};

AmqpBus::AmqpBus(AmqpOptions options, metrics::Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {
    metrics.broker_connected.Set(0);
}

AmqpBus::~AmqpBus() {
    stop();
}

void AmqpBus::start(Handler on_event) {
    impl_->start(std::move(on_event));
}

void AmqpBus::publish(model::EventPtr event, Completion done) {
    enqueue(std::move(event), std::nullopt, std::move(done));
}

void AmqpBus::publish_to(model::EventPtr event,
                         std::vector<std::string> recipients,
                         Completion done) {
    enqueue(std::move(event), std::move(recipients), std::move(done));
}

bool AmqpBus::routes_by_member() const {
    return impl_->options().topology == Topology::PerUser;
}

void AmqpBus::enqueue(model::EventPtr event,
                      std::optional<std::vector<std::string>> recipients,
                      Completion done) {
    auto& publisher = impl_->publisher();
    const auto* message = std::get_if<model::Message>(event.get());
    if (!message) {
        // Ephemeral events reach this node's hub at once (even without a broker) and the other
        // nodes through chat.events; receivers skip their own node's copies.
        impl_->deliver(event, {});
    }
    if (!impl_->running() || !impl_->connected()) {
        if (message) {
            publisher.fail(done);
        } else if (done) {
            done(true);
        }
        return;
    }
    auto where = route(*event, impl_->options().topology, std::move(recipients));
    switch (where.outcome) {
        case Route::Outcome::MissingRecipients:
            spdlog::error("amqp: message {} of room {} published without its members", message->id,
                          message->room);
            publisher.fail(done);
            return;
        case Route::Outcome::NoRecipients:
            if (done) done(true);  // nobody to deliver to; the store has it
            return;
        case Route::Outcome::Publish:
            break;
    }
    Outgoing o{encode_event(*event, impl_->options().node_id), where.exchange, where.persistent,
               std::move(done), std::move(where.queues)};
    // Full: the message stays in the store's outbox and is republished later.
    if (!publisher.enqueue(o) && message) publisher.fail(o.done);
}

void AmqpBus::user_online(const std::string& user_name) {
    impl_->local_users().add(user_name);
    impl_->wake();
}

void AmqpBus::when_subscribed(const std::string& user_name, std::function<void()> done) {
    if (impl_->options().topology == Topology::PerUser && impl_->connected() &&
        impl_->local_users().defer_until_settled(user_name, done)) {
        return;
    }
    done();
}

void AmqpBus::user_away(const std::string& user_name, bool away) {
    impl_->node_presence().set_local_away(user_name, away);
}

model::Availability AmqpBus::remote_availability(const std::string& user_name) const {
    return impl_->presence().remote_availability(user_name);
}

std::vector<std::string> AmqpBus::remote_away_users() const {
    return impl_->presence().remote_away_users();
}

void AmqpBus::user_offline(const std::string& user_name) {
    impl_->node_presence().set_local_away(user_name, false);
    impl_->local_users().remove(user_name);
    impl_->wake();
}

bool AmqpBus::ready() const {
    return impl_->connected();
}

void AmqpBus::stop() {
    impl_->stop();
}

std::string_view AmqpBus::origin_node() const {
    return impl_->options().node_id;
}

void AmqpBus::on_connected(std::function<void()> callback) {
    impl_->on_connected(std::move(callback));
}

void AmqpBus::on_resubscribed(std::function<void()> callback) {
    impl_->on_resubscribed(std::move(callback));
}

std::vector<std::string> AmqpBus::remote_users() const {
    return impl_->presence().remote_users();
}

}  // namespace chatd::bus
