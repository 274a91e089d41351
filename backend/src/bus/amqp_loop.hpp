#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>

#include "bus/amqp_bus.hpp"
#include "bus/amqp_connection.hpp"
#include "bus/amqp_consumer.hpp"
#include "bus/amqp_publisher.hpp"
#include "bus/node_presence.hpp"
#include "bus/user_queues.hpp"

namespace chatd::bus {

// The bus thread: it owns the one AMQP connection and ties the parts together. Each turn it
// (re)connects when needed (declaring the topology, with backoff after a failure), consumes and
// releases user queues, sends what was published, sends the presence heartbeat when due, then
// waits (at most 100 ms) for the broker or a wake and handles what arrived: confirms, deliveries,
// closed channels. One thread for all of it: one reconnect state machine, and rabbitmq-c queues
// frames of other channels while an RPC waits, so deliveries, confirms and declarations share
// the socket safely.
class AmqpLoop {
  public:
    using Clock = std::chrono::steady_clock;

    // Throws std::invalid_argument for a URL amqp_parse_url refuses or an empty node id.
    AmqpLoop(AmqpOptions options, metrics::Metrics& metrics);
    ~AmqpLoop();

    void start(Bus::Handler on_event);
    // Publishes what is queued and waits (up to stop_grace) for its confirms, then closes. After
    // it returns the handler is never called.
    void stop();
    // Sets the callbacks of Bus::on_connected and Bus::on_resubscribed; before start.
    void on_connected(std::function<void()> callback);
    void on_resubscribed(std::function<void()> callback);

    // Any thread.
    const AmqpOptions& options() const { return options_; }
    bool running() const { return running_; }
    bool connected() const { return connected_; }
    void deliver(const model::EventPtr& event, const std::string& only_user);
    void wake() { wake_.wake(); }
    AmqpPublisher& publisher() { return publisher_; }
    LocalUsers& local_users() { return local_; }
    const NodePresence& presence() const { return presence_; }
    NodePresence& node_presence() { return presence_; }

  private:
    void run();
    void connect();
    void teardown(const std::string& why);
    // Asks the service to republish its outbox (after a connect or a failed publish).
    void sweep();
    void periodic();
    void read(std::chrono::milliseconds wait);
    void on_incoming(const Incoming& incoming);
    // Sleeps `delay` unless stopping; publishes arriving meanwhile fail at once.
    void idle(std::chrono::milliseconds delay);
    void close_gracefully();
    BrokerUserChannels user_channels();

    // --- shared between threads -------------------------------------------------------------
    BrokerAddress address_;
    AmqpOptions options_;
    metrics::Metrics& metrics_;
    WakeSignal wake_;
    std::shared_mutex handler_mutex_;
    Bus::Handler handler_;
    std::function<void()> connected_callback_;
    std::function<void()> resubscribed_callback_;
    LocalUsers local_;
    NodePresence presence_;
    AmqpPublisher publisher_;
    std::atomic<bool> running_{false};
    std::atomic<bool> connected_{false};
    std::thread thread_;

    // --- the bus thread only ----------------------------------------------------------------
    std::optional<AmqpConnection> connection_;
    Backoff backoff_;
    AckBatcher acks_;
    UserQueues user_queues_;
    AmqpConsumer consumer_;
    // A connection attempt failed or the connection was lost since the last connect: the next
    // connect is a recovery, after which local clients must resync (on_resubscribed). Not at a
    // first connect that succeeds at once: no client can have missed anything yet.
    bool recovering_ = false;
    bool logged_down_ = false;
    Clock::time_point last_sweep_{};
};

}  // namespace chatd::bus
