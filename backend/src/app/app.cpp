#include "app/app.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <memory>
#include <stdexcept>
#include <thread>

#include "auth/auth.hpp"
#include "bus/local_bus.hpp"
#include "chat/hub.hpp"
#include "chat/service.hpp"
#include "metrics/metrics.hpp"
#include "net/server.hpp"
#include "store/sqlite_store.hpp"

namespace chatd::app {
namespace {

auth::PasswordCost password_cost(const std::string& name) {
    if (name == "min") return auth::PasswordCost{1, 8192};
    if (name == "moderate") return auth::PasswordCost{3, 256ull * 1024 * 1024};
    return auth::PasswordCost{};
}

std::unique_ptr<store::Store> open_store(const Config& config, metrics::Metrics& metrics) {
    if (config.db.starts_with("sqlite:")) {
        store::SqliteOptions options;
        options.path = config.db.substr(std::string_view("sqlite:").size());
        options.synchronous_full = config.sqlite_sync == "full";
        options.read_connections = config.blocking_threads;
        return std::make_unique<store::SqliteStore>(options, &metrics);
    }
    throw std::invalid_argument("--db " + redact_url(config.db) +
                                ": PostgreSQL support is not built yet (issue 3)");
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
    if (!config.amqp_url.empty()) {
        throw std::invalid_argument("--amqp-url: the RabbitMQ bus is not built yet (issue 3)");
    }
    spdlog::info("chatd {} starting: {}", version, describe(config));

    auth::initialize();
    metrics::Metrics metrics(version);
    auto store = open_store(config, metrics);
    bus::LocalBus bus;
    chat::Hub hub(metrics);
    bus.start([&hub](const model::EventPtr& event) { hub.deliver(*event); });

    chat::ServiceOptions service_options;
    service_options.open_auth = open;
    service_options.max_message_length = config.max_message_length;
    service_options.max_frame_bytes = config.max_frame_bytes;
    service_options.rate_per_second = config.rate_per_second;
    service_options.rate_burst = config.rate_burst;
    service_options.password_cost = password_cost(config.password_cost);
    service_options.session_ttl = std::chrono::hours(config.session_ttl_hours);
    service_options.version = version;
    chat::ChatService service(*store, bus, hub, metrics, service_options);

    const auto colon = config.listen.rfind(':');
    net::ServerOptions server_options;
    server_options.address = config.listen.substr(0, colon);
    server_options.port = static_cast<unsigned short>(std::stoul(config.listen.substr(colon + 1)));
    server_options.threads = config.threads;
    server_options.blocking_threads = config.blocking_threads;
    server_options.web_root = config.web_root;
    server_options.cors_origins = config.cors_origins;
    server_options.max_body_bytes = config.max_body_bytes;
    server_options.max_header_bytes = config.max_header_bytes;
    server_options.max_frame_bytes = config.max_frame_bytes;
    server_options.max_connections = config.max_connections;
    server_options.max_connections_per_address = config.max_connections_per_address;
    server_options.outbox_max_bytes = config.outbox_max_bytes;
    server_options.outbox_max_frames = config.outbox_max_frames;
    server_options.http_idle_timeout_s = config.http_idle_timeout_s;
    server_options.ws_ping_interval_s = config.ws_ping_interval_s;
    server_options.shutdown_grace_ms = config.shutdown_grace_ms;
    {
        net::Server server(server_options, service, hub, metrics, [&bus] { return bus.ready(); });
        server.run();
    }
    store->flush();
    bus.stop();
    spdlog::info("chatd stopped");
    return 0;
}

}  // namespace chatd::app
