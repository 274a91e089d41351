#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bus/broker_bus.hpp"

namespace chatd::metrics {
class Metrics;
}

namespace chatd::bus {

enum class Topology {
    PerUser,  // the brief's: one durable queue per user, named after the user, bound to `chat`
    PerNode,  // one queue per chatd node bound to `chat`, local fan-out
};

struct AmqpOptions {
    std::string url;  // amqp://user:pass@host:port/vhost
    Topology topology = Topology::PerUser;
    std::string node_id;
    int heartbeat_s = 5;
    std::chrono::milliseconds backoff_base{100};
    std::chrono::milliseconds backoff_cap{5000};
    int prefetch = 200;
    std::size_t max_queued = 20000;  // publishes waiting for the bus thread; past it they fail
    std::chrono::milliseconds presence_interval{2000};
    int presence_misses = 3;                     // a node silent for this many intervals is dropped
    std::chrono::milliseconds stop_grace{3000};  // stop(): time to get pending confirms
};

// One argument of a queue declaration (x-...), an AMQP signed 32-bit integer.
struct QueueArgument {
    std::string_view name;
    std::int32_t value;
};
// The arguments of the per-node queue (`chatd:node:<node id>`, Topology::PerNode): chatd's own
// queue, so arguments are fine there (the brief's user queues take none): bounded (x-max-length
// 100000) and gone an hour after its node stopped consuming it (x-expires 1 h). A queue
// redeclared with other arguments fails (PRECONDITION_FAILED), so whatever declares a queue
// like chatd's (amqp-baseline) takes them from here.
std::span<const QueueArgument> node_queue_arguments();

// RabbitMQ bus on rabbitmq-c (docs/design/rabbitmq.md). One thread owns one AMQP
// connection: channel 1 publishes with confirms, channel 2 declares the topology and consumes
// the node's queues, and in the per-user topology each locally online user's queue is consumed
// on a channel of its own (an exclusive consume refused by the broker closes only that channel).
// Callers never block: publish enqueues (bounded) and the thread wakes through an eventfd.
class AmqpBus final : public BrokerBus {
  public:
    // Throws std::invalid_argument for a URL amqp_parse_url refuses.
    AmqpBus(AmqpOptions options, metrics::Metrics& metrics);
    ~AmqpBus() override;

    void start(Handler on_event) override;
    void publish(model::EventPtr event, Completion done = nullptr) override;
    void user_online(const std::string& user_name) override;
    void user_offline(const std::string& user_name) override;
    void when_subscribed(const std::string& user_name, std::function<void()> done) override;
    bool ready() const override;
    void stop() override;
    std::string_view origin_node() const override;
    void on_connected(std::function<void()> callback) override;
    void on_resubscribed(std::function<void()> callback) override;
    std::vector<std::string> remote_users() const override;
    void user_away(const std::string& user_name, bool away) override;
    model::Availability remote_availability(const std::string& user_name) const override;
    std::vector<std::string> remote_away_users() const override;
    bool routes_by_member() const override;
    void publish_to(model::EventPtr event,
                    std::vector<std::string> recipients,
                    Completion done = nullptr) override;

  private:
    // recipients: nullopt from publish(); per-user, messages outside general need them.
    void enqueue(model::EventPtr event,
                 std::optional<std::vector<std::string>> recipients,
                 Completion done);

    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace chatd::bus
