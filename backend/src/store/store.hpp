#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "model/message.hpp"
#include "model/notify.hpp"

namespace chatd::store {

// Thrown for failures the caller cannot fix by changing its input (I/O error, corrupt file,
// lost connection). Expected outcomes ("user exists") are return values instead.
class StoreError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct NewMessage {
    std::string room;
    std::string user_name;
    std::string content;
    std::string sent_at;
    std::int64_t ts_ms = 0;
    // Empty means "no idempotency key". Otherwise (user_name, client_msg_id) is unique: appending
    // it again returns the first stored message with duplicate = true.
    std::string client_msg_id;
    model::MessageKind kind = model::MessageKind::Text;
    // Empty: published as soon as it is stored (in-process bus). Otherwise the message stays in
    // unpublished(origin_node) until mark_published: the publication outbox of that node.
    std::string origin_node{};
    // A change (model::is_change(kind)): the message it changes. A Text message: the message it
    // answers (0: none); the store stores its thread's root instead when that is a reply.
    model::MessageId target_id = 0;
    model::MessageId reply_to = 0;
    // Rules the store checks inside the commit, so concurrent changes cannot race past them:
    // an Edit or Delete of a message older than this (ts_ms - target's ts_ms) is refused
    // (0: no limit); a React that would give the target more distinct emoji than max_reactions.
    std::int64_t edit_window_ms = 0;
    std::size_t max_reactions = 50;
    // A Text message's `@name` tokens (chat::find_mentions) and whether it says `@room`. The
    // store keeps the names of the room's members among them (general: every user with a read
    // mark there) and refuses `@room` (RoomMentionTooLarge) in a room with more members than
    // max_room_mention_members, inside the commit.
    std::vector<std::string> mention_names{};
    bool mentions_room = false;
    std::size_t max_room_mention_members = 50;
};

// Why an append was refused by a rule of the room log (nothing stored, nothing changed).
enum class Refusal {
    None,
    MessageNotFound,      // the target (or reply_to) is not a visible Text message of that room
    MessageDeleted,       // the target (or reply_to) is deleted
    NotAuthor,            // an Edit or Delete of another user's message
    EditWindowClosed,     // an Edit or Delete past edit_window_ms
    TooManyReactions,     // a new emoji past max_reactions
    RoomMentionTooLarge,  // `@room` in a room with more than max_room_mention_members members
};

struct AppendResult {
    // false: refusal says which rule refused it, or (refusal None) error says what failed; the
    // message was not stored either way
    bool ok = false;
    bool duplicate = false;
    model::Message message;  // the stored message (with its id) when ok
    std::string error;
    Refusal refusal = Refusal::None;
};

struct User {
    std::string name;
    std::string password_hash;  // argon2id string from libsodium; empty for open-mode users
    std::int64_t created_ms = 0;
    // chat::user_name_key(name): look-alike names share it. Empty: none (then nothing is
    // claimed; users from before migration 0004 have none until set_name_key).
    std::string name_key{};
};

// One person of the directory: an account, or in open mode a name that signed in or connected.
struct Person {
    std::string name;
    std::string display_name;       // empty: none set
    std::int64_t last_seen_ms = 0;  // when a connection of theirs last closed; 0: never yet
    std::int64_t created_ms = 0;
    bool operator==(const Person&) const = default;
};

// A page of the directory: people whose name fold or display name fold starts with
// `prefix_fold` (empty: everyone) and whose name sorts after `after`, by name (byte order).
struct PeopleQuery {
    std::string prefix_fold;
    std::string after;
    std::size_t limit = 50;
};

// A person's connection closed at `ms` (Store::record_last_seen).
struct LastSeen {
    std::string name;
    std::string name_fold;
    std::int64_t ms = 0;
};

// Failed sign-ins counted under one key (chat::LoginThrottle).
struct LoginFailures {
    std::int64_t failures = 0;
    std::int64_t last_failure_ms = 0;
};

struct Session {
    std::string token_hash;  // hex SHA-256 of the bearer token; the token itself is never stored
    std::string user_name;
    std::int64_t expires_ms = 0;
    std::string public_id{};  // what lists and revocations name: random, unrelated to the token
    std::int64_t created_ms = 0;
    std::int64_t last_used_ms = 0;  // updated at a bounded rate (ChatService::authenticate)
    std::string user_agent{};       // bounded by the service
    std::string address{};
};

struct Room {
    std::string name;
    bool direct = false;  // a direct conversation between exactly two users
    std::string created_by;
    std::int64_t created_ms = 0;
};

struct HistoryQuery {
    std::string room;
    // At most one of before/after. Neither: the newest messages.
    std::optional<model::MessageId> before{};  // messages with id < before
    std::optional<model::MessageId> after{};   // messages and changes with id > after
    int limit = 50;
};

// Rows of a room read in one snapshot. Visible messages come folded (model::Message's folded
// state): they reflect exactly the room's changes with id <= as_of, the room's highest id (of
// any kind) in that snapshot. Ids of a room commit in order, so that snapshot holds every
// smaller id of the room too.
struct HistoryPage {
    std::vector<model::Message> messages;
    model::MessageId as_of = 0;
};

// One user's read state in one room: counted by read_states and mark_read.
using model::ReadState;

// Moves a user's read mark forward (Store::mark_read).
struct ReadMark {
    std::string user_name;
    std::string room;            // empty: every room the user has a mark in, each to its newest id
    model::MessageId up_to = 0;  // one room: the newest id read; ignored for every room
    std::size_t unread_cap = 999;
};

struct ReadMarkResult {
    enum class Outcome {
        Moved,         // the mark moved (every room: at least one did)
        Unchanged,     // it was already at or past up_to: a mark never moves back
        BeyondNewest,  // up_to is above the room's newest id: refused, nothing changed
        Failed,        // error says what failed; nothing changed
    };
    Outcome outcome = Outcome::Failed;
    // One room: its state after the call (Moved or Unchanged). Every room: the rooms whose mark
    // moved, each now at its newest id with nothing unread.
    std::vector<ReadState> states;
    std::string error;
};

// Persistence contract shared by every backend (tests/unit/store/store_contract.hpp).
// Thread-safe. Every method except append blocks the calling thread: call them from a blocking
// pool, never from an I/O thread. History is always returned in ascending id order.
class Store {
  public:
    virtual ~Store() = default;

    // Queues the message for the next group commit and returns at once. `done` runs on the
    // store's writer thread after the transaction holding the message is durable (or failed),
    // in id order; it must not block.
    virtual void append(NewMessage message, std::function<void(AppendResult)> done) = 0;
    // Blocks until every append queued before the call has committed and its `done` has run.
    virtual void flush() = 0;

    // Newest and before= pages: visible messages only (Text, Join, Leave), folded, `limit` of
    // them. after= pages: every row above `after`, visible ones folded and changes as stored,
    // so a client holding the room up to `after` can apply them in order. A fixed number of
    // queries per page, whatever its length.
    virtual HistoryPage page(const HistoryQuery& query) = 0;
    std::vector<model::Message> history(const HistoryQuery& query) { return page(query).messages; }
    // One visible message of the room, folded (nullopt: no such visible message there).
    virtual std::optional<HistoryPage> find_message(std::string_view room, model::MessageId id) = 0;
    // The replies of a thread (Text rows with reply_to == query's root), folded, paged like
    // history's newest and before= pages (after= pages too, replies only).
    virtual HistoryPage thread(const HistoryQuery& query, model::MessageId root) = 0;

    // The publication outbox: messages and changes appended with this origin node and not yet
    // marked published, oldest first, at most `limit`.
    virtual std::vector<model::Message> unpublished(std::string_view origin_node,
                                                    std::size_t limit) = 0;
    // Idempotent; unknown ids are ignored.
    virtual void mark_published(const std::vector<model::MessageId>& ids) = 0;

    // False when the name, or its non-empty name_key, is taken; nothing is stored then. Atomic:
    // of two concurrent registrations with the same key, one fails.
    virtual bool create_user(const User& user) = 0;
    virtual std::optional<User> find_user(std::string_view name) = 0;
    // Users whose name_key is empty (registered before keys existed), by name, at most `limit`.
    virtual std::vector<std::string> users_without_name_key(std::size_t limit) = 0;
    // Stores the user's name key and claims it unless another user holds it (a clash from
    // before keys existed: both accounts stay). True when the user now holds the key.
    virtual bool set_name_key(std::string_view user_name, std::string_view name_key) = 0;

    // The people directory (docs/design/storage.md "People"). Folds are chat::search_fold of
    // the name and the display name, computed by the caller. add_person is idempotent and
    // refreshes the name's fold; the others add the person when missing.
    virtual void add_person(std::string_view name,
                            std::string_view name_fold,
                            std::int64_t now_ms) = 0;
    virtual std::vector<Person> people(const PeopleQuery& query) = 0;
    virtual std::optional<Person> find_person(std::string_view name) = 0;
    // In one transaction; a person's last_seen_ms never moves back.
    virtual void record_last_seen(const std::vector<LastSeen>& seen) = 0;
    // An empty display name clears it.
    virtual void set_display_name(const LastSeen& person,
                                  std::string_view display_name,
                                  std::string_view display_fold) = 0;

    // Failed sign-ins per key: the counts of `keys` in that order ({} for an unknown key).
    virtual std::vector<LoginFailures> login_failures(const std::vector<std::string>& keys) = 0;
    // Adds one failure at now_ms to each key, in one transaction; a key whose last failure is
    // before forget_before_ms starts again from one. Returns the new counts, in order.
    virtual std::vector<LoginFailures> add_login_failure(const std::vector<std::string>& keys,
                                                         std::int64_t now_ms,
                                                         std::int64_t forget_before_ms) = 0;
    virtual void clear_login_failures(const std::vector<std::string>& keys) = 0;
    // Deletes every key whose last failure is before `before_ms`; returns how many.
    virtual std::size_t purge_login_failures(std::int64_t before_ms) = 0;

    virtual void create_session(const Session& session) = 0;
    // Expired sessions are not returned.
    virtual std::optional<Session> find_session(std::string_view token_hash,
                                                std::int64_t now_ms) = 0;
    virtual void delete_session(std::string_view token_hash) = 0;
    // Deletes the user's sessions but the `keep` expiring last (the newest: every session lives
    // as long); returns the token hashes deleted.
    virtual std::vector<std::string> trim_sessions(std::string_view user_name,
                                                   std::size_t keep) = 0;
    // Deletes every session of the user; returns the token hashes deleted.
    virtual std::vector<std::string> delete_user_sessions(std::string_view user_name) = 0;
    // Deletes the sessions expired at now_ms (expires_ms <= now_ms); returns how many.
    virtual std::size_t purge_expired_sessions(std::int64_t now_ms) = 0;
    // The user's unexpired sessions, newest first (created_ms, then expires_ms, descending).
    virtual std::vector<Session> user_sessions(std::string_view user_name, std::int64_t now_ms) = 0;
    // Deletes the user's session with that public id; its token hash, or nullopt when the user
    // has none by that id (another user's id included).
    virtual std::optional<std::string> delete_session_by_id(std::string_view user_name,
                                                            std::string_view public_id) = 0;
    // Sets the session's last use to used_ms if that is later than the stored one.
    virtual void touch_session(std::string_view token_hash, std::int64_t used_ms) = 0;

    // False when the name is taken. The general room exists from the first migration.
    virtual bool create_room(const Room& room) = 0;
    virtual std::optional<Room> find_room(std::string_view name) = 0;
    // Rooms that are not direct conversations, by name.
    virtual std::vector<Room> list_public_rooms() = 0;
    // Idempotent (a member's read mark stays where it is).
    virtual void add_member(std::string_view room, std::string_view user_name) = 0;
    virtual void remove_member(std::string_view room, std::string_view user_name) = 0;
    virtual bool is_member(std::string_view room, std::string_view user_name) = 0;
    // Every room the user belongs to, direct conversations included, by name.
    virtual std::vector<std::string> rooms_of(std::string_view user_name) = 0;
    virtual std::vector<std::string> members_of(std::string_view room) = 0;
    // The room's members as mentions see them (the users with a read mark in it; general: every
    // user who has connected), names after `after` in byte order, at most `limit` of them.
    virtual std::vector<std::string> room_members(std::string_view room,
                                                  std::string_view after,
                                                  std::size_t limit) = 0;

    // Read state. add_member starts the member's mark at the room's newest id; remove_member
    // deletes it. Queued on the writer like append and returns at once: `done` runs on the
    // writer thread once the mark is durable (or refused); it must not block. A mark only moves
    // forward; membership is the caller's to check.
    virtual void mark_read(ReadMark mark, std::function<void(ReadMarkResult)> done) = 0;
    // The user's state in each of `rooms` that exists, by room name, unread counts capped at
    // `unread_cap`. A room where the user has no mark yet gets one at its newest id (nothing is
    // unread for a newcomer). A fixed number of queries, whatever the number of rooms.
    virtual std::vector<ReadState> read_states(std::string_view user_name,
                                               const std::vector<std::string>& rooms,
                                               std::size_t unread_cap) = 0;

    // Notification levels (docs/design/storage.md "Notification levels"): the levels a user chose
    // that differ from the room's default. nullopt deletes the row (back to the default);
    // remove_member deletes it too. Membership is the caller's to check.
    virtual void set_notify_level(std::string_view user_name,
                                  std::string_view room,
                                  std::optional<model::NotifyLevel> level) = 0;
    // The user's stored levels, by room name.
    virtual std::vector<model::RoomNotifyLevel> notify_levels(std::string_view user_name) = 0;
};

}  // namespace chatd::store
