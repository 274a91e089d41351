#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace chatd::app {

// Every setting, with its default. Sources, strongest first (CLI11's order): command-line
// flags, the --config file (TOML, same keys as the long flags), CHATD_* environment variables.
// docs/operations.md and backend/chatd.example.toml describe each key.
struct Config {
    std::string listen = "127.0.0.1:8080";
    // A second listener for GET /metrics and /healthz only; the main one then answers /metrics
    // 404. Empty: /metrics is on the main listener.
    std::string metrics_listen;
    std::string db = "sqlite:data/chatd.db";
    std::string auth = "password";  // password | open
    std::string amqp_url;           // empty: in-process bus
    std::string amqp_topology = "per-user";
    std::string web_root;  // empty: the built-in page
    // Web client files (their compressed variants included) kept in memory; past it a file is
    // read from disk for each request.
    std::size_t web_cache_bytes = 64 << 20;
    std::string node_id;   // empty: the host name
    unsigned threads = 0;  // 0: one per core
    std::string log_level = "info";
    std::vector<std::string> cors_origins;     // empty: "*" in open mode, none in password mode
    std::vector<std::string> allowed_origins;  // cookie sign-in: origins besides the server's own
    // Peers (CIDR) whose X-Forwarded-For names the client; empty: the peer is the client.
    std::vector<std::string> trusted_proxies;

    std::size_t max_frame_bytes = 64 * 1024;
    unsigned ws_max_message_frames = 1024;  // 0: no limit
    std::size_t max_message_length = 4000;
    unsigned edit_window_seconds = 0;            // edits and deletes of own messages; 0: any time
    std::size_t max_reactions_per_message = 50;  // distinct emoji on one message
    std::size_t max_unread_count = 999;          // unread counts stop here ("999+")
    std::size_t max_room_mention_members = 50;   // @room only in rooms this small
    // People (docs/protocol.md "People").
    std::size_t max_people_page = 100;         // people per directory page
    std::size_t max_display_name_length = 64;  // code points
    unsigned last_seen_interval_ms = 5000;     // at most one last-seen write per interval
    std::size_t max_group_dm_members = 8;      // people in one direct conversation, opener included
    std::size_t max_members_page = 1000;       // names per GET /api/rooms/{room}/members
    std::size_t max_body_bytes = 64 * 1024;
    std::size_t max_header_bytes = 8 * 1024;
    double rate_per_second = 20;
    double rate_burst = 40;
    // Every /ws client frame (send, typing, ping, anything): per connection and per user.
    // 0: derived from the message limit (frame_limits()), so that raising --rate-per-second
    // for a load test raises these with it.
    double frame_rate_per_second = 0;
    double frame_rate_burst = 0;
    double user_frame_rate_per_second = 0;
    double user_frame_rate_burst = 0;
    std::size_t frame_flood_close = 1000;  // refused frames within a second: close 1008; 0: never
    unsigned typing_interval_ms = 1000;    // one typing notice per user per room per interval
    std::size_t ephemeral_queue_bytes = 64 * 1024;  // typing/presence not queued beyond it
    std::size_t max_connections = 19000;
    std::size_t max_connections_per_address = 256;
    std::size_t headroom_connections_per_address = 16;  // above 90 % of max_connections; 0: off
    std::size_t outbox_max_bytes = 4 * 1024 * 1024;
    std::size_t outbox_max_frames = 16384;
    unsigned http_idle_timeout_s = 60;
    unsigned http_first_request_timeout_s = 5;  // a new connection's wait for its first request
    unsigned http_request_timeout_s = 10;       // a request's bytes, once its first one arrived
    unsigned ws_ping_interval_s = 30;
    unsigned shutdown_grace_ms = 5000;

    // Sign-in throttling (chat::LoginThrottle): failures per (account, address), per address
    // (0: off) and per account (0: off) after which the key waits, doubling delays.
    std::size_t login_max_pair_failures = 3;
    std::size_t login_max_address_failures = 20;
    std::size_t login_max_account_failures = 100;
    unsigned login_delay_base_ms = 1000;
    unsigned login_delay_max_s = 900;
    unsigned login_forget_hours = 24;

    std::string password_cost = "interactive";   // interactive | moderate | min (tests only)
    std::string password_policy = "dictionary";  // dictionary | length
    unsigned session_ttl_hours = 24 * 30;
    std::size_t max_sessions_per_user = 20;      // 0: no limit
    std::size_t session_user_agent_bytes = 256;  // of a session's User-Agent, kept for its list
    std::size_t register_max_per_address = 20;   // 0: no limit
    unsigned register_window_minutes = 60;
    std::string sqlite_sync = "full";  // full | normal
    std::size_t blocking_threads = 4;
    // Appends per group commit, at most (one transaction, one fsync with --sqlite-sync full).
    std::size_t store_max_batch = 4096;
    // Presence changes are gathered this long, then sent to each connection in one write (a
    // connect burst costs one write per connection per window, not one per connect); 0: at once.
    unsigned presence_window_ms = 20;
};

// The frame limits in effect: each flag, or when it is 0, the larger of a floor and a multiple
// of the message limit (per connection: 50/s or 2x --rate-per-second, burst 200 or 2x
// --rate-burst; per user: 100/s or 4x, burst 400 or 4x).
struct FrameLimits {
    double connection_rate;
    double connection_burst;
    double user_rate;
    double user_burst;
};
FrameLimits frame_limits(const Config& config);

// Parses flags, file and environment. Returns nullopt after printing --help or --version;
// throws std::invalid_argument with a readable message for bad input.
std::optional<Config> parse_config(int argc, const char* const* argv, const std::string& version);

// One line, every setting, secrets (passwords in URLs) redacted.
std::string describe(const Config& config);

// "user:secret@" in a URL becomes "user:***@".
std::string redact_url(const std::string& url);

}  // namespace chatd::app
