#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace chatd::chat {
class ChatService;
class Hub;
}  // namespace chatd::chat
namespace chatd::metrics {
class Metrics;
}

namespace chatd::net {

struct ServerOptions {
    std::string address = "127.0.0.1";
    unsigned short port = 8080;  // 0: any free port; see Server::port()
    // A second listener serving only GET /metrics and /healthz (--metrics-listen); the main one
    // then answers /metrics 404. Empty address: none, /metrics is on the main listener.
    std::string metrics_address;
    unsigned short metrics_port = 0;  // 0: any free port; see Server::metrics_port()
    unsigned threads = 1;
    std::size_t blocking_threads = 4;
    std::string web_root;                    // empty: the built-in page
    std::size_t web_cache_bytes = 64 << 20;  // web_root's files held in memory (StaticFiles)
    std::vector<std::string> cors_origins;   // "*" allows any origin
    // Origins besides the server's own from which a cookie-signed request or WebSocket may come.
    std::vector<std::string> allowed_origins;
    std::size_t max_body_bytes = 64 * 1024;
    std::size_t max_header_bytes = 8 * 1024;
    std::size_t max_frame_bytes = 64 * 1024;
    unsigned ws_max_message_frames = 1024;  // frames of one fragmented message; 0: no limit
    std::size_t max_connections = 19000;
    std::size_t max_connections_per_address = 256;  // every TCP connection, counted at accept
    // Above 90 % of max_connections, an address holding this many is refused (0: off).
    std::size_t headroom_connections_per_address = 16;
    std::size_t outbox_max_bytes = 4 * 1024 * 1024;
    std::size_t outbox_max_frames = 16384;
    unsigned http_idle_timeout_s = 60;
    unsigned http_request_timeout_s = 10;
    unsigned http_first_request_timeout_s = 5;  // the wait for a new connection's first request
    // Peers (CIDR or single addresses) whose X-Forwarded-For is believed; invalid ones throw.
    std::vector<std::string> trusted_proxies;
    unsigned ws_ping_interval_s = 30;
    unsigned shutdown_grace_ms = 5000;
};

// The HTTP + WebSocket front of chatd: listener, router, static files, seed and native APIs.
// Owns the I/O threads and the blocking pool; everything Beast stays behind this class.
class Server {
  public:
    // `ready` feeds /readyz (store and bus usable); it runs on the blocking pool. Binds the
    // listener at once (throws if it cannot), so port() is known before run().
    Server(ServerOptions options,
           chat::ChatService& service,
           chat::Hub& hub,
           metrics::Metrics& metrics,
           std::function<bool()> ready);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    unsigned short port() const;
    // The metrics listener's port; 0 when there is none.
    unsigned short metrics_port() const;
    // Serves until SIGTERM/SIGINT or stop(), then shuts down gracefully: stops accepting, closes
    // every WebSocket with 1012, waits up to the grace period, and returns.
    void run();
    // Thread-safe; starts the graceful shutdown.
    void stop();

  private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace chatd::net
