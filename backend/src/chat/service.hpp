#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth.hpp"
#include "auth/password_policy.hpp"
#include "chat/frame_guard.hpp"
#include "chat/hub.hpp"
#include "chat/login_guard.hpp"
#include "chat/publisher.hpp"
#include "chat/rate_limiter.hpp"
#include "chat/sink.hpp"
#include "metrics/metrics.hpp"

namespace chatd::store {
class Store;
}
namespace chatd::bus {
class Bus;
}

namespace chatd::chat {

// An API request refused: the HTTP status, the protocol's error code and a sentence for people.
class ApiError : public std::runtime_error {
  public:
    ApiError(unsigned http_status,
             std::string error_code,
             const std::string& message,
             metrics::Limit counted_as,
             std::optional<std::chrono::seconds> retry = std::nullopt)
        : std::runtime_error(message),
          status(http_status),
          code(std::move(error_code)),
          limit(counted_as),
          retry_after(retry) {}
    unsigned status;
    std::string code;
    metrics::Limit limit;
    std::optional<std::chrono::seconds> retry_after;  // the Retry-After header, when set
};

// Who made a request: the token's user and the token's hash (names the session).
struct Identity {
    std::string user_name;
    std::string session;
};

struct ServiceOptions {
    bool open_auth = false;
    std::size_t max_message_length = 4000;  // Unicode code points
    std::size_t max_frame_bytes = 64 * 1024;
    double rate_per_second = 20;
    double rate_burst = 40;
    // Every /ws client frame, whatever its type (FrameGuard): per connection, per user, and the
    // refusals within a second past which the connection is closed (1008).
    FrameGuard::Limits frame_limits;
    // At most one typing notice per user per room per interval (0: each goes out).
    std::chrono::milliseconds typing_interval{1000};
    auth::PasswordCost password_cost;
    // Registration: `dictionary` adds libpwquality's checks (auth::PasswordChecker) to the
    // length rule; `length` keeps the length rule only.
    auth::PasswordPolicy password_policy = auth::PasswordPolicy::dictionary;
    std::chrono::seconds session_ttl = std::chrono::hours(24 * 30);
    std::string version;
    LoginThrottleOptions login_throttle{};
    // Sessions per user (0: no limit); past it the oldest is deleted and its sockets closed.
    std::size_t max_sessions_per_user = 20;
    // Registrations per client address (0: no limit) while each follows the previous one from
    // that address within registration_window; past it 429 rate_limited.
    std::size_t max_registrations_per_address = 20;
    std::chrono::milliseconds registration_window = std::chrono::hours(1);
    // Expired sessions are purged on a sign-in at most this often.
    std::chrono::milliseconds session_purge_interval = std::chrono::minutes(1);
    // Wall-clock milliseconds for the sign-in throttle (a fake one in tests).
    std::function<std::int64_t()> clock{};
};

// The use cases: accounts, rooms, history, sending. Decides; the store, bus and hub carry.
// Functions marked "blocking" call the store synchronously: run them on a blocking pool.
// The others never block and may run on I/O threads. Thread-safe.
class ChatService {
  public:
    // Stored messages leave through `publisher`; ephemeral events go to `bus` directly.
    ChatService(store::Store& store,
                bus::Bus& bus,
                Publisher& publisher,
                Hub& hub,
                metrics::Metrics& metrics,
                ServiceOptions options);
    ChatService(const ChatService&) = delete;
    ChatService& operator=(const ChatService&) = delete;

    const ServiceOptions& options() const { return options_; }

    // Where the bus hands every event it delivers (give it to Bus::start). A message without
    // an id is a foreign one (the brief's format, from another AMQP client): it is stored in
    // general first, idempotently, and the stored version is delivered. Not blocking.
    void on_bus_event(const model::EventPtr& event, const std::string& only_user);

    // --- HTTP API; each throws ApiError for a refused request. Blocking. ---
    std::optional<Identity> authenticate(std::string_view token);
    boost::json::object config() const;
    // At most max_registrations_per_address from `address` (429 rate_limited past it).
    boost::json::object register_user(std::string_view user_name,
                                      std::string_view password,
                                      std::string_view address = {});
    // In open mode `password` is ignored and a live connection holding the name refuses it.
    // In password mode, wrong passwords from `address` are throttled (LoginThrottle: 429
    // rate_limited with a Retry-After).
    boost::json::object login(std::string_view user_name,
                              std::string_view password,
                              std::string_view address = {});
    // Stores the name key of every user registered before keys existed (SQL cannot compute
    // it); a look-alike of a name held by another user keeps its account but not the key.
    // Returns how many users it went through. Blocking; chatd runs it once at start.
    std::size_t backfill_name_keys();
    void logout(const Identity& identity);
    // Signs the user out everywhere: deletes every session of the user and closes their
    // connections on every node. Returns how many sessions there were.
    std::size_t logout_all(const Identity& identity);
    boost::json::object me(const Identity& identity);
    boost::json::object list_rooms(const Identity& identity);
    boost::json::object create_room(const Identity& identity, std::string_view room);
    boost::json::object join_room(const Identity& identity, std::string_view room);
    boost::json::object leave_room(const Identity& identity, std::string_view room);
    boost::json::object open_direct(const Identity& identity, std::string_view other_user);
    boost::json::object history(const Identity& identity,
                                std::string_view room,
                                std::optional<std::int64_t> before,
                                std::optional<std::int64_t> after,
                                int limit);
    // Rooms the user's live connections subscribe to (general included). Blocking.
    std::vector<std::string> rooms_of(const std::string& user_name);
    // This node's users and those the bus reports on other nodes, sorted. Not blocking.
    // With `limit`, this node's part holds at most that many names (the welcome frame's cap).
    std::vector<std::string> online_users(std::size_t limit = SIZE_MAX) const;

    // --- Live connections. Not blocking. ---
    ConnectionId connect(const Identity& identity,
                         Protocol protocol,
                         std::shared_ptr<Sink> sink,
                         const std::vector<std::string>& rooms);
    void disconnect(ConnectionId id, const std::string& user_name);
    // `done` runs (any thread, maybe at once) once the user's events reach this node (Bus).
    void when_subscribed(const std::string& user_name, std::function<void()> done);
    // One native text frame: answers on `sink` (ack, error, pong) and publishes what it must.
    void handle_frame(ConnectionId id,
                      const std::string& user_name,
                      const std::shared_ptr<Sink>& sink,
                      std::string_view text);
    // The seed API's POST /send/: stores into general and publishes. `done` runs once the
    // message is durable (or refused), on a store thread; nullopt means success.
    void post_seed(const std::string& user_name,
                   std::string content,
                   std::optional<std::string> sent_at,
                   std::function<void(std::optional<ApiError>)> done);

  private:
    void send(ConnectionId id,
              const std::string& user_name,
              const std::shared_ptr<Sink>& sink,
              struct SendCommand command);
    // Counts and explains a refused frame on the socket.
    void refuse(const std::shared_ptr<Sink>& sink,
                metrics::Limit limit,
                std::string_view code,
                std::string_view message,
                std::string_view client_msg_id = {});
    std::optional<ApiError> check_content(const std::string& user_name, std::string_view content);
    void publish(model::Event event);
    // Closes the connections opened with `sessions`, on every node.
    void end_sessions(std::vector<std::string> sessions, std::string reason);
    void store_foreign(const model::Message& message, const std::string& only_user);
    boost::json::object new_session(const std::string& user_name);
    void require_room(std::string_view room, bool allow_direct);

    store::Store& store_;
    bus::Bus& bus_;
    Publisher& publisher_;
    Hub& hub_;
    metrics::Metrics& metrics_;
    const ServiceOptions options_;
    RateLimiter rate_limiter_;
    FrameGuard frame_guard_;
    Coalescer typing_;
    std::function<std::int64_t()> clock_;  // options_.clock, else model::now_ms
    LoginThrottle login_throttle_;
    std::atomic<std::int64_t> last_session_purge_ms_{0};
    std::string dummy_password_hash_;  // verified against when a login names no account
    std::unique_ptr<auth::PasswordChecker> password_checker_;  // password mode, `dictionary`
};

}  // namespace chatd::chat
