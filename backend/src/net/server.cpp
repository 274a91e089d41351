#include "net/server.hpp"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <array>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "chat/hub.hpp"
#include "chat/service.hpp"
#include "metrics/metrics.hpp"
#include "model/clock.hpp"
#include "net/asio.hpp"
#include "net/builtin_page.hpp"
#include "net/connection_limits.hpp"
#include "net/http_read.hpp"
#include "net/io_shards.hpp"
#include "net/router.hpp"
#include "net/spawn.hpp"
#include "net/static_files.hpp"
#include "net/trusted_proxies.hpp"
#include "net/web_session.hpp"
#include "net/websocket_session.hpp"
#include "protocol/people.hpp"
#include "protocol/requests.hpp"
#include "protocol/responses.hpp"

namespace chatd::net {
namespace {

using asio::awaitable;
using asio::use_awaitable;
using chat::ErrorCode;
using metrics::Limit;
constexpr auto kTuple = asio::as_tuple(use_awaitable);

// A parsed request as handlers see it.
struct Call {
    const Request& request;
    PathParams params;
    std::unordered_map<std::string, std::string> query;
    std::string_view route;
    std::string remote_address;      // the peer's IP address, for per-address limits
    bool websocket_upgrade = false;  // /ws, /receive/{user}: ?token= is read (bearer_token)
    bool https = false;  // X-Forwarded-Proto: https from a trusted proxy (the cookie's Secure)
};

using Handler = std::function<awaitable<Response>(Call&)>;

// What an endpoint answers: a status and a body (empty: none).
struct Reply {
    http::status status = http::status::ok;
    std::string body;
    std::string_view content_type = "application/json";
    std::vector<std::pair<std::string_view, std::string>> headers{};  // Set-Cookie, X-CSRF-Token
};

Reply ok(std::string body) {
    return Reply{http::status::ok, std::move(body)};
}

// A refusal as HTTP answers it, and the limit it counts as (chat_limit_hits_total).
struct Refusal {
    http::status status;
    std::string_view code;
    std::string message;
    Limit limit;
    std::optional<std::chrono::seconds> retry_after{};
};

// The HTTP status of each of the service's refusals, and the limit it counts as.
std::pair<http::status, Limit> http_status_of(ErrorCode code) {
    using enum ErrorCode;
    using s = http::status;
    // clang-format off
    switch (code) {
        case InvalidJson: return {s::bad_request, Limit::InvalidJson};
        case BadRequest: return {s::bad_request, Limit::BadRequest};
        case InvalidName: return {s::bad_request, Limit::InvalidName};
        case InvalidRoom: return {s::bad_request, Limit::InvalidRoom};
        case InvalidSentAt: return {s::bad_request, Limit::InvalidSentAt};
        case WeakPassword: return {s::bad_request, Limit::BadRequest};
        case CannotLeaveGeneral: return {s::bad_request, Limit::BadRequest};
        case Unauthorized: return {s::unauthorized, Limit::Unauthorized};
        case InvalidCredentials: return {s::unauthorized, Limit::Unauthorized};
        case Forbidden: return {s::forbidden, Limit::Forbidden};
        case NotMember: return {s::forbidden, Limit::Forbidden};
        case NotFound: return {s::not_found, Limit::NotFound};
        case RoomNotFound: return {s::not_found, Limit::NotFound};
        case UserNotFound: return {s::not_found, Limit::NotFound};
        case NameTaken: return {s::conflict, Limit::Conflict};
        case RoomExists: return {s::conflict, Limit::Conflict};
        case MessageTooLong: return {s::payload_too_large, Limit::MessageLength};
        case MessageNotFound: return {s::not_found, Limit::MessageNotFound};
        case MessageDeleted: return {s::conflict, Limit::MessageDeleted};
        case NotAuthor: return {s::forbidden, Limit::NotAuthor};
        case EditWindowClosed: return {s::forbidden, Limit::EditWindowClosed};
        case TooManyReactions: return {s::conflict, Limit::TooManyReactions};
        case InvalidReaction: return {s::bad_request, Limit::InvalidReaction};
        case EmptyMessage: return {s::bad_request, Limit::EmptyMessage};
        case ReadMarkBeyondNewest: return {s::bad_request, Limit::ReadMarkBeyondNewest};
        case RoomMentionTooLarge: return {s::conflict, Limit::RoomMention};
        case PageTooLarge: return {s::bad_request, Limit::PeoplePage};
        case DisplayNameTooLong: return {s::bad_request, Limit::DisplayNameLength};
        case InvalidDisplayName: return {s::bad_request, Limit::InvalidDisplayName};
        case SendRateLimited: return {s::too_many_requests, Limit::Rate};
        case LoginThrottled: return {s::too_many_requests, Limit::LoginRate};
        case RegistrationThrottled: return {s::too_many_requests, Limit::RegisterRate};
        case StoreFailed: return {s::service_unavailable, Limit::BadRequest};
    }
    // clang-format on
    return {s::internal_server_error, Limit::BadRequest};
}

Refusal refusal_of(const chat::Error& error) {
    const auto [status, limit] = http_status_of(error.code);
    return Refusal{status, chat::code_name(error.code), error.what(), limit, error.retry_after};
}

// net's own refusals, of the connection or the request as HTTP sees them (no service decision).
Refusal token_in_query() {
    return Refusal{http::status::unauthorized, "token_in_query",
                   "a token in the URL is accepted only on WebSocket upgrades (/ws, "
                   "/receive/{user_name}); send it as Authorization: Bearer <token>",
                   Limit::Unauthorized};
}

// A cookie-authenticated request that fails the CSRF or Origin rules (net/web_session.hpp).
Refusal csrf_refused(CsrfVerdict verdict) {
    return Refusal{http::status::forbidden, csrf_code(verdict),
                   verdict == CsrfVerdict::CrossOrigin
                       ? "a request signed in by cookie must come from this site"
                       : "a request signed in by cookie needs this session's X-CSRF-Token header",
                   Limit::Csrf};
}

Refusal origin_refused() {
    return Refusal{http::status::forbidden, "origin_refused",
                   "a WebSocket signed in by cookie must be opened from this site "
                   "(or one of --allowed-origins)",
                   Limit::WsOrigin};
}

Refusal server_full() {
    return Refusal{http::status::service_unavailable, "server_full", "too many connections",
                   Limit::Connections};
}

// Every answer that is not the web client's files (JSON, errors, refusals, /metrics): never
// sniffed as another type, never cached (they carry tokens and user data), never framed, and no
// Referer from them. The web client's files get their own policy (serve_static).
void add_api_headers(Response& res) {
    res.set("X-Content-Type-Options", "nosniff");
    res.set(http::field::cache_control, "no-store");
    res.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    res.set("X-Frame-Options", "DENY");
    res.set("Referrer-Policy", "no-referrer");
}

Response reply_response(const Request& request, Reply reply) {
    Response res{reply.status, request.version()};
    add_api_headers(res);
    if (!reply.body.empty()) res.set(http::field::content_type, reply.content_type);
    for (auto& [name, value] : reply.headers) res.insert(name, value);
    res.body() = std::move(reply.body);
    return res;
}

Response error_response(const Request& request, const Refusal& error) {
    auto res = reply_response(request,
                              Reply{error.status, protocol::error_body(error.code, error.message)});
    if (error.retry_after) {
        res.set(http::field::retry_after,
                std::to_string(std::max<std::int64_t>(
                    1, static_cast<std::int64_t>(error.retry_after->count()))));
    }
    return res;
}

// The web client's policy: scripts only from chatd's own files (no inline script, no eval).
// style-src keeps 'unsafe-inline' for emoji-picker-element alone, which puts a <style> element
// in its shadow root and sets style attributes on its own elements (docs/security.md).
constexpr std::string_view kWebClientCsp =
    "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

// The CSP source naming the content between `open` and `close` in the built-in page by its
// SHA-256, so that its one inline script and one inline style run and nothing else inline does.
std::string builtin_page_hash(std::string_view open, std::string_view close) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
    const auto begin = kBuiltinPage.find(open) + open.size();
    const auto content = kBuiltinPage.substr(begin, kBuiltinPage.find(close, begin) - begin);
    std::array<unsigned char, crypto_hash_sha256_BYTES> hash{};
    crypto_hash_sha256(hash.data(), reinterpret_cast<const unsigned char*>(content.data()),
                       content.size());
    std::array<char,
               sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)>
        text{};
    sodium_bin2base64(text.data(), text.size(), hash.data(), hash.size(),
                      sodium_base64_VARIANT_ORIGINAL);
    return "'sha256-" + std::string(text.data()) + "'";
}

const std::string& builtin_page_csp() {
    static const std::string csp =
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src " +
        builtin_page_hash("<style>", "</style>") + "; script-src " +
        builtin_page_hash("<script>", "</script>") +
        "; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
    return csp;
}

// The session token: `Authorization: Bearer` on every request; `?token=` only on WebSocket
// upgrades, where browsers cannot set headers. On any other request a query token is refused
// before routing (dispatch): a token in a URL ends up in access logs, proxies and history.
std::string bearer_token(const Call& call) {
    const auto header = call.request[http::field::authorization];
    if (header.starts_with("Bearer ")) return std::string(header.substr(7));
    if (!call.websocket_upgrade) return {};
    if (auto it = call.query.find("token"); it != call.query.end()) return it->second;
    return {};
}

// The session token and where it came from: `Authorization` (or `?token=` on upgrades) first,
// else the web client's cookie.
// The values of every `name` field of the request, in order (views into the request).
template <class Name>
std::vector<std::string_view> field_values(const Request& request, Name name) {
    std::vector<std::string_view> values;
    const auto [first, last] = request.equal_range(name);
    for (auto field = first; field != last; ++field) values.push_back(field->value());
    return values;
}

struct Credential {
    std::string token;
    bool from_cookie = false;
};

Credential credential_of(const Call& call) {
    if (auto bearer = bearer_token(call); !bearer.empty()) return {std::move(bearer), false};
    return {session_token_of_cookies(field_values(call.request, http::field::cookie)), true};
}

// The cookie's Max-Age: what is left of the session.
std::chrono::seconds seconds_until(std::int64_t expires_ms) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return std::chrono::seconds(std::max<std::int64_t>(0, (expires_ms - now) / 1000));
}

// A sign-in's answer: the session in the body (bearer clients), the same token in an HttpOnly
// cookie and its CSRF token in a header (the web client).
Reply signed_in_reply(http::status status, const chat::Session& session, bool https) {
    Reply reply{status, protocol::session_body(session)};
    reply.headers.emplace_back(
        "Set-Cookie", session_cookie(session.token, seconds_until(session.expires_ms), https));
    reply.headers.emplace_back(kCsrfHeader, csrf_token_of(session.token));
    return reply;
}

// Decoded path segments without empty ones, so "/send/" and "/send" are the same path.
std::vector<std::string> path_segments(const boost::urls::url_view& url) {
    std::vector<std::string> out;
    for (auto segment : url.segments()) {
        if (!segment.empty()) out.emplace_back(std::move(segment));
    }
    return out;
}

// Opens, binds and listens; throws what fails (chatd then stops at start with the reason).
void listen_on(tcp::acceptor& acceptor, const std::string& address, unsigned short port) {
    const auto endpoint = tcp::endpoint(asio::ip::make_address(address), port);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
}

// The one bridge from callbacks to coroutines: `start(done)` begins the work and has
// `done(error, result)` called once, from any thread; the awaiting coroutine resumes on its own
// executor with the result, or with the error rethrown. The error moves to that thread: the
// calling thread keeps no reference, so the exception (and its message, a reference-counted
// string in libstdc++) is freed on the thread that used it (TSan cannot see the
// synchronisation of uninstrumented libstdc++'s reference counts, and a pool thread dropping
// the last reference after the I/O thread read the message was reported as a race).
// Deliberately not a coroutine itself: g++ 12 destroys a coroutine's by-value class parameters
// twice when the argument is a temporary in a co_await expression; callers pass named lambdas.
template <class R, class Start>
auto await_callback(Start start) {
    return asio::async_initiate<decltype(use_awaitable), void(std::exception_ptr, R)>(
        [](auto handler, Start begin) {
            auto home = asio::get_associated_executor(handler);
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            begin([home, shared](std::exception_ptr error, R result) mutable {
                asio::post(home, [handler = std::move(shared), error = std::move(error),
                                  result = std::move(result)]() mutable {
                    auto& completion = *handler;
                    std::move(completion)(std::move(error), std::move(result));
                });
            });
        },
        use_awaitable, std::move(start));
}

enum class Access { Anyone, SignedIn };
// Inline: on the I/O thread (the call never blocks); Blocking: on the blocking pool; Probe: on
// the probe thread, so that a readiness check never waits behind password hashing or slow store
// calls queued on the blocking pool.
enum class Runs { Inline, Blocking, Probe };
// Which listener a connection came from: the main one, or --metrics-listen.
enum class Listener { Main, Metrics };

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
    Impl(ServerOptions opts,
         chat::ChatService& svc,
         chat::Hub& h,
         metrics::Metrics& m,
         std::function<bool()> ready_fn)
        : options(std::move(opts)),
          service(svc),
          hub(h),
          metrics(m),
          ready(std::move(ready_fn)),
          shards(std::make_shared<IoShards>(std::max(1u, options.threads))),
          io(shards->context(0)),
          blocking(options.blocking_threads),
          acceptor(io),
          signals(io, SIGINT, SIGTERM),
          trusted_proxies(options.trusted_proxies),
          connection_limits(
              std::make_shared<ConnectionLimits>(options.max_connections,
                                                 options.max_connections_per_address,
                                                 options.headroom_connections_per_address)) {
        if (!options.web_root.empty()) {
            static_files = std::make_unique<StaticFiles>(options.web_root, options.web_cache_bytes);
        }
        listen_on(acceptor, options.address, options.port);
        if (!options.metrics_address.empty()) {
            metrics_acceptor.emplace(io);
            listen_on(*metrics_acceptor, options.metrics_address, options.metrics_port);
        }
        shards->on_exception([&m](const char* what) {
            m.handler_exceptions.Increment();
            spdlog::error("an I/O handler threw (its connection is dropped): {}", what);
        });
        add_routes();
    }

    ServerOptions options;
    chat::ChatService& service;
    chat::Hub& hub;
    metrics::Metrics& metrics;
    std::function<bool()> ready;
    std::shared_ptr<IoShards> shards;
    asio::io_context& io;  // shard 0: the acceptor, signals, shutdown
    asio::thread_pool blocking;
    asio::thread_pool probes{1};
    tcp::acceptor acceptor;
    // --metrics-listen: GET /metrics and /healthz only; the main listener then answers /metrics
    // 404. Empty: /metrics is on the main listener.
    std::optional<tcp::acceptor> metrics_acceptor;
    asio::signal_set signals;
    Router<Handler> router;
    TrustedProxies trusted_proxies;
    std::shared_ptr<ConnectionLimits> connection_limits;
    std::unique_ptr<StaticFiles> static_files;  // --web-root's files; null: the built-in page
    std::atomic<bool> stopping{false};

    // Runs `work` on `pool` (the blocking pool unless told); the awaiting coroutine resumes on
    // its own executor with the result, or with what `work` threw (await_callback).
    template <class F>
    auto offload(F work, asio::thread_pool* pool = nullptr) {
        using R = std::invoke_result_t<F>;
        auto& runner = pool != nullptr ? *pool : blocking;
        auto start = [&runner, work = std::move(work)](auto done) mutable {
            asio::post(runner, [work = std::move(work), done = std::move(done)]() mutable {
                std::exception_ptr error;
                R result{};
                try {
                    result = work();
                } catch (...) {
                    error = std::current_exception();
                }
                done(std::move(error), std::move(result));
            });
        };
        return await_callback<R>(std::move(start));
    }

    // On the blocking pool: starts a read mark and waits for the store to commit it (the service
    // answers on the store's writer thread); rethrows its refusal.
    template <class Start>
    static std::vector<model::ReadState> wait_for_read_marks(Start start) {
        using Answer = std::pair<std::optional<chat::ErrorRecord>, std::vector<model::ReadState>>;
        std::promise<Answer> answer;
        auto answered = answer.get_future();
        start([&answer](std::optional<chat::Error> error, std::vector<model::ReadState> states) {
            answer.set_value({chat::ErrorRecord::of(error), std::move(states)});
        });
        auto [error, states] = answered.get();
        if (error) error->raise();
        return std::move(states);
    }

    // The bearer token's session; nullopt without a valid one.
    // A cookie is checked against CSRF and Origin (check_cookie_use) before the store is asked.
    awaitable<std::optional<chat::Identity>> authenticate(const Call& call) {
        auto credential = credential_of(call);
        if (credential.token.empty()) co_return std::nullopt;
        if (credential.from_cookie) check_cookie_use(call, credential.token);
        auto job = [this, token = std::move(credential.token)] {
            return service.authenticate(token);
        };
        co_return co_await offload(std::move(job));
    }

    // The browser-only rules for a cookie: a WebSocket upgrade must come from an accepted
    // Origin; a state-changing request must pass check_csrf. Throws the refusal.
    void check_cookie_use(const Call& call, std::string_view token) const {
        const OriginPolicy policy{call.request[http::field::host], &options.allowed_origins};
        const auto origin = call.request[http::field::origin];
        if (call.websocket_upgrade) {
            if (!policy.accepts(origin)) throw origin_refused();
            return;
        }
        if (!is_state_changing(call.request.method_string())) return;
        const auto verdict = check_csrf(origin, call.request["Sec-Fetch-Site"],
                                        call.request[kCsrfHeader], token, policy);
        if (verdict != CsrfVerdict::Allowed) throw csrf_refused(verdict);
    }

    awaitable<chat::Identity> require_identity(const Call& call) {
        auto identity = co_await authenticate(call);
        if (!identity) {
            throw chat::Error(ErrorCode::Unauthorized,
                              "sign in first: a valid bearer token is required");
        }
        co_return std::move(*identity);
    }

    // The seed API's user (ChatService::seed_identity), signed in when the mode needs it.
    awaitable<chat::Identity> seed_identity(const Call& call,
                                            std::string_view user_name,
                                            chat::SeedUse use) {
        std::optional<chat::Identity> signed_in;
        if (service.seed_needs_sign_in()) signed_in = co_await authenticate(call);
        co_return service.seed_identity(user_name, signed_in, use);
    }

    // An endpoint: `action` reads the request, asks the service and shapes the answer, on the
    // I/O thread or the blocking pool; with Access::SignedIn it gets the caller's identity.
    using Action = std::function<Reply(const Call&, const chat::Identity&)>;
    void add(
        std::string_view method, std::string_view pattern, Access access, Runs runs, Action action);
    awaitable<Response> seed_send(Call& call);
    void add_routes();
    Reply metrics_reply() const {
        return Reply{http::status::ok, metrics.serialize(),
                     "text/plain; version=0.0.4; charset=utf-8"};
    }
    // Counts the refusal as its limit and answers it.
    Response refuse(const Request& request, const Refusal& refusal) {
        metrics.limit_hit(refusal.limit);
        return error_response(request, refusal);
    }
    awaitable<void> accept_loop();
    // Counts a newly accepted connection against the connection limits (the process's and its
    // peer address's; a trusted proxy's are counted per forwarded address at the upgrade). Past
    // --max-connections-per-address, or the headroom rule, answers 429 at once, without reading,
    // closes the socket and returns false. Past --max-connections `slot` stays empty: the
    // session answers the request 503.
    bool admit(tcp::socket& socket,
               const std::optional<asio::ip::address>& peer,
               ConnectionLimits::Slot& slot);
    awaitable<void> http_session(tcp::socket socket,
                                 ConnectionLimits::Slot slot,
                                 std::optional<asio::ip::address> peer,
                                 Listener listener);
    std::size_t read_buffer_bytes() const {
        return http_read_buffer_bytes(options.max_header_bytes);
    }
    awaitable<Response> dispatch(const Request& request,
                                 std::string_view& route,
                                 const std::string& remote_address,
                                 bool https);
    awaitable<Response> route_request(const Request& request,
                                      std::string_view& route,
                                      const std::string& remote_address,
                                      bool https);
    // Whether the request reached the proxy over HTTPS: X-Forwarded-Proto from a trusted peer.
    bool forwarded_https(const std::optional<asio::ip::address>& peer,
                         const Request& request) const {
        return peer && trusted_proxies.contains(*peer) &&
               request["X-Forwarded-Proto"] == std::string_view("https");
    }
    awaitable<void> metrics_accept_loop();
    Response metrics_listener_response(const Request& request, std::string_view& route);
    awaitable<Response> serve_static(const Request& request);
    void add_cors(const Request& request, Response& response) const;
    bool origin_allowed(std::string_view origin) const;
    awaitable<void> write_last_response(beast::tcp_stream& stream,
                                        Response& response,
                                        std::string_view route);
    static awaitable<void> linger(beast::tcp_stream& stream);
    awaitable<void> upgrade(beast::tcp_stream& stream,
                            Request request,
                            const std::string& address,
                            ConnectionLimits::Slot& slot);
    void begin_shutdown();
};

void Server::Impl::add(
    std::string_view method, std::string_view pattern, Access access, Runs runs, Action action) {
    auto handler = [this, access, runs,
                    action = std::move(action)](Call& c) -> awaitable<Response> {
        chat::Identity identity;
        if (access == Access::SignedIn) identity = co_await require_identity(c);
        if (runs == Runs::Inline) co_return reply_response(c.request, action(c, identity));
        auto job = [&] { return action(c, identity); };
        co_return reply_response(
            c.request, co_await offload(std::move(job), runs == Runs::Probe ? &probes : nullptr));
    };
    router.add(std::string(method), std::string(pattern), std::move(handler));
}

// The brief's POST /send: stored, then answered (ChatService::post_seed calls back once the
// message is durable, on the store's writer thread).
awaitable<Response> Server::Impl::seed_send(Call& c) {
    auto seed = protocol::parse_seed_send(c.request.body());
    const auto identity = co_await seed_identity(c, seed.user_name, chat::SeedUse::Send);
    auto start = [&](auto done) {
        service.post_seed(identity.user_name, std::move(seed.content), std::move(seed.sent_at),
                          [done](std::optional<chat::Error> error) mutable {
                              // A new exception (not a copy sharing the message): see
                              // await_callback.
                              done(error ? std::make_exception_ptr(chat::Error(
                                               error->code, error->what(), error->retry_after))
                                         : nullptr,
                                   true);
                          });
    };
    co_await await_callback<bool>(std::move(start));
    co_return reply_response(c.request, ok(protocol::status_body("message sent")));
}

void Server::Impl::add_routes() {
    using enum Access;
    using enum Runs;
    using chat::Identity;
    add("GET", "/healthz", Anyone, Inline,
        [](const Call&, const Identity&) { return ok(protocol::status_body("ok")); });
    add("GET", "/readyz", Anyone, Probe, [this](const Call&, const Identity&) {
        const bool is_ready = !stopping && ready();
        return Reply{is_ready ? http::status::ok : http::status::service_unavailable,
                     protocol::status_body(is_ready ? "ready" : "unavailable")};
    });
    add("GET", "/metrics", Anyone, Inline, [this](const Call&, const Identity&) {
        if (metrics_acceptor) throw chat::Error(ErrorCode::NotFound, "no such endpoint");
        return metrics_reply();
    });

    // --- Seed API (the brief's) ---
    router.add("POST", "/send", [this](Call& c) { return seed_send(c); });
    add("GET", "/users", Anyone, Inline, [this](const Call&, const Identity&) {
        return ok(protocol::users_body(service.online_users()));
    });

    // --- Native API ---
    add("GET", "/api/config", Anyone, Inline, [this](const Call&, const Identity&) {
        return ok(protocol::config_body(service.options()));
    });
    add("POST", "/api/register", Anyone, Blocking, [this](const Call& c, const Identity&) {
        const auto body = protocol::parse_credentials(c.request.body());
        return signed_in_reply(
            http::status::created,
            service.register_user(body.user_name, body.password, c.remote_address,
                                  c.request[http::field::user_agent]),
            c.https);
    });
    add("POST", "/api/login", Anyone, Blocking, [this](const Call& c, const Identity&) {
        const auto body = protocol::parse_credentials(c.request.body());
        return signed_in_reply(http::status::ok,
                               service.login(body.user_name, body.password, c.remote_address,
                                             c.request[http::field::user_agent]),
                               c.https);
    });
    // Both clear the cookie, whichever way the request was signed in.
    add("POST", "/api/logout", SignedIn, Blocking, [this](const Call& c, const Identity& me) {
        service.logout(me);
        Reply reply{http::status::no_content, {}};
        reply.headers.emplace_back("Set-Cookie", cleared_session_cookie(c.https));
        return reply;
    });
    add("POST", "/api/logout-all", SignedIn, Blocking, [this](const Call& c, const Identity& me) {
        auto reply = ok(protocol::signed_out_body(service.logout_all(me)));
        reply.headers.emplace_back("Set-Cookie", cleared_session_cookie(c.https));
        return reply;
    });
    add("GET", "/api/sessions", SignedIn, Blocking, [this](const Call&, const Identity& me) {
        return ok(protocol::sessions_body(service.sessions(me)));
    });
    add("DELETE", "/api/sessions/{id}", SignedIn, Blocking,
        [this](const Call& c, const Identity& me) {
            service.revoke_session(me, c.params.at("id"));
            return Reply{http::status::no_content, {}};
        });
    // Signed in by cookie, the answer carries the session's CSRF token: how a new tab gets it.
    add("GET", "/api/me", SignedIn, Blocking, [this](const Call& c, const Identity& me) {
        auto reply = ok(protocol::profile_body(service.me(me)));
        if (auto credential = credential_of(c); credential.from_cookie) {
            reply.headers.emplace_back(kCsrfHeader, csrf_token_of(credential.token));
        }
        return reply;
    });
    add("GET", "/api/rooms", SignedIn, Blocking, [this](const Call&, const Identity& me) {
        return ok(protocol::rooms_body(service.list_rooms(me)));
    });
    add("POST", "/api/rooms", SignedIn, Blocking, [this](const Call& c, const Identity& me) {
        const auto name = protocol::parse_room_name(c.request.body());
        return Reply{http::status::created, protocol::room_body(service.create_room(me, name))};
    });
    add("POST", "/api/rooms/{room}/join", SignedIn, Blocking,
        [this](const Call& c, const Identity& me) {
            return ok(protocol::room_body(service.join_room(me, c.params.at("room"))));
        });
    add("POST", "/api/rooms/{room}/leave", SignedIn, Blocking,
        [this](const Call& c, const Identity& me) {
            return ok(protocol::room_body(service.leave_room(me, c.params.at("room"))));
        });
    add("POST", "/api/dm/{user_name}", SignedIn, Blocking,
        [this](const Call& c, const Identity& me) {
            return ok(protocol::direct_body(service.open_direct(me, c.params.at("user_name"))));
        });
    add("GET", "/api/rooms/{room}/members", SignedIn, Blocking,
        [this](const Call& c, const Identity& me) {
            const auto query = protocol::parse_members_query(c.query);
            return ok(protocol::members_body(service.room_members(
                me, c.params.at("room"), query.after,
                query.limit.value_or(
                    static_cast<std::int64_t>(service.options().max_members_page)))));
        });
    add("GET", "/api/rooms/{room}/messages", SignedIn, Blocking,
        [this](const Call& c, const Identity& me) {
            const auto query = protocol::parse_history_query(c.query);
            const auto limit = static_cast<int>(std::min<std::int64_t>(query.limit, 100000));
            return ok(protocol::history_body(
                service.history(me, c.params.at("room"), query.before, query.after, limit)));
        });
    add("GET", "/api/rooms/{room}/messages/{id}", SignedIn, Blocking,
        [this](const Call& c, const Identity& me) {
            const auto id = protocol::parse_message_id(c.params.at("id"));
            return ok(protocol::message_body(service.find_message(me, c.params.at("room"), id)));
        });
    add("GET", "/api/rooms/{room}/messages/{id}/replies", SignedIn, Blocking,
        [this](const Call& c, const Identity& me) {
            const auto id = protocol::parse_message_id(c.params.at("id"));
            const auto query = protocol::parse_history_query(c.query);
            const auto limit = static_cast<int>(std::min<std::int64_t>(query.limit, 100000));
            return ok(protocol::history_body(
                service.replies(me, c.params.at("room"), id, query.before, query.after, limit)));
        });
    add("POST", "/api/rooms/{room}/read", SignedIn, Blocking,
        [this](const Call& c, const Identity& me) {
            const auto id = protocol::parse_read_mark(c.request.body());
            const auto states = wait_for_read_marks([&](chat::ChatService::ReadDone done) {
                service.mark_read(me, c.params.at("room"), id, std::move(done));
            });
            if (states.empty()) throw chat::Error(ErrorCode::StoreFailed, "no read state");
            return ok(protocol::read_state_body(states.front()));
        });
    add("GET", "/api/read", SignedIn, Blocking, [this](const Call&, const Identity& me) {
        return ok(protocol::read_states_body(
            service.read_states(me.user_name, service.rooms_of(me.user_name))));
    });
    add("POST", "/api/read/all", SignedIn, Blocking, [this](const Call&, const Identity& me) {
        return ok(
            protocol::read_states_body(wait_for_read_marks([&](chat::ChatService::ReadDone done) {
                service.mark_all_read(me, std::move(done));
            })));
    });
    add("GET", "/api/users/online", SignedIn, Inline, [this](const Call&, const Identity&) {
        return ok(protocol::users_body(service.online_users()));
    });
    add("GET", "/api/people", SignedIn, Blocking, [this](const Call& c, const Identity&) {
        const auto query = protocol::parse_people_query(c.query);
        return ok(
            protocol::people_body(service.people().search(query.q, query.after, query.limit)));
    });
    add("PUT", "/api/me/profile", SignedIn, Blocking, [this](const Call& c, const Identity& me) {
        const auto display_name = protocol::parse_display_name(c.request.body());
        return ok(protocol::person_body(
            service.people().set_display_name(me.user_name, display_name, model::now_ms())));
    });
    add("GET", "/api/people/{user_name}", SignedIn, Blocking,
        [this](const Call& c, const Identity&) {
            return ok(protocol::person_body(service.people().card(c.params.at("user_name"))));
        });
}

bool Server::Impl::origin_allowed(std::string_view origin) const {
    for (const auto& allowed : options.cors_origins) {
        if (allowed == "*" || allowed == origin) return true;
    }
    return false;
}

void Server::Impl::add_cors(const Request& request, Response& response) const {
    const auto origin = request[http::field::origin];
    if (origin.empty() || !origin_allowed(origin)) return;
    response.set(http::field::access_control_allow_origin, origin);
    // Appended: a static file with precompressed variants already varies on Accept-Encoding.
    const std::string vary(response[http::field::vary]);
    response.set(http::field::vary, vary.empty() ? "Origin" : vary + ", Origin");
}

awaitable<Response> Server::Impl::serve_static(const Request& request) {
    Response res{http::status::ok, request.version()};
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
    res.set("Referrer-Policy", "no-referrer");
    if (!static_files) {
        res.set("Content-Security-Policy", builtin_page_csp());
        res.set(http::field::cache_control, "no-cache");
        res.set(http::field::content_type, "text/html; charset=utf-8");
        res.body() = std::string(kBuiltinPage);
        co_return res;
    }
    res.set("Content-Security-Policy", kWebClientCsp);
    auto parsed = boost::urls::parse_origin_form(request.target());
    std::string relative;
    bool trailing_slash = false;  // "/dm/a.b/": a route, even though "a.b" looks like a file
    for (auto segment : parsed->segments()) {
        // Decoded segments: "..", "%2e%2e" and embedded separators never leave web_root.
        if (segment == ".." || segment == "." || segment.find('/') != std::string::npos ||
            segment.find('\\') != std::string::npos || segment.find('\0') != std::string::npos) {
            throw chat::Error(ErrorCode::NotFound, "no such file");
        }
        trailing_slash = segment.empty();
        if (segment.empty()) continue;
        if (!relative.empty()) relative += '/';
        relative += segment;
    }
    auto lookup = static_files->find(relative);
    if (!lookup.file) {
        // Client-side routes (/r/general, /dm/bob) fall back to the app shell; a missing file is
        // a 404, never the shell.
        if (!trailing_slash && std::filesystem::path(relative).has_extension()) {
            throw chat::Error(ErrorCode::NotFound, "no such file");
        }
        lookup = static_files->find("index.html");
        if (!lookup.file) throw chat::Error(ErrorCode::NotFound, "no such file");
    }
    if (lookup.over_budget) metrics.limit_hit(Limit::WebCache);
    metrics.web_cache_bytes.Set(static_cast<double>(static_files->bytes_held()));
    const auto& file = *lookup.file;
    const auto accept_encoding = request.find(http::field::accept_encoding);
    const auto& variant = file.choose(accept_encoding == request.end()
                                          ? AcceptedCodings{}
                                          : parse_accept_encoding(accept_encoding->value()));
    res.set(http::field::cache_control,
            file.immutable ? "public, max-age=31536000, immutable" : "no-cache");
    res.set(http::field::etag, variant.etag);
    // Caches must key a file with variants by the request's Accept-Encoding.
    if (file.has_variants()) res.set(http::field::vary, "Accept-Encoding");
    const auto if_none_match = request[http::field::if_none_match];
    if (!if_none_match.empty() && if_none_match_matches(if_none_match, variant.etag)) {
        res.result(http::status::not_modified);
        co_return res;
    }
    res.set(http::field::content_type, file.content_type);
    if (variant.coding != ContentCoding::Identity) {
        res.set(http::field::content_encoding, coding_name(variant.coding));
    }
    res.body() = variant.body;
    co_return res;
}

awaitable<Response> Server::Impl::dispatch(const Request& request,
                                           std::string_view& route,
                                           const std::string& remote_address,
                                           bool https) {
    auto response = co_await route_request(request, route, remote_address, https);
    if (route != "(static)") add_api_headers(response);
    co_return response;
}

awaitable<Response> Server::Impl::route_request(const Request& request,
                                                std::string_view& route,
                                                const std::string& remote_address,
                                                bool https) {
    auto parsed = boost::urls::parse_origin_form(request.target());
    if (!parsed) {
        route = "(invalid)";
        co_return refuse(request,
                         refusal_of(chat::Error(ErrorCode::BadRequest, "invalid request target")));
    }
    const auto segments = path_segments(*parsed);
    Call call{request, {}, {}, {}, remote_address, false, https};
    for (auto param : parsed->params()) call.query[param.key] = param.value;

    // HEAD is routed as GET wherever GET is (http_session drops the body).
    const std::string_view method = request.method() == http::verb::head
                                        ? std::string_view("GET")
                                        : std::string_view(request.method_string());
    if (request.method() == http::verb::options) {
        route = "(preflight)";
        Response res{http::status::no_content, request.version()};
        res.set(http::field::access_control_allow_methods, "GET, POST, PUT, DELETE, OPTIONS");
        res.set(http::field::access_control_allow_headers,
                "Content-Type, Authorization, X-CSRF-Token");
        res.set(http::field::access_control_max_age, "600");
        co_return res;
    }
    auto match = router.match(method, segments);
    try {
        if (!match) {
            // HEAD too: caches and the emoji picker ask whether a file changed with HEAD.
            if (method == "GET" && (segments.empty() || segments[0] != "api")) {
                route = "(static)";
                co_return co_await serve_static(request);
            }
        }
        route = match ? std::string_view(match->pattern) : std::string_view("(unmatched)");
        if (call.query.contains("token")) throw token_in_query();
        if (!match) throw chat::Error(ErrorCode::NotFound, "no such endpoint");
        if (!match->method_allowed) {
            throw Refusal{http::status::method_not_allowed, "method_not_allowed",
                          "method not allowed here", Limit::BadRequest};
        }
        call.params = std::move(match->params);
        call.route = route;
        co_return co_await (*match->handler)(call);
    } catch (const chat::Error& error) {
        co_return refuse(request, refusal_of(error));
    } catch (const Refusal& refusal) {
        co_return refuse(request, refusal);
    } catch (const std::exception& error) {
        spdlog::error("{} {} from {}: {}", std::string(method), std::string(request.target()),
                      remote_address, error.what());
        metrics.store_errors.Increment();
        co_return refuse(request, Refusal{http::status::service_unavailable, "unavailable",
                                          "temporarily unavailable", Limit::BadRequest});
    }
}

// Authenticates an upgrade and hands the stream, the request and the connection's slot to a
// WebSocket session of its own, then returns (so this coroutine and the HTTP session's end and
// free their frames); on refusal writes an HTTP error instead and keeps the stream.
awaitable<void> Server::Impl::upgrade(beast::tcp_stream& stream,
                                      Request request,
                                      const std::string& address,
                                      ConnectionLimits::Slot& slot) {
    std::string_view route;
    auto parsed = boost::urls::parse_origin_form(request.target());
    std::vector<std::string> segments;
    Call call{request, {}, {}, {}, {}, true};
    if (parsed) {
        segments = path_segments(*parsed);
        for (auto param : parsed->params()) call.query[param.key] = param.value;
    }
    const bool native = segments.size() == 1 && segments[0] == "ws";
    const bool seed = segments.size() == 2 && segments[0] == "receive";
    route = native ? "/ws" : seed ? "/receive/{user_name}" : "(unmatched)";
    Response refusal;
    try {
        if (!native && !seed) throw chat::Error(ErrorCode::NotFound, "no such endpoint");
        if (stopping) {
            throw Refusal{http::status::service_unavailable, "shutting_down",
                          "the server is restarting", Limit::BadRequest};
        }
        chat::Identity identity;
        if (seed) {
            identity = co_await seed_identity(call, segments[1], chat::SeedUse::Receive);
        } else {
            identity = co_await require_identity(call);
        }
        if (!connection_limits->try_add_address(slot, address)) {
            throw Refusal{http::status::too_many_requests, "too_many_connections",
                          "too many connections from your address", Limit::ConnectionsPerAddress};
        }
        std::vector<std::string> rooms;
        std::vector<model::ReadState> read_state;
        if (native) {
            auto job = [this, name = identity.user_name] {
                auto mine = service.rooms_of(name);
                auto states = service.read_states(name, mine);
                return std::pair{std::move(mine), std::move(states)};
            };
            std::tie(rooms, read_state) = co_await offload(std::move(job));
        }
        metrics.http_response(route, 101);
        start_websocket(std::move(stream), std::move(request), std::move(identity),
                        native ? chat::Protocol::Native : chat::Protocol::Seed, std::move(rooms),
                        std::move(read_state), std::move(slot),
                        WebSocketContext{service, metrics, options},
                        shards->shard_of(stream.get_executor()));
        co_return;
    } catch (const chat::Error& error) {
        refusal = refuse(request, refusal_of(error));
    } catch (const Refusal& error) {
        refusal = refuse(request, error);
    }
    add_cors(request, refusal);
    co_await write_last_response(stream, refusal, route);
}

// Writes a refusal after which the connection closes; the caller has set the stream's deadline.
awaitable<void> Server::Impl::write_last_response(beast::tcp_stream& stream,
                                                  Response& response,
                                                  std::string_view route) {
    response.keep_alive(false);
    response.prepare_payload();
    metrics.http_response(route, response.result_int());
    co_await http::async_write(stream, response, kTuple);
}

bool Server::Impl::admit(tcp::socket& socket,
                         const std::optional<asio::ip::address>& peer,
                         ConnectionLimits::Slot& slot) {
    // Counted here, in the accept loop, in the order the connections were accepted.
    ConnectionLimits::Refusal refusal = ConnectionLimits::Refusal::None;
    slot = connection_limits->try_accept(peer ? peer->to_string() : std::string{},
                                         peer && trusted_proxies.contains(*peer), refusal);
    if (refusal != ConnectionLimits::Refusal::PerAddress) return true;
    metrics.limit_hit(Limit::ConnectionsPerAddress);
    metrics.http_response("(per_address)", 429);
    static constexpr std::string_view kRefusal =
        "HTTP/1.1 429 Too Many Requests\r\nServer: chatd\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nContent-Length: 92\r\n\r\n"
        "{\"error\":{\"code\":\"too_many_connections\",\"message\":\"too many connections from "
        "your address\"}}";
    beast::error_code ignored;
    socket.non_blocking(true, ignored);
    socket.send(asio::buffer(kRefusal.data(), kRefusal.size()), 0, ignored);
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    return false;
}

awaitable<void> Server::Impl::http_session(tcp::socket socket,
                                           ConnectionLimits::Slot slot,
                                           std::optional<asio::ip::address> peer,
                                           Listener listener) {
    // Every accepted connection counts against --max-connections until it ends (or, once
    // upgraded, until its WebSocket session ends). Past the limit the connection still gets an
    // answer: its request (within the request timeout) is answered 503 and the socket closed.
    if (!slot) metrics.limit_hit(Limit::Connections);
    beast::tcp_stream stream(std::move(socket));
    // Bounded (net/http_read.hpp): past the bound the read fails with buffer_overflow, answered
    // 431.
    beast::flat_buffer buffer(read_buffer_bytes());
    const auto request_timeout = std::chrono::seconds(options.http_request_timeout_s);
    const auto idle = slot ? std::chrono::seconds(options.http_idle_timeout_s) : request_timeout;
    // A new connection waits for the first byte of its first request
    // --http-first-request-timeout at most (one that never asks for anything frees its slot
    // sooner than --http-idle-timeout).
    const auto first_idle = std::min<std::chrono::steady_clock::duration>(
        idle, std::chrono::seconds(options.http_first_request_timeout_s));
    bool first_request = true;
    bool refused = false;  // a refusal was written with the client's bytes maybe still coming
    for (;;) {
        http::request_parser<http::string_body> parser;
        limit_http_parser(parser, options.max_body_bytes, options.max_header_bytes);
        // Waiting for a request may take the idle timeout; once its first byte is here, the
        // whole request (headers and body) must arrive within the request timeout, so a client
        // trickling bytes (slowloris) holds a connection for seconds, not indefinitely.
        if (buffer.size() == 0) {
            stream.expires_after(first_request ? first_idle : idle);
            auto [first_ec, first_bytes] =
                co_await stream.async_read_some(buffer.prepare(4096), kTuple);
            if (first_ec) break;  // end of stream, idle timeout, reset: nothing to answer
            buffer.commit(first_bytes);
        }
        stream.expires_after(request_timeout);
        auto [ec, bytes] = co_await http::async_read(stream, buffer, parser, kTuple);
        if (ec == beast::error::timeout) {
            // The stream closed the socket at the deadline: nothing can be answered (like nginx's
            // client_header_timeout); counted, and the connection is gone.
            metrics.limit_hit(Limit::RequestTimeout);
            spdlog::debug("request from {} not received within {} s: closed",
                          peer ? peer->to_string() : std::string{}, options.http_request_timeout_s);
            co_return;
        }
        if (ec == http::error::buffer_overflow) {
            // A chunk-size line (its extensions) or a trailer section that does not end.
            metrics.limit_hit(Limit::ChunkedFraming);
            Request stub;
            stub.version(11);
            auto res =
                error_response(stub, Refusal{http::status::request_header_fields_too_large,
                                             "chunk_framing_too_large",
                                             "a chunk-size line or the trailer section exceeds " +
                                                 std::to_string(read_buffer_bytes()) + " bytes",
                                             Limit::ChunkedFraming});
            if (parser.is_header_done()) add_cors(parser.get(), res);
            stream.expires_after(std::chrono::seconds(5));
            co_await write_last_response(stream, res, "(chunked_framing)");
            refused = true;
            break;
        }
        if (ec == http::error::body_limit || ec == http::error::header_limit) {
            const bool body = ec == http::error::body_limit;
            metrics.limit_hit(body ? Limit::BodySize : Limit::HeaderSize);
            Request stub;
            stub.version(11);
            auto res = error_response(
                stub,
                body ? Refusal{http::status::payload_too_large, "body_too_large",
                               "the request body exceeds " +
                                   std::to_string(options.max_body_bytes) + " bytes",
                               Limit::BodySize}
                     : Refusal{http::status::request_header_fields_too_large, "headers_too_large",
                               "the request headers are too large", Limit::HeaderSize});
            if (parser.is_header_done()) add_cors(parser.get(), res);
            stream.expires_after(std::chrono::seconds(5));
            co_await write_last_response(stream, res, body ? "(body_limit)" : "(header_limit)");
            refused = true;
            break;
        }
        if (ec) break;  // end of stream, reset, malformed: nothing to answer
        Request request = parser.release();
        first_request = false;
        if (!slot) {
            auto refusal = error_response(request, server_full());
            add_cors(request, refusal);
            stream.expires_after(request_timeout);
            co_await write_last_response(stream, refusal, "(server_full)");
            refused = true;
            break;
        }
        const std::string address =
            peer ? trusted_proxies.client_address(*peer, field_values(request, "X-Forwarded-For"))
                 : std::string{};
        std::string_view route;
        Response response;
        if (listener == Listener::Metrics) {
            response = metrics_listener_response(request, route);
        } else if (websocket::is_upgrade(request)) {
            co_await upgrade(stream, std::move(request), address, slot);
            co_return;
        } else {
            response = co_await dispatch(request, route, address, forwarded_https(peer, request));
        }
        add_cors(request, response);
        response.set(http::field::server, "chatd");
        response.keep_alive(request.keep_alive() && !stopping);
        response.prepare_payload();
        if (response.result() == http::status::not_modified) {
            // No body; a Content-Length would have to be the 200's (RFC 9110 §8.6).
            response.erase(http::field::content_length);
        } else if (request.method() == http::verb::head) {
            // The GET's status and headers, its Content-Length included, and no body.
            response.body().clear();
        }
        metrics.http_response(route, response.result_int());
        stream.expires_after(idle);
        auto [write_ec, written] = co_await http::async_write(stream, response, kTuple);
        if (write_ec || !response.keep_alive()) break;
    }
    if (refused) co_return co_await linger(stream);
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

// A lingering close, as nginx's lingering_close: after a refusal the client may still be sending
// (a body past the limit); closing with its bytes unread would reset the connection, and a
// reset can destroy the answer before the client has read it. Our side is shut down, then what
// the client still sends is read and dropped, at most kLingerBytes, until it closes or
// kLingerTime has passed; past the byte bound nothing more is read (the client's writes stall,
// which costs chatd nothing) until the time is up.
awaitable<void> Server::Impl::linger(beast::tcp_stream& stream) {
    constexpr auto kLingerTime = std::chrono::seconds(2);
    constexpr std::size_t kLingerBytes = 1024 * 1024;
    const auto deadline = std::chrono::steady_clock::now() + kLingerTime;
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_at(deadline);
    thread_local std::array<char, 16 * 1024> scratch;  // dropped bytes: one buffer per thread
    for (std::size_t read = 0; read < kLingerBytes;) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(scratch), kTuple);
        if (ec) co_return;  // the client closed, or the deadline closed the socket
        read += n;
    }
    asio::steady_timer wait(stream.get_executor(), deadline);
    co_await wait.async_wait(kTuple);
}

awaitable<void> Server::Impl::accept_loop() {
    for (;;) {
        auto& shard = shards->context(shards->next_shard());
        auto [ec, accepted] = co_await acceptor.async_accept(shard, kTuple);
        if (ec) {
            if (ec == asio::error::operation_aborted || stopping) co_return;
            // EMFILE and friends: back off briefly instead of spinning.
            spdlog::warn("accept failed: {}", ec.message());
            asio::steady_timer pause(io, std::chrono::milliseconds(50));
            co_await pause.async_wait(kTuple);
            continue;
        }
        tcp::socket socket(std::move(accepted));
        socket.set_option(tcp::no_delay(true));
        beast::error_code peer_ec;
        const auto endpoint = socket.remote_endpoint(peer_ec);
        // Keyed by IP address only; an unknown peer (already reset) is "" and gets no exemption.
        std::optional<asio::ip::address> peer;
        if (!peer_ec) peer = endpoint.address();
        ConnectionLimits::Slot slot;
        if (!admit(socket, peer, slot)) continue;
        auto executor = socket.get_executor();
        asio::co_spawn(executor,
                       http_session(std::move(socket), std::move(slot), peer, Listener::Main),
                       log_failure(metrics, "connection"));
    }
}

// The --metrics-listen listener: GET /metrics and GET /healthz, 404 for anything else. Its
// connections count against --max-connections like any other and have the same timeouts.
Response Server::Impl::metrics_listener_response(const Request& request, std::string_view& route) {
    auto parsed = boost::urls::parse_origin_form(request.target());
    const auto segments = parsed ? path_segments(*parsed) : std::vector<std::string>{};
    const bool get = request.method() == http::verb::get || request.method() == http::verb::head;
    if (get && segments.size() == 1 && segments[0] == "metrics") {
        route = "/metrics";
        return reply_response(request, metrics_reply());
    }
    if (get && segments.size() == 1 && segments[0] == "healthz") {
        route = "/healthz";
        return reply_response(request, ok(protocol::status_body("ok")));
    }
    route = "(unmatched)";
    return refuse(request, refusal_of(chat::Error(ErrorCode::NotFound,
                                                  "this listener serves only GET /metrics and "
                                                  "GET /healthz")));
}

awaitable<void> Server::Impl::metrics_accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await metrics_acceptor->async_accept(kTuple);
        if (ec) {
            if (ec == asio::error::operation_aborted || stopping) co_return;
            spdlog::warn("metrics listener: accept failed: {}", ec.message());
            asio::steady_timer pause(io, std::chrono::milliseconds(50));
            co_await pause.async_wait(kTuple);
            continue;
        }
        beast::error_code peer_ec;
        const auto endpoint = socket.remote_endpoint(peer_ec);
        std::optional<asio::ip::address> peer;
        if (!peer_ec) peer = endpoint.address();
        // Counted against --max-connections only: the per-address limits guard the main listener.
        auto slot = connection_limits->try_accept();
        auto executor = socket.get_executor();
        asio::co_spawn(executor,
                       http_session(std::move(socket), std::move(slot), peer, Listener::Metrics),
                       log_failure(metrics, "metrics connection"));
    }
}

void Server::Impl::begin_shutdown() {
    if (stopping.exchange(true)) return;
    spdlog::info("shutting down: closing {} connections", hub.connection_count());
    // The accept loop runs on the acceptor's strand; the acceptor is closed there too, never
    // from the thread that happens to run this (a signal handler or Server::stop()).
    asio::post(acceptor.get_executor(), [self = shared_from_this()] {
        beast::error_code ignored;
        self->acceptor.close(ignored);
        if (self->metrics_acceptor) self->metrics_acceptor->close(ignored);
    });
    beast::error_code ignored;
    signals.cancel(ignored);
    hub.close_all(chat::CloseCode::Restarting, "server restarting");
    // Poll until every socket has closed or the grace period ends, then stop the I/O threads.
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options.shutdown_grace_ms);
    asio::co_spawn(
        io,
        [self = shared_from_this(), deadline]() -> awaitable<void> {
            asio::steady_timer timer(self->io);
            while (self->hub.connection_count() > 0 &&
                   std::chrono::steady_clock::now() < deadline) {
                timer.expires_after(std::chrono::milliseconds(10));
                co_await timer.async_wait(kTuple);
            }
            self->shards->stop();
        },
        log_failure(metrics, "shutdown"));
}

Server::Server(ServerOptions options,
               chat::ChatService& service,
               chat::Hub& hub,
               metrics::Metrics& metrics,
               std::function<bool()> ready)
    : impl_(std::make_shared<Impl>(std::move(options), service, hub, metrics, std::move(ready))) {
    hub.set_shard_runner(impl_->shards);
}

Server::~Server() {
    // The delivery thread may still deliver (a store flush at exit): directly from now on.
    impl_->hub.set_shard_runner(nullptr);
    impl_->blocking.join();
    impl_->probes.join();
}

unsigned short Server::port() const {
    return impl_->acceptor.local_endpoint().port();
}

unsigned short Server::metrics_port() const {
    return impl_->metrics_acceptor ? impl_->metrics_acceptor->local_endpoint().port() : 0;
}

void Server::run() {
    auto impl = impl_;
    impl->signals.async_wait([impl](const beast::error_code& ec, int signal) {
        if (ec) return;
        spdlog::info("received signal {}", signal);
        impl->begin_shutdown();
    });
    asio::co_spawn(impl->acceptor.get_executor(), impl->accept_loop(),
                   log_failure(impl->metrics, "accept loop"));
    spdlog::info("listening on http://{}:{}", impl->options.address, port());
    if (impl->metrics_acceptor) {
        asio::co_spawn(impl->io, impl->metrics_accept_loop(),
                       log_failure(impl->metrics, "metrics accept loop"));
        spdlog::info("metrics on http://{}:{} (GET /metrics and /healthz only)",
                     impl->options.metrics_address, metrics_port());
    }
    impl->shards->run();
}

void Server::stop() {
    asio::post(impl_->io, [impl = impl_] { impl->begin_shutdown(); });
}

}  // namespace chatd::net
