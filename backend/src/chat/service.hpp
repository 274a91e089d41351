#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth.hpp"
#include "auth/password_policy.hpp"
#include "chat/error.hpp"
#include "chat/frame_guard.hpp"
#include "chat/hub.hpp"
#include "chat/login_guard.hpp"
#include "chat/notify_levels.hpp"
#include "chat/people.hpp"
#include "chat/publisher.hpp"
#include "chat/rate_limiter.hpp"
#include "chat/sink.hpp"
#include "metrics/metrics.hpp"

namespace chatd::store {
class Store;
struct NewMessage;
struct HistoryQuery;
struct HistoryPage;
struct ReadMark;
}  // namespace chatd::store
namespace chatd::bus {
class Bus;
}

namespace chatd::chat {

// Who made a request: the token's user and the token's hash (names the session).
struct Identity {
    std::string user_name;
    std::string session;
};

// A signed-in session: the token is shown once, the store keeps only its hash.
struct Session {
    std::string user_name;
    std::string token;
    std::int64_t expires_ms = 0;
};

// One of a user's sessions as their list shows it (GET /api/sessions).
struct SessionEntry {
    std::string id;  // public: not the token, not its hash
    std::int64_t created_ms = 0;
    std::int64_t last_used_ms = 0;
    std::int64_t expires_ms = 0;
    std::string user_agent;
    std::string address;
    bool current = false;  // the session the request came with
};

struct Profile {
    std::string user_name;
    std::vector<std::string> rooms;
    bool operator==(const Profile&) const = default;
};

// A room as one user sees it.
struct RoomEntry {
    std::string name;
    bool joined = false;
    bool operator==(const RoomEntry&) const = default;
};

// One page of a room's history (or of a thread's replies), in ascending id order; has_more: the
// page does not reach the end of the room in the direction of the query. Visible messages come
// in their folded state as of `as_of`, the room's highest id when the page was read
// (store::HistoryPage).
struct HistoryPage {
    std::vector<model::Message> messages;
    bool has_more = false;
    model::MessageId as_of = 0;
};

struct MembersPage {
    std::vector<std::string> members;
    bool has_more = false;
};

// One visible message of a room, folded as of `as_of`.
struct FoundMessage {
    model::Message message;
    model::MessageId as_of = 0;
};

// Which seed endpoint names its user (the refusal says which rule was broken).
enum class SeedUse { Send, Receive };

struct ServiceOptions {
    bool open_auth = false;
    std::size_t max_message_length = 4000;  // Unicode code points; edits too
    // Edits and deletes of a message at most this long after it was sent (0: any time).
    std::chrono::milliseconds edit_window{0};
    // Distinct emoji one message may hold; a reaction with a new one past it is refused.
    std::size_t max_reactions_per_message = 50;
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
    // A session's last use is written at most this often (authenticate), so a busy session
    // costs one store write a minute, not one per request.
    std::chrono::milliseconds session_touch_interval = std::chrono::minutes(1);
    // A session's user-agent text is kept up to this many bytes (cut at a character boundary).
    std::size_t session_user_agent_bytes = 256;
    // Unread counts stop here (the web client shows "999+"); each count that stops is counted
    // (chat_limit_hits_total{kind="unread_capped"}).
    std::size_t max_unread_count = 999;
    // `@room` is refused (room_mention_too_large) in rooms with more members than this; each
    // refusal is counted (chat_limit_hits_total{kind="room_mention"}).
    std::size_t max_room_mention_members = 50;
    // GET /api/rooms/{room}/members names at most this many per page; a larger limit is refused
    // and counted (chat_limit_hits_total{kind="members_page"}).
    std::size_t max_members_page = 1000;
    // A direct conversation holds at most this many people, its opener included; a larger one
    // is refused (GroupDmTooLarge, which HTTP counts as kind="group_dm_members").
    std::size_t max_group_dm_members = 8;
    // Wall-clock milliseconds for the sign-in throttle and the time of native sends and changes,
    // which the edit window compares (a fake one in tests).
    std::function<std::int64_t()> clock{};
    // The people directory's limits; who is told when a user's last connection here closed
    // (their last seen), on the thread that closed it: it must not block.
    PeopleOptions people{};
    std::function<void(const std::string& user_name)> on_last_disconnect{};
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
    People& people() { return people_; }
    NotifyLevels& notify_levels() { return notify_levels_; }

    // After a broker outage, connected clients may have missed messages that no resync of
    // theirs would fetch (BrokerBus::on_resubscribed): native clients are closed with 1012 so
    // that they reconnect and resync from the store (docs/reliability.md).
    void resync_native_clients();

    // Where the bus hands every event it delivers (give it to Bus::start). A message without
    // an id is a foreign one (the brief's format, from another AMQP client): it is stored in
    // general first, idempotently, and the stored version is delivered. Not blocking.
    void on_bus_event(const model::EventPtr& event, const std::string& only_user);

    // --- HTTP API; each throws Error for a refused request. Blocking. ---
    std::optional<Identity> authenticate(std::string_view token);
    // The password is required (BadRequest without one). At most max_registrations_per_address
    // from `address` (RegistrationThrottled past it).
    // `address` and `user_agent` describe the new session's device in the user's list.
    Session register_user(std::string_view user_name,
                          std::optional<std::string_view> password,
                          std::string_view address = {},
                          std::string_view user_agent = {});
    // In open mode `password` is ignored (it may be absent) and a live connection holding the
    // name refuses it. In password mode it is required, and wrong passwords from `address` are
    // throttled (LoginThrottle: LoginThrottled with the wait in retry_after).
    Session login(std::string_view user_name,
                  std::optional<std::string_view> password,
                  std::string_view address = {},
                  std::string_view user_agent = {});
    // Stores the name key of every user registered before keys existed (SQL cannot compute
    // it); a look-alike of a name held by another user keeps its account but not the key.
    // Returns how many users it went through. Blocking; chatd runs it once at start.
    std::size_t backfill_name_keys();
    void logout(const Identity& identity);
    // Signs the user out everywhere: deletes every session of the user and closes their
    // connections on every node. Returns how many sessions there were.
    std::size_t logout_all(const Identity& identity);
    // The user's unexpired sessions, newest first, the caller's marked current.
    std::vector<SessionEntry> sessions(const Identity& identity);
    // Ends one of the user's sessions and closes its connections on every node, as logout
    // does; NotFound when the user has no session by that id (another user's included).
    void revoke_session(const Identity& identity, std::string_view id);
    Profile me(const Identity& identity);
    // Sets (or clears) the user's display name (People::set_display_name, which throws its
    // refusals) and tells every native connection on every node with a `profile` frame.
    PersonCard set_display_name(const Identity& identity, std::string_view display_name);
    std::vector<RoomEntry> list_rooms(const Identity& identity);
    RoomEntry create_room(const Identity& identity, std::string_view room);
    RoomEntry join_room(const Identity& identity, std::string_view room);
    RoomEntry leave_room(const Identity& identity, std::string_view room);
    // Returns the conversation's room name.
    std::string open_direct(const Identity& identity, std::string_view other_user);
    // The direct conversation of the caller and `users` (the caller may be among them; repeats
    // count once): the same room for the same set, whoever opens it. Two people: open_direct's
    // room. Throws Error: InvalidName, UserNotFound (password mode: a name without an account),
    // BadRequest (nobody else), GroupDmTooLarge past max_group_dm_members. Returns the room.
    std::string open_group_direct(const Identity& identity, const std::vector<std::string>& users);
    HistoryPage history(const Identity& identity,
                        std::string_view room,
                        std::optional<std::int64_t> before,
                        std::optional<std::int64_t> after,
                        int limit);
    // One visible message of the room, folded (MessageNotFound for an unknown id or a change's).
    FoundMessage find_message(const Identity& identity, std::string_view room, model::MessageId id);
    // The replies of the room's message `root`, folded, paged like history (MessageNotFound when
    // the room has no visible message `root`).
    HistoryPage replies(const Identity& identity,
                        std::string_view room,
                        model::MessageId root,
                        std::optional<std::int64_t> before,
                        std::optional<std::int64_t> after,
                        int limit);
    // The names of the room's members after `after`, in byte order, `limit` (1 to
    // max_members_page, BadRequest otherwise) at most; only members read them. Blocking.
    MembersPage room_members(const Identity& identity,
                             std::string_view room,
                             std::string_view after,
                             std::int64_t limit);
    // Rooms the user's live connections subscribe to (general included). Blocking.
    std::vector<std::string> rooms_of(const std::string& user_name);

    // --- Read state (docs/protocol.md "Read state"). ---
    // The user's last-read id and unread count in each of `rooms`. Blocking.
    std::vector<model::ReadState> read_states(const std::string& user_name,
                                              const std::vector<std::string>& rooms);
    // What a read mark answers, on a store thread once it is durable: the states (mark_read: the
    // room's, moved or not; mark_all_read: the rooms that moved) or the refusal.
    using ReadDone = std::function<void(std::optional<Error>, std::vector<model::ReadState>)>;
    // Marks `room` read up to `up_to` (a mark never moves back: a lower id answers the state as
    // it is). Only members (throws NotMember, RoomNotFound, InvalidRoom, BadRequest at once);
    // ReadMarkBeyondNewest through `done` above the room's newest id. Every connection of the
    // user, on every node, is told when the mark moves. Blocking (the checks), then `done`.
    void mark_read(const Identity& identity,
                   std::string_view room,
                   model::MessageId up_to,
                   ReadDone done);
    // Marks every room of the user read up to its newest id. Blocking, then `done`.
    void mark_all_read(const Identity& identity, ReadDone done);
    // This node's users and those the bus reports on other nodes, sorted. Not blocking.
    // With `limit`, this node's part holds at most that many names (the welcome frame's cap).
    std::vector<std::string> online_users(std::size_t limit = SIZE_MAX) const;
    // --- Away status (docs/protocol.md "Away"). Not blocking. ---
    // The user over every node: online when a connection anywhere is active, away when every
    // one is away.
    model::Availability availability(const std::string& user_name) const;
    // The users who are away by that rule, sorted.
    std::vector<std::string> away_users() const;

    // --- The seed API (the brief's), which names its user in the request. Not blocking. ---
    // Whether a seed request must be signed in (password mode) before seed_identity.
    bool seed_needs_sign_in() const { return !options_.open_auth; }
    // Who a seed request acts as: in open mode the named user (a valid name, InvalidName
    // otherwise); in password mode the signed-in user, who may name only themself
    // (Unauthorized without one, Forbidden for another name).
    Identity seed_identity(std::string_view user_name,
                           const std::optional<Identity>& signed_in,
                           SeedUse use) const;

    // --- Live connections. Not blocking. ---
    // The first frame of a native connection: its user, its rooms and who is online (this
    // node's part capped at Hub::kDefaultPresenceLimit), the user always among them.
    // `read`: the user's state in each room (read_states); `notify`: their levels that are not
    // the default (NotifyLevels::chosen).
    Frame welcome(const std::string& user_name,
                  const std::vector<std::string>& rooms,
                  const std::vector<model::ReadState>& read = {},
                  const std::vector<model::RoomNotifyLevel>& notify = {}) const;
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
                   std::function<void(std::optional<Error>)> done);

  private:
    void send(ConnectionId id,
              const std::string& user_name,
              const std::shared_ptr<Sink>& sink,
              struct SendCommand command);
    // edit, delete, react, unreact: the path of a send (membership, checks, rate, store, ack,
    // fan-out); the store checks the rules of the room's log in the commit (store::Refusal).
    void change(ConnectionId id,
                const std::string& user_name,
                const std::shared_ptr<Sink>& sink,
                struct ChangeCommand command);
    // Appends, then acks on `sink` and publishes, or tells `sink` why it was refused.
    void append_and_ack(const std::shared_ptr<Sink>& sink, store::NewMessage message);
    // Moves a read mark; publishes the moved states to the user's connections, then `done` with
    // the states (or the refusal), on a store thread.
    void move_read_mark(store::ReadMark mark, ReadDone done);
    // `read` and `read_all` frames: acked with read_ack on `sink`.
    void read_frame(ConnectionId id,
                    const std::string& user_name,
                    const std::shared_ptr<Sink>& sink,
                    std::string room,
                    model::MessageId up_to,
                    std::string client_msg_id);
    void count_capped(const std::vector<model::ReadState>& states);
    // A `status` frame: marks the connection away or active; publishes the user's status on
    // this node when that changed it.
    void set_away(ConnectionId id, const std::string& user_name, bool away);
    void publish_away(const std::string& user_name, bool away);
    // Checks and paging shared by history and replies; `read` reads the page with its extra row.
    HistoryPage page(const Identity& identity,
                     std::string_view room,
                     std::optional<std::int64_t> before,
                     std::optional<std::int64_t> after,
                     int limit,
                     const std::function<store::HistoryPage(const store::HistoryQuery&)>& read);
    void require_reader(const Identity& identity, std::string_view room);
    // Counts and explains a refused frame on the socket.
    void refuse(const std::shared_ptr<Sink>& sink,
                metrics::Limit limit,
                std::string_view code,
                std::string_view message,
                std::string_view client_msg_id = {});
    // Why content may not be sent now, and the limit a refusal counts as (sockets count it here;
    // HTTP requests in net).
    struct ContentRefusal {
        ErrorCode code;
        std::string message;
        metrics::Limit limit;
    };
    std::optional<ContentRefusal> check_content(const std::string& user_name,
                                                std::string_view content);
    // The message limit (--rate-per-second), which every stored frame counts against.
    std::optional<ContentRefusal> check_rate(const std::string& user_name);
    void publish(model::Event event);
    // Closes the connections opened with `sessions`, on every node.
    void end_sessions(std::vector<std::string> sessions, std::string reason);
    void store_foreign(const model::Message& message, const std::string& only_user);
    Session new_session(const std::string& user_name,
                        std::string_view address,
                        std::string_view user_agent);
    void require_room(std::string_view room, bool allow_direct);
    // Creates the direct room of `people` (valid names, sorted, unique) when missing and makes
    // each of them a member, telling every member's connections.
    std::string open_conversation(const std::string& opener,
                                  const std::vector<std::string>& people);

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
    People people_;
    NotifyLevels notify_levels_;
};

}  // namespace chatd::chat
