#include "bus/amqp_loop.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <random>

#include "bus/amqp_topology.hpp"
#include "metrics/metrics.hpp"

namespace chatd::bus {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(100);
constexpr std::size_t kMaxFramesPerStep = 512;

}  // namespace

AmqpLoop::AmqpLoop(AmqpOptions options, metrics::Metrics& metrics)
    : address_(BrokerAddress::parse(options.url)),
      options_(std::move(options)),
      metrics_(metrics),
      presence_(options_.node_id, options_.presence_interval, options_.presence_misses, local_),
      publisher_(options_.max_queued, metrics, wake_),
      backoff_(options_.backoff_base, options_.backoff_cap, std::random_device{}()),
      consumer_(options_.node_id,
                options_.prefetch,
                acks_,
                local_,
                user_queues_,
                presence_,
                publisher_,
                [this](const model::EventPtr& event, const std::string& only_user) {
                    deliver(event, only_user);
                }) {
    if (options_.node_id.empty()) throw std::invalid_argument("AmqpBus needs a node id");
}

AmqpLoop::~AmqpLoop() {
    stop();
}

void AmqpLoop::start(Bus::Handler on_event) {
    {
        std::unique_lock lock(handler_mutex_);
        handler_ = std::move(on_event);
    }
    running_ = true;
    thread_ = std::thread([this] { run(); });
}

void AmqpLoop::stop() {
    if (running_.exchange(false)) wake_.wake();
    if (thread_.joinable()) thread_.join();
    std::unique_lock lock(handler_mutex_);
    handler_ = nullptr;
}

void AmqpLoop::on_connected(std::function<void()> callback) {
    connected_callback_ = std::move(callback);
}

void AmqpLoop::on_resubscribed(std::function<void()> callback) {
    resubscribed_callback_ = std::move(callback);
}

void AmqpLoop::deliver(const model::EventPtr& event, const std::string& only_user) {
    std::shared_lock lock(handler_mutex_);
    if (handler_) handler_(event, only_user);
}

BrokerUserChannels AmqpLoop::user_channels() {
    return BrokerUserChannels(*connection_, acks_, options_.prefetch);
}

void AmqpLoop::run() {
    // Named so that its CPU time can be read apart (/proc/<pid>/task/*/comm): the AMQP client's
    // work and chatd's consume path all run here (scripts/amqp-overhead).
    pthread_setname_np(pthread_self(), "chatd-amqp");
    while (running_) {
        try {
            if (!connection_) connect();
            if (options_.topology == Topology::PerUser) {
                auto channels = user_channels();
                user_queues_.reconcile(channels, local_, Clock::now());
            }
            publisher_.send_queued(*connection_);
            periodic();
            read(kPollInterval);
        } catch (const std::exception& e) {
            if (!logged_down_) spdlog::warn("amqp: {}", e.what());
            teardown(e.what());
            logged_down_ = true;
            idle(backoff_.next());
        }
    }
    if (connection_) close_gracefully();
    teardown("stopped");
    local_.settle_all();
}

void AmqpLoop::connect() {
    connection_.emplace(address_, options_.heartbeat_s, kFirstUserChannel);
    connection_->open_channel(kPublishChannel);
    connection_->select_confirms(kPublishChannel);
    publisher_.start_channel();
    // Per-user: no user queue is consumed yet (reconcile does it next); a client that reconnects
    // waits in when_subscribed until its queue is bound, then resyncs.
    user_queues_.clear();
    local_.mark_changed();
    declare_node_topology(*connection_, options_, [this] {
        if (recovering_ && resubscribed_callback_) resubscribed_callback_();
    });
    recovering_ = false;
    connected_ = true;
    metrics_.broker_connected.Set(1);
    metrics_.broker_reconnects.Increment();
    backoff_.reset();
    spdlog::info("amqp: connected to {}:{} vhost {} ({} topology, node {})", address_.host,
                 address_.port, address_.vhost,
                 options_.topology == Topology::PerUser ? "per-user" : "per-node",
                 options_.node_id);
    logged_down_ = false;
    presence_.restart(Clock::now());
    sweep();
}

void AmqpLoop::teardown(const std::string& why) {
    if (why != "stopped") recovering_ = true;
    if (connection_) {
        if (!logged_down_ && why != "stopped") spdlog::warn("amqp: disconnected: {}", why);
        logged_down_ = true;
        connection_.reset();
    }
    connected_ = false;
    metrics_.broker_connected.Set(0);
    publisher_.fail_in_flight();
    acks_.clear();
    user_queues_.clear();
    local_.unsettle_all();
    local_.settle_all();  // nobody waits for a broker that is down
    publisher_.fail_queued();
}

void AmqpLoop::sweep() {
    publisher_.swept();
    last_sweep_ = Clock::now();
    if (connected_callback_) connected_callback_();
}

void AmqpLoop::periodic() {
    const auto now = Clock::now();
    if (auto heartbeat = presence_.heartbeat_due(now)) {
        publisher_.send(*connection_, *heartbeat, kEventsExchange, false, nullptr);
        for (const auto& name : presence_.expire(now)) {
            deliver(std::make_shared<const model::Event>(model::Presence{name, false}), {});
        }
    }
    if (publisher_.failed_since_sweep() && now - last_sweep_ > std::chrono::seconds(1)) sweep();
}

void AmqpLoop::read(std::chrono::milliseconds wait) {
    connection_->read(wait, wake_, kMaxFramesPerStep,
                      [this](const Incoming& incoming) { on_incoming(incoming); });
    acks_.flush(
        [this](Channel channel, std::uint64_t tag) { connection_->ack_up_to(channel, tag); });
    connection_->release_buffers();
}

void AmqpLoop::on_incoming(const Incoming& incoming) {
    switch (incoming.kind) {
        case Incoming::Kind::Ack:
        case Incoming::Kind::Nack:
            if (incoming.channel == kPublishChannel) {
                publisher_.on_confirm(incoming.tag, incoming.multiple,
                                      incoming.kind == Incoming::Kind::Ack);
            }
            break;
        case Incoming::Kind::Delivery:
            consumer_.on_delivery(*connection_, incoming.channel, incoming.tag, incoming.body);
            break;
        case Incoming::Kind::ConsumerCancelled: {
            // The user's queue was deleted: consume it again later.
            auto channels = user_channels();
            if (!user_queues_.on_cancelled(channels, incoming.channel, Clock::now())) {
                throw ConnectionLost("consumer cancelled");
            }
            break;
        }
        case Incoming::Kind::ChannelClosed:
            acks_.forget(incoming.channel);
            if (!user_queues_.on_closed(incoming.channel, Clock::now())) {
                throw ConnectionLost("channel closed by the broker");
            }
            break;
    }
}

void AmqpLoop::idle(std::chrono::milliseconds delay) {
    const auto until = Clock::now() + delay;
    while (running_ && Clock::now() < until) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
        wake_.wait(std::max(std::chrono::milliseconds(1), left));
        publisher_.fail_queued();
    }
}

void AmqpLoop::close_gracefully() {
    // Publish what is queued and wait (bounded) for its confirms.
    try {
        const auto deadline = Clock::now() + options_.stop_grace;
        publisher_.send_queued(*connection_);
        while (publisher_.awaiting_confirms() && Clock::now() < deadline) {
            read(std::chrono::milliseconds(50));
        }
        acks_.flush(
            [this](Channel channel, std::uint64_t tag) { connection_->ack_up_to(channel, tag); });
        connection_->close();
    } catch (const std::exception& e) {
        spdlog::warn("amqp: at stop: {}", e.what());
    }
}

}  // namespace chatd::bus
