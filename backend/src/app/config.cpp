#include "app/config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <chrono>
#include <iostream>
#include <stdexcept>

namespace chatd::app {
namespace {

template <class T>
CLI::Option* add(CLI::App& app, const std::string& name, T& value, const std::string& help) {
    std::string env = "CHATD_";
    for (char c : name) env += c == '-' ? '_' : static_cast<char>(std::toupper(c));
    return app.add_option("--" + name, value, help)->envname(env)->capture_default_str();
}

// "10.0.0.0/8", "fd00::/8" or a single address, spaces around it trimmed ("a, b" lists);
// empty string when valid, else the reason.
std::string check_cidr(std::string& text) {
    const auto first = text.find_first_not_of(" \t");
    const auto last = text.find_last_not_of(" \t");
    text = first == std::string::npos ? std::string{} : text.substr(first, last - first + 1);
    boost::system::error_code ec;
    if (text.find('/') == std::string::npos) {
        boost::asio::ip::make_address(text, ec);
    } else if (text.find(':') == std::string::npos) {
        const auto network = boost::asio::ip::make_network_v4(text, ec);
        if (!ec && network != network.canonical()) return "host bits set in " + text;
    } else {
        const auto network = boost::asio::ip::make_network_v6(text, ec);
        if (!ec && network != network.canonical()) return "host bits set in " + text;
    }
    return ec ? "not an address or CIDR network: " + text : std::string{};
}

}  // namespace

std::optional<Config> parse_config(int argc, const char* const* argv, const std::string& version) {
    Config c;
    CLI::App app{"chatd: real-time chat server (HTTP + WebSocket)", "chatd"};
    app.set_version_flag("--version", version);
    app.set_config("--config", "", "TOML file with the same keys as the long flags")
        ->envname("CHATD_CONFIG");

    add(app, "listen", c.listen, "Address and port of the HTTP/WebSocket listener (port 0: any)");
    add(app, "metrics-listen", c.metrics_listen,
        "ADDRESS:PORT of a listener serving only GET /metrics and /healthz; the main listener "
        "then answers /metrics 404 (empty: /metrics on the main listener; port 0: any)");
    add(app, "db", c.db, "Store URL: sqlite:PATH or postgresql://...");
    add(app, "auth", c.auth, "password: accounts; open: the brief's name-only sign-in")
        ->check(CLI::IsMember({"password", "open"}));
    add(app, "amqp-url", c.amqp_url,
        "RabbitMQ URL amqp://user:pass@host:port/vhost (empty: in-process bus)");
    add(app, "amqp-topology", c.amqp_topology, "per-user (the brief's) or per-node queues")
        ->check(CLI::IsMember({"per-user", "per-node"}));
    add(app, "web-root", c.web_root, "Directory of the web client (empty: built-in page)");
    add(app, "web-cache-bytes", c.web_cache_bytes,
        "Most bytes of web client files (with their .br and .gz variants) kept in memory; a "
        "file past it is read from disk on each request (0: none kept)")
        ->check(CLI::Range(std::size_t{0}, std::size_t{1} << 34));
    add(app, "node-id", c.node_id, "Name of this node (empty: host name)");
    add(app, "threads", c.threads, "I/O threads (0: one per core)");
    add(app, "log-level", c.log_level, "trace, debug, info, warn, error, critical, off")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
    add(app, "cors-origins", c.cors_origins, "Allowed browser origins (empty: * in open mode)")
        ->delimiter(',');
    add(app, "allowed-origins", c.allowed_origins,
        "Origins (scheme://host[:port]) besides the server's own from which a request or "
        "WebSocket signed in by the web client's cookie is accepted (empty: only its own)")
        ->delimiter(',');
    add(app, "trusted-proxies", c.trusted_proxies,
        "Reverse proxies (CIDR list) whose X-Forwarded-For names the client address, used for "
        "per-address limits and logs (empty: the TCP peer is the client)")
        ->delimiter(',')
        ->transform(CLI::Validator(check_cidr, "CIDR"));
    add(app, "max-frame-bytes", c.max_frame_bytes,
        "Largest WebSocket message accepted (close 1009)")
        ->check(CLI::Range(std::size_t{256}, std::size_t{16} << 20));
    add(app, "ws-max-message-frames", c.ws_max_message_frames,
        "Most frames in one fragmented WebSocket message; past it the connection is dropped "
        "(0: no limit)");
    add(app, "max-message-length", c.max_message_length, "Longest message content, in characters")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 20));
    add(app, "edit-window-seconds", c.edit_window_seconds,
        "Seconds after sending during which users may edit or delete their own messages (0: any "
        "time)")
        ->check(CLI::Range(0u, 10u * 366u * 24u * 3600u));
    add(app, "max-reactions-per-message", c.max_reactions_per_message,
        "Distinct emoji reactions one message may hold; a reaction with a new one beyond it is "
        "refused")
        ->check(CLI::Range(std::size_t{1}, std::size_t{10000}));
    add(app, "max-unread-count", c.max_unread_count,
        "Unread counts stop at this many messages per room (the web client shows \"999+\"); "
        "counting reads at most this many index entries per room")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
    add(app, "max-room-mention-members", c.max_room_mention_members,
        "@room (a mention of every member) is refused in rooms with more members than this "
        "(room_mention_too_large); 0 refuses it everywhere")
        ->check(CLI::Range(std::size_t{0}, std::size_t{100000}));
    add(app, "max-people-page", c.max_people_page,
        "People per page of the directory (GET /api/people), at most; a larger limit is refused")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000}));
    add(app, "max-display-name-length", c.max_display_name_length,
        "Longest display name, in Unicode code points")
        ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
    add(app, "last-seen-interval-ms", c.last_seen_interval_ms,
        "Last-seen times are written at most once per interval, gathered into one transaction")
        ->check(CLI::Range(1u, 600000u));
    add(app, "max-members-page", c.max_members_page,
        "Most member names one GET /api/rooms/{room}/members page returns; a larger limit is "
        "refused (bad_request)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
    add(app, "max-group-dm-members", c.max_group_dm_members,
        "Most people in one direct conversation, its opener included; a larger one is refused "
        "(group_dm_too_large)")
        ->check(CLI::Range(std::size_t{2}, std::size_t{64}));
    add(app, "max-body-bytes", c.max_body_bytes, "Largest HTTP request body (413)")
        ->check(CLI::Range(std::size_t{256}, std::size_t{16} << 20));
    add(app, "max-header-bytes", c.max_header_bytes, "Largest HTTP request header block (431)")
        ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 20));
    add(app, "rate-per-second", c.rate_per_second, "Messages per second per user, sustained")
        ->check(CLI::PositiveNumber);
    add(app, "rate-burst", c.rate_burst, "Messages per user allowed in a burst")
        ->check(CLI::Range(1.0, 1e9));
    add(app, "frame-rate-per-second", c.frame_rate_per_second,
        "WebSocket client frames (any type) per second per connection, sustained (0: the larger "
        "of 50 and 2x --rate-per-second)")
        ->check(CLI::NonNegativeNumber);
    add(app, "frame-rate-burst", c.frame_rate_burst,
        "WebSocket client frames per connection in a burst (0: the larger of 200 and 2x "
        "--rate-burst)")
        ->check(CLI::Range(0.0, 1e9));
    add(app, "user-frame-rate-per-second", c.user_frame_rate_per_second,
        "WebSocket client frames per second per user (all connections), sustained (0: the larger "
        "of 100 and 4x --rate-per-second)")
        ->check(CLI::NonNegativeNumber);
    add(app, "user-frame-rate-burst", c.user_frame_rate_burst,
        "WebSocket client frames per user in a burst (0: the larger of 400 and 4x --rate-burst)")
        ->check(CLI::Range(0.0, 1e9));
    add(app, "frame-flood-close", c.frame_flood_close,
        "Refused frames within one second after which the connection is closed (1008; 0: never)");
    add(app, "typing-interval-ms", c.typing_interval_ms,
        "At most one typing notice per user per room within this time (0: every one)")
        ->check(CLI::Range(0u, 60000u));
    add(app, "ephemeral-queue-bytes", c.ephemeral_queue_bytes,
        "Typing and presence frames are dropped for a connection with more bytes queued");
    add(app, "max-connections", c.max_connections, "Open connections per process (503 beyond)");
    add(app, "max-connections-per-address", c.max_connections_per_address,
        "Open TCP connections per client IP address, counted at accept (429 beyond); a trusted "
        "proxy's are counted per forwarded address at the WebSocket upgrade");
    add(app, "headroom-connections-per-address", c.headroom_connections_per_address,
        "Above 90% of --max-connections, a new connection from an address already holding this "
        "many is refused (429), so addresses holding few still get in; 0 turns it off");
    add(app, "outbox-max-bytes", c.outbox_max_bytes,
        "Bytes queued for one slow client before it is disconnected (close 1013)")
        ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 30));
    add(app, "outbox-max-frames", c.outbox_max_frames, "Frames queued for one client, at most")
        ->check(CLI::Range(std::size_t{16}, std::size_t{1} << 24));
    add(app, "http-idle-timeout", c.http_idle_timeout_s,
        "Seconds an idle HTTP connection stays open");
    add(app, "http-request-timeout", c.http_request_timeout_s,
        "Seconds to receive a whole HTTP request once its first byte arrived, else it is closed")
        ->check(CLI::Range(1u, 3600u));
    add(app, "http-first-request-timeout", c.http_first_request_timeout_s,
        "Seconds a new connection may wait before the first byte of its first request")
        ->check(CLI::Range(1u, 3600u));
    add(app, "ws-ping-interval", c.ws_ping_interval_s,
        "Seconds of WebSocket silence before a ping; a second silent period closes it");
    add(app, "shutdown-grace-ms", c.shutdown_grace_ms,
        "How long shutdown waits for sockets to close");
    add(app, "login-max-pair-failures", c.login_max_pair_failures,
        "Failed sign-ins per account and client address after which that pair waits a delay "
        "that doubles with each further failure (429 with Retry-After)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}));
    add(app, "login-max-address-failures", c.login_max_address_failures,
        "Failed sign-ins per client address, across accounts, after which it waits; 0 turns "
        "it off (behind a proxy without --trusted-proxies every client has its address)");
    add(app, "login-max-account-failures", c.login_max_account_failures,
        "Failed sign-ins per account, from every address, after which it waits; the delays apply "
        "only to addresses that failed on the account (0: off)");
    add(app, "login-delay-base-ms", c.login_delay_base_ms,
        "First sign-in delay once failures reach a limit; each further failure doubles it")
        ->check(CLI::Range(1u, 3600000u));
    add(app, "login-delay-max-s", c.login_delay_max_s, "Longest sign-in delay")
        ->check(CLI::Range(1u, 86400u));
    add(app, "login-forget-hours", c.login_forget_hours,
        "Failed sign-ins older than this are forgotten (and purged from the store)")
        ->check(CLI::Range(1u, 8760u));
    add(app, "password-cost", c.password_cost, "argon2id cost: interactive, moderate, min (tests)")
        ->check(CLI::IsMember({"interactive", "moderate", "min"}));
    add(app, "password-policy", c.password_policy,
        "Registration: dictionary (libpwquality: cracklib dictionary, user name, sequences) or "
        "length (8 to 1024 characters only)")
        ->check(CLI::IsMember({"dictionary", "length"}));
    add(app, "session-ttl-hours", c.session_ttl_hours, "Lifetime of a session token");
    add(app, "max-sessions-per-user", c.max_sessions_per_user,
        "Sessions per user; past it the oldest is signed out and its sockets closed (0: no limit)");
    add(app, "session-user-agent-bytes", c.session_user_agent_bytes,
        "Most bytes of a sign-in's User-Agent kept with its session for the sessions list")
        ->check(CLI::Range(std::size_t{0}, std::size_t{4096}));
    add(app, "register-max-per-address", c.register_max_per_address,
        "Registrations per client address while each follows the previous one within "
        "--register-window-minutes (429 beyond; 0: no limit)");
    add(app, "register-window-minutes", c.register_window_minutes,
        "Window of --register-max-per-address")
        ->check(CLI::Range(1u, 100000u));
    add(app, "sqlite-sync", c.sqlite_sync, "full: an ack survives power loss; normal: faster")
        ->check(CLI::IsMember({"full", "normal"}));
    add(app, "blocking-threads", c.blocking_threads, "Threads for store reads and password hashing")
        ->check(CLI::Range(std::size_t{1}, std::size_t{256}));
    add(app, "store-max-batch", c.store_max_batch,
        "Messages per group commit, at most (each batch is one transaction and one sync)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{65536}));
    add(app, "presence-window-ms", c.presence_window_ms,
        "Presence changes gathered this long, then sent in one write per connection (0: at once)")
        ->check(CLI::Range(0u, 1000u));

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        app.exit(e);
        return std::nullopt;
    } catch (const CLI::ParseError& e) {
        throw std::invalid_argument(e.what());
    }
    if (!c.db.starts_with("sqlite:") && !c.db.starts_with("postgresql://") &&
        !c.db.starts_with("postgres://")) {
        throw std::invalid_argument("--db: expected sqlite:PATH or postgresql://...");
    }
    if (std::chrono::hours(c.login_forget_hours) <
        std::chrono::minutes(c.register_window_minutes)) {
        throw std::invalid_argument(
            "--login-forget-hours: must be at least --register-window-minutes (both counts are "
            "purged after it)");
    }
    if (std::chrono::hours(c.login_forget_hours) < std::chrono::seconds(c.login_delay_max_s)) {
        throw std::invalid_argument("--login-forget-hours: must be at least --login-delay-max-s");
    }
    if (c.listen.rfind(':') == std::string::npos) {
        throw std::invalid_argument("--listen: expected ADDRESS:PORT");
    }
    if (!c.metrics_listen.empty()) {
        const auto colon = c.metrics_listen.rfind(':');
        boost::system::error_code ec;
        if (colon != std::string::npos) {
            boost::asio::ip::make_address(c.metrics_listen.substr(0, colon), ec);
        }
        const auto port =
            colon == std::string::npos ? std::string{} : c.metrics_listen.substr(colon + 1);
        const bool port_ok = !port.empty() && port.size() <= 5 &&
                             port.find_first_not_of("0123456789") == std::string::npos &&
                             std::stoul(port) <= 65535;
        if (colon == std::string::npos || ec || !port_ok) {
            throw std::invalid_argument("--metrics-listen: expected IP-ADDRESS:PORT, got " +
                                        c.metrics_listen);
        }
    }
    return c;
}

FrameLimits frame_limits(const Config& c) {
    const auto pick = [](double flag, double floor, double derived) {
        return flag > 0 ? flag : std::max(floor, derived);
    };
    return FrameLimits{pick(c.frame_rate_per_second, 50, 2 * c.rate_per_second),
                       pick(c.frame_rate_burst, 200, 2 * c.rate_burst),
                       pick(c.user_frame_rate_per_second, 100, 4 * c.rate_per_second),
                       pick(c.user_frame_rate_burst, 400, 4 * c.rate_burst)};
}

std::string redact_url(const std::string& url) {
    const auto scheme = url.find("://");
    if (scheme == std::string::npos) return url;
    const auto at = url.find('@', scheme + 3);
    if (at == std::string::npos) return url;
    const auto colon = url.find(':', scheme + 3);
    if (colon == std::string::npos || colon > at) return url;
    return url.substr(0, colon + 1) + "***" + url.substr(at);
}

std::string describe(const Config& c) {
    return fmt::format(
        "listen={} metrics_listen={} db={} auth={} amqp_url={} amqp_topology={} web_root={} "
        "web_cache_bytes={} node_id={} threads={} "
        "log_level={} cors_origins=[{}] allowed_origins=[{}] trusted_proxies=[{}] "
        "max_frame_bytes={} "
        "max_message_length={} edit_window_seconds={} max_reactions_per_message={} "
        "max_unread_count={} max_room_mention_members={} max_members_page={} "
        "max_group_dm_members={} "
        "max_body_bytes={} "
        "max_header_bytes={} "
        "rate_per_second={} "
        "rate_burst={} "
        "frame_rate_per_second={} frame_rate_burst={} user_frame_rate_per_second={} "
        "user_frame_rate_burst={} frame_flood_close={} typing_interval_ms={} "
        "ephemeral_queue_bytes={} "
        "max_connections={} max_connections_per_address={} headroom_connections_per_address={} "
        "http_first_request_timeout={} outbox_max_bytes={} "
        "outbox_max_frames={} http_idle_timeout={} http_request_timeout={} ws_ping_interval={} "
        "shutdown_grace_ms={} "
        "login_max_pair_failures={} login_max_address_failures={} login_max_account_failures={} "
        "login_delay_base_ms={} login_delay_max_s={} login_forget_hours={} "
        "password_cost={} password_policy={} session_ttl_hours={} max_sessions_per_user={} "
        "session_user_agent_bytes={} "
        "register_max_per_address={} register_window_minutes={} sqlite_sync={} blocking_threads={} "
        "store_max_batch={} presence_window_ms={}",
        c.listen, c.metrics_listen.empty() ? "(main listener)" : c.metrics_listen, redact_url(c.db),
        c.auth, c.amqp_url.empty() ? "(in-process)" : redact_url(c.amqp_url), c.amqp_topology,
        c.web_root.empty() ? "(built-in)" : c.web_root, c.web_cache_bytes, c.node_id, c.threads,
        c.log_level, fmt::join(c.cors_origins, ","), fmt::join(c.allowed_origins, ","),
        fmt::join(c.trusted_proxies, ","), c.max_frame_bytes, c.max_message_length,
        c.edit_window_seconds, c.max_reactions_per_message, c.max_unread_count,
        c.max_room_mention_members, c.max_members_page, c.max_group_dm_members, c.max_body_bytes,
        c.max_header_bytes, c.rate_per_second, c.rate_burst, c.frame_rate_per_second,
        c.frame_rate_burst, c.user_frame_rate_per_second, c.user_frame_rate_burst,
        c.frame_flood_close, c.typing_interval_ms, c.ephemeral_queue_bytes, c.max_connections,
        c.max_connections_per_address, c.headroom_connections_per_address,
        c.http_first_request_timeout_s, c.outbox_max_bytes, c.outbox_max_frames,
        c.http_idle_timeout_s, c.http_request_timeout_s, c.ws_ping_interval_s, c.shutdown_grace_ms,
        c.login_max_pair_failures, c.login_max_address_failures, c.login_max_account_failures,
        c.login_delay_base_ms, c.login_delay_max_s, c.login_forget_hours, c.password_cost,
        c.password_policy, c.session_ttl_hours, c.max_sessions_per_user, c.session_user_agent_bytes,
        c.register_max_per_address, c.register_window_minutes, c.sqlite_sync, c.blocking_threads,
        c.store_max_batch, c.presence_window_ms);
}

}  // namespace chatd::app
