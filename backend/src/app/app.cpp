#include "app/app.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include "auth/auth.hpp"
#include "bus/amqp_bus.hpp"
#include "bus/local_bus.hpp"
#include "chat/hub.hpp"
#include "chat/presence_relay.hpp"
#include "chat/service.hpp"
#include "delivery/last_seen_writer.hpp"
#include "delivery/local_publisher.hpp"
#include "delivery/outbox_publisher.hpp"
#include "delivery/presence_batcher.hpp"
#include "metrics/metrics.hpp"
#include "model/clock.hpp"
#include "net/server.hpp"
#include "store/open_store.hpp"

namespace chatd::app {
namespace {

auth::PasswordCost password_cost(const std::string& name) {
    if (name == "min") return auth::PasswordCost{1, 8192};
    if (name == "moderate") return auth::PasswordCost{3, 256ull * 1024 * 1024};
    return auth::PasswordCost{};
}

std::unique_ptr<store::Store> open_store(const Config& config, metrics::Metrics& metrics) {
    store::StoreTuning tuning;
    tuning.sqlite_synchronous_full = config.sqlite_sync == "full";
    tuning.connections = config.blocking_threads;
    tuning.max_batch = config.store_max_batch;
    return store::open_store(config.db, tuning, &metrics);
}

// The deployment shape: one process (an in-process bus, the local publisher), or RabbitMQ
// (AmqpBus, the outbox publisher).
struct Transport {
    std::unique_ptr<bus::Bus> bus;
    bus::BrokerBus* broker = nullptr;  // the same bus, when it goes through a broker
    // Destroyed after bus->stop(): it drains its queue into a bus that publishes nothing more
    // (the outbox keeps what was not confirmed).
    std::unique_ptr<chat::Publisher> publisher;
};

Transport open_transport(const Config& config, store::Store& store, metrics::Metrics& metrics) {
    Transport transport;
    if (config.amqp_url.empty()) {
        transport.bus = std::make_unique<bus::LocalBus>();
        transport.publisher = std::make_unique<delivery::LocalPublisher>(*transport.bus);
        return transport;
    }
    bus::AmqpOptions options;
    options.url = config.amqp_url;
    options.topology =
        config.amqp_topology == "per-node" ? bus::Topology::PerNode : bus::Topology::PerUser;
    options.node_id = config.node_id;
    auto amqp = std::make_unique<bus::AmqpBus>(options, metrics);
    transport.broker = amqp.get();
    transport.publisher = std::make_unique<delivery::OutboxPublisher>(
        store, *amqp, metrics, delivery::OutboxPublisher::Options{});
    transport.bus = std::move(amqp);
    return transport;
}

// /readyz: the bus is usable and the store answers a read (the general room exists from the
// first migration). Called on the blocking pool: the read may wait for the database.
bool ready(bus::Bus& bus, store::Store& store) {
    if (!bus.ready()) return false;
    try {
        return store.find_room("general").has_value();
    } catch (const std::exception& error) {
        spdlog::warn("not ready: the store does not answer: {}", error.what());
        return false;
    }
}

std::string host_name() {
    char buffer[256] = {};
    if (gethostname(buffer, sizeof buffer - 1) != 0) return "chatd";
    return buffer;
}

}  // namespace

int run(const Config& input, const std::string& version) {
    Config config = input;
    if (config.node_id.empty()) config.node_id = host_name();
    if (config.threads == 0) config.threads = std::max(1u, std::thread::hardware_concurrency());
    const bool open = config.auth == "open";
    if (config.cors_origins.empty() && open) config.cors_origins = {"*"};
    spdlog::info("chatd {} starting: {}", version, describe(config));

    auth::initialize();
    metrics::Metrics metrics(version);
    auto store = open_store(config, metrics);
    auto transport = open_transport(config, *store, metrics);
    auto& bus = transport.bus;
    chat::Hub hub(metrics);
    hub.set_ephemeral_queue_limit(config.ephemeral_queue_bytes);

    chat::ServiceOptions service_options;
    service_options.open_auth = open;
    service_options.max_message_length = config.max_message_length;
    service_options.edit_window = std::chrono::seconds(config.edit_window_seconds);
    service_options.max_reactions_per_message = config.max_reactions_per_message;
    service_options.max_unread_count = config.max_unread_count;
    service_options.max_room_mention_members = config.max_room_mention_members;
    service_options.max_members_page = config.max_members_page;
    service_options.max_group_dm_members = config.max_group_dm_members;
    service_options.max_frame_bytes = config.max_frame_bytes;
    service_options.rate_per_second = config.rate_per_second;
    service_options.rate_burst = config.rate_burst;
    const auto frames = frame_limits(config);
    service_options.frame_limits =
        chat::FrameGuard::Limits{frames.connection_rate, frames.connection_burst, frames.user_rate,
                                 frames.user_burst, config.frame_flood_close};
    service_options.typing_interval = std::chrono::milliseconds(config.typing_interval_ms);
    service_options.password_cost = password_cost(config.password_cost);
    service_options.password_policy = config.password_policy == "length"
                                          ? auth::PasswordPolicy::length
                                          : auth::PasswordPolicy::dictionary;
    service_options.session_ttl = std::chrono::hours(config.session_ttl_hours);
    service_options.version = version;
    service_options.max_sessions_per_user = config.max_sessions_per_user;
    service_options.session_user_agent_bytes = config.session_user_agent_bytes;
    service_options.max_registrations_per_address = config.register_max_per_address;
    service_options.registration_window = std::chrono::minutes(config.register_window_minutes);
    service_options.login_throttle = chat::LoginThrottleOptions{
        .pair_max_failures = config.login_max_pair_failures,
        .address_max_failures = config.login_max_address_failures,
        .account_max_failures = config.login_max_account_failures,
        .base_delay = std::chrono::milliseconds(config.login_delay_base_ms),
        .max_delay = std::chrono::seconds(config.login_delay_max_s),
        .forget_after = std::chrono::hours(config.login_forget_hours),
    };
    service_options.people =
        chat::PeopleOptions{.max_page = config.max_people_page,
                            .max_display_name_length = config.max_display_name_length};
    delivery::LastSeenWriter last_seen(*store, metrics,
                                       std::chrono::milliseconds(config.last_seen_interval_ms));
    service_options.on_last_disconnect = [&last_seen](const std::string& user_name) {
        last_seen.record(user_name, model::now_ms());
    };
    std::optional<delivery::PresenceBatcher> presence;
    if (config.presence_window_ms > 0) {
        presence.emplace(hub, std::chrono::milliseconds(config.presence_window_ms));
    }
    chat::ChatService service(*store, *bus, *transport.publisher, hub, metrics, service_options);
    service.backfill_name_keys();
    if (transport.broker) {
        transport.broker->on_resubscribed([&service] { service.resync_native_clients(); });
    }
    // The bus may deliver from now on (its own thread for RabbitMQ); chatd serves while the
    // broker is down: /readyz says so and stored messages wait in the outbox.
    // Clients see a user's presence over every node, not one node's change (PresenceRelay).
    chat::PresenceRelay presence_relay(
        [&service](const std::string& user_name) { return service.availability(user_name); });
    bus->start([&service, &presence, &presence_relay](const model::EventPtr& event,
                                                      const std::string& only_user) {
        const auto* update = std::get_if<model::Presence>(event.get());
        if (!update) {
            service.on_bus_event(event, only_user);
            return;
        }
        presence_relay.relay(*update, [&](const model::Presence& shown) {
            if (presence) {
                presence->add(shown);
            } else {
                service.on_bus_event(std::make_shared<const model::Event>(shown), only_user);
            }
        });
    });

    const auto colon = config.listen.rfind(':');
    net::ServerOptions server_options;
    server_options.address = config.listen.substr(0, colon);
    server_options.port = static_cast<unsigned short>(std::stoul(config.listen.substr(colon + 1)));
    if (!config.metrics_listen.empty()) {
        const auto metrics_colon = config.metrics_listen.rfind(':');
        server_options.metrics_address = config.metrics_listen.substr(0, metrics_colon);
        server_options.metrics_port = static_cast<unsigned short>(
            std::stoul(config.metrics_listen.substr(metrics_colon + 1)));
    }
    server_options.threads = config.threads;
    server_options.blocking_threads = config.blocking_threads;
    server_options.web_root = config.web_root;
    server_options.web_cache_bytes = config.web_cache_bytes;
    server_options.cors_origins = config.cors_origins;
    server_options.allowed_origins = config.allowed_origins;
    server_options.max_body_bytes = config.max_body_bytes;
    server_options.max_header_bytes = config.max_header_bytes;
    server_options.max_frame_bytes = config.max_frame_bytes;
    server_options.ws_max_message_frames = config.ws_max_message_frames;
    server_options.max_connections = config.max_connections;
    server_options.max_connections_per_address = config.max_connections_per_address;
    server_options.headroom_connections_per_address = config.headroom_connections_per_address;
    server_options.http_first_request_timeout_s = config.http_first_request_timeout_s;
    server_options.outbox_max_bytes = config.outbox_max_bytes;
    server_options.outbox_max_frames = config.outbox_max_frames;
    server_options.http_idle_timeout_s = config.http_idle_timeout_s;
    server_options.http_request_timeout_s = config.http_request_timeout_s;
    server_options.trusted_proxies = config.trusted_proxies;
    server_options.ws_ping_interval_s = config.ws_ping_interval_s;
    server_options.shutdown_grace_ms = config.shutdown_grace_ms;
    {
        net::Server server(server_options, service, hub, metrics,
                           [&bus, &store] { return ready(*bus, *store); });
        server.run();
    }
    store->flush();
    bus->stop();
    spdlog::info("chatd stopped");
    return 0;
}

}  // namespace chatd::app
