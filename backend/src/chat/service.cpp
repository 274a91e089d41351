#include "chat/service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>

#include "bus/bus.hpp"
#include "bus/wire.hpp"
#include "chat/codec.hpp"
#include "chat/mentions.hpp"
#include "chat/message_content.hpp"
#include "chat/user_names.hpp"
#include "chat/validation.hpp"
#include "model/clock.hpp"
#include "store/store.hpp"

namespace chatd::chat {
using metrics::Limit;

namespace {

Error invalid_name() {
    return Error(ErrorCode::InvalidName,
                 "a user name is 1 to 32 letters, digits, '_', '-' or '.', with no invisible, "
                 "format or direction-control character");
}

Error name_taken() {
    return Error(ErrorCode::NameTaken, "that name, or one that looks like it, is taken");
}

Error invalid_room() {
    return Error(ErrorCode::InvalidRoom, "a room name is 1 to 48 of a-z, 0-9, '_' and '-'");
}

// Worded as the body readers word a missing field (protocol/requests.hpp).
Error missing_password() {
    return Error(ErrorCode::BadRequest, "missing string field \"password\"");
}

Error room_not_found() {
    return Error(ErrorCode::RoomNotFound, "no such room");
}

Error message_not_found() {
    return Error(ErrorCode::MessageNotFound, "no such message in this room");
}

// How a socket is told of a rule of the room's log that refused an append, and what it counts as.
struct RuleRefusal {
    ErrorCode code;
    std::string message;
    Limit limit;
};

RuleRefusal rule_refusal(store::Refusal refusal, std::chrono::milliseconds edit_window) {
    switch (refusal) {
        case store::Refusal::MessageNotFound:
            return {ErrorCode::MessageNotFound, "no such message in this room",
                    Limit::MessageNotFound};
        case store::Refusal::MessageDeleted:
            return {ErrorCode::MessageDeleted, "that message was deleted", Limit::MessageDeleted};
        case store::Refusal::NotAuthor:
            return {ErrorCode::NotAuthor, "only its author can edit or delete a message",
                    Limit::NotAuthor};
        case store::Refusal::EditWindowClosed:
            return {ErrorCode::EditWindowClosed,
                    "a message can be edited or deleted for " +
                        std::to_string(
                            std::chrono::duration_cast<std::chrono::seconds>(edit_window).count()) +
                        " s after it was sent",
                    Limit::EditWindowClosed};
        case store::Refusal::TooManyReactions:
            return {ErrorCode::TooManyReactions,
                    "that message has as many different reactions as it may hold",
                    Limit::TooManyReactions};
        case store::Refusal::RoomMentionTooLarge:
            return {ErrorCode::RoomMentionTooLarge,
                    "@room is only for rooms of at most --max-room-mention-members members",
                    Limit::RoomMention};
        case store::Refusal::None:
            break;
    }
    return {ErrorCode::StoreFailed, "the store refused the message", Limit::BadRequest};
}

}  // namespace

ChatService::ChatService(store::Store& store,
                         bus::Bus& bus,
                         Publisher& publisher,
                         Hub& hub,
                         metrics::Metrics& metrics,
                         ServiceOptions options)
    : store_(store),
      bus_(bus),
      publisher_(publisher),
      hub_(hub),
      metrics_(metrics),
      options_(std::move(options)),
      rate_limiter_(options_.rate_per_second, options_.rate_burst),
      frame_guard_(options_.frame_limits),
      typing_(options_.typing_interval),
      clock_(options_.clock ? options_.clock : std::function<std::int64_t()>(model::now_ms)),
      login_throttle_(store_, options_.login_throttle, clock_),
      people_(
          store_,
          [this] { return online_users(); },
          metrics_,
          options_.people,
          [this] { return away_users(); }),
      notify_levels_(
          store_,
          [this](const std::string& user, std::string_view room) {
              require_reader(Identity{user, {}}, room);
          },
          [this](model::Event event) { publish(std::move(event)); }) {
    if (!options_.open_auth) {
        dummy_password_hash_ =
            auth::hash_password("no account has this password", options_.password_cost);
        if (options_.password_policy == auth::PasswordPolicy::dictionary) {
            password_checker_ = std::make_unique<auth::PasswordChecker>(kMinPasswordChars);
        }
    }
}

void ChatService::resync_native_clients() {
    spdlog::info("broker (re)connected: native clients reconnect and resync ({} connections)",
                 hub_.connection_count());
    hub_.close_native(CloseCode::Restarting, "broker reconnected: resync");
}

std::vector<std::string> ChatService::online_users(std::size_t limit) const {
    auto users = hub_.online_users(limit);
    auto remote = bus_.remote_users();
    if (remote.empty()) return users;
    std::vector<std::string> merged;
    std::set_union(users.begin(), users.end(), remote.begin(), remote.end(),
                   std::back_inserter(merged));
    return merged;
}

model::Availability ChatService::availability(const std::string& user_name) const {
    return model::combine(hub_.availability(user_name), bus_.remote_availability(user_name));
}

std::vector<std::string> ChatService::away_users() const {
    const auto here = hub_.away_users();
    const auto remote = bus_.remote_away_users();
    std::vector<std::string> candidates;
    std::set_union(here.begin(), here.end(), remote.begin(), remote.end(),
                   std::back_inserter(candidates));
    std::erase_if(candidates, [this](const std::string& name) {
        return availability(name) != model::Availability::Away;
    });
    return candidates;
}

void ChatService::set_away(ConnectionId id, const std::string& user_name, bool away) {
    if (hub_.set_away(id, away)) publish_away(user_name, away);
}

void ChatService::publish_away(const std::string& user_name, bool away) {
    if (away) {
        metrics_.users_away.Increment();
    } else {
        metrics_.users_away.Decrement();
    }
    // What the hub holds now, not `away`: two connections of the user changing at once on two
    // threads may publish in either order, and the last one published must be the latest.
    const auto here = hub_.availability(user_name);
    if (here == model::Availability::Offline) return;  // closed meanwhile: its offline says it
    const bool now_away = here == model::Availability::Away;
    bus_.user_away(user_name, now_away);
    publish(model::Presence{user_name, true, now_away});
}

void ChatService::on_bus_event(const model::EventPtr& event, const std::string& only_user) {
    if (const auto* m = std::get_if<model::Message>(event.get()); m && m->id == 0) {
        store_foreign(*m, only_user);
        return;
    }
    hub_.deliver(*event, only_user);
}

void ChatService::store_foreign(const model::Message& message, const std::string& only_user) {
    if (!valid_user_name(message.user_name) || message.content.empty() ||
        utf8_length(message.content) > options_.max_message_length) {
        metrics_.limit_hit(Limit::BadRequest);
        return;
    }
    const auto ts = model::now_ms();
    // Every queue holding a copy yields the same key, so the store keeps one message.
    store::NewMessage stored{std::string(model::kGeneralRoom),
                             message.user_name,
                             message.content,
                             message.sent_at.empty() ? format_sent_at(ts) : message.sent_at,
                             ts,
                             bus::foreign_key(message),
                             kind_of_content(message.content)};
    if (stored.kind == model::MessageKind::Text) {
        stored.mention_names = find_mentions(stored.content).names;
    }
    store_.append(std::move(stored), [this, only_user](store::AppendResult result) {
        if (!result.ok) {
            metrics_.store_errors.Increment();
            return;
        }
        if (!result.duplicate) metrics_.broker_foreign_messages.Increment();
        hub_.deliver(model::Event(std::move(result.message)), only_user);
    });
}

std::optional<Identity> ChatService::authenticate(std::string_view token) {
    if (token.empty() || token.size() > 128) return std::nullopt;
    auto hash = auth::token_hash(token);
    const auto now = model::now_ms();
    auto session = store_.find_session(hash, now);
    if (!session) return std::nullopt;
    // Bounded: a session's last use is written once per touch interval at most (nodes racing
    // on one session may each write once; the store keeps the latest).
    if (now - session->last_used_ms >= options_.session_touch_interval.count()) {
        store_.touch_session(hash, now);
    }
    return Identity{session->user_name, std::move(hash)};
}

namespace {

// At most `bytes` of `text`, cut at a UTF-8 character boundary, control characters dropped.
std::string bounded_label(std::string_view text, std::size_t bytes) {
    std::string out;
    for (unsigned char c : text) {
        if (c < 0x20 || c == 0x7f) continue;
        out.push_back(static_cast<char>(c));
    }
    if (out.size() <= bytes) return out;
    auto end = bytes;
    while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xC0) == 0x80) --end;
    out.resize(end);
    return out;
}

}  // namespace

Session ChatService::new_session(const std::string& user_name,
                                 std::string_view address,
                                 std::string_view user_agent) {
    const auto token = auth::new_token();
    const auto now = clock_();
    // The expiry orders a user's sessions: the earliest is the oldest, dropped first past
    // --max-sessions-per-user.
    const auto expires =
        now + std::chrono::duration_cast<std::chrono::milliseconds>(options_.session_ttl).count();
    // The public id is random on its own (22 base64url characters, 132 bits), unrelated to the
    // token.
    store_.create_session(store::Session{
        auth::token_hash(token), user_name, expires, auth::new_token().substr(0, 22), now, now,
        bounded_label(user_agent, options_.session_user_agent_bytes), std::string(address)});
    people_.signed_in(user_name, now);
    if (options_.max_sessions_per_user > 0) {
        auto dropped = store_.trim_sessions(user_name, options_.max_sessions_per_user);
        for (std::size_t i = 0; i < dropped.size(); ++i) metrics_.limit_hit(Limit::Sessions);
        end_sessions(std::move(dropped), "signed out: too many sessions");
    }
    auto last = last_session_purge_ms_.load();
    if (now - last >= options_.session_purge_interval.count() &&
        last_session_purge_ms_.compare_exchange_strong(last, now)) {
        store_.purge_expired_sessions(now);
    }
    return Session{user_name, token, expires};
}

Session ChatService::register_user(std::string_view user_name,
                                   std::optional<std::string_view> given_password,
                                   std::string_view address,
                                   std::string_view user_agent) {
    if (!given_password) throw missing_password();
    const auto password = *given_password;
    if (options_.open_auth) {
        throw Error(ErrorCode::NotFound, "open mode has no accounts: use /api/login with a name");
    }
    // Registrations per address share the sign-in throttle's table: "register:<address>".
    const std::vector<std::string> registrations{"register:" + std::string(address)};
    const auto window = options_.registration_window.count();
    if (options_.max_registrations_per_address > 0) {
        const auto count = store_.login_failures(registrations).front();
        const auto until = count.last_failure_ms + window;
        const auto now = clock_();
        if (count.failures >= static_cast<std::int64_t>(options_.max_registrations_per_address) &&
            until > now) {
            const auto seconds =
                std::chrono::ceil<std::chrono::seconds>(std::chrono::milliseconds(until - now));
            throw Error(ErrorCode::RegistrationThrottled,
                        "too many registrations from your address: try again in " +
                            std::to_string(seconds.count()) + " s",
                        seconds);
        }
    }
    const auto name = canonical_user_name(user_name);
    if (!name) throw invalid_name();
    if (utf8_length(password) < kMinPasswordChars || password.size() > kMaxPasswordBytes) {
        throw Error(ErrorCode::WeakPassword, "a password has 8 to 1024 characters");
    }
    if (password_checker_) {
        // The name as stored and, when it differs (NFC), as typed.
        auto weakness = password_checker_->weakness(password, *name);
        if (!weakness && *name != user_name) {
            weakness = password_checker_->weakness(password, user_name);
        }
        if (weakness) throw Error(ErrorCode::WeakPassword, *weakness);
    }
    store::User user{*name, auth::hash_password(password, options_.password_cost), model::now_ms(),
                     user_name_key(*name)};
    // Refused when the name or its key is taken, atomically (Store::create_user).
    if (!store_.create_user(user)) throw name_taken();
    if (options_.max_registrations_per_address > 0) {
        const auto now = clock_();
        store_.add_login_failure(registrations, now, now - window);
    }
    return new_session(user.name, address, user_agent);
}

Session ChatService::login(std::string_view user_name,
                           std::optional<std::string_view> password,
                           std::string_view address,
                           std::string_view user_agent) {
    if (!options_.open_auth && !password) throw missing_password();
    auto canonical = canonical_user_name(user_name);
    if (options_.open_auth) {
        if (!canonical) throw invalid_name();
        const std::string name = std::move(*canonical);
        if (hub_.is_online(name) && hub_.has_other_session(name, {})) {
            throw Error(ErrorCode::NameTaken, "that name is in use by a connected user");
        }
        return new_session(name, address, user_agent);
    }
    // An account registered before the look-alike rules may hold a name they refuse: it still
    // signs in with its exact name.
    if (!canonical && !valid_legacy_user_name(user_name)) throw invalid_name();
    const std::string name = canonical ? std::move(*canonical) : std::string(user_name);
    if (const auto wait = login_throttle_.check(name, address)) {
        const auto seconds = std::chrono::ceil<std::chrono::seconds>(*wait);
        throw Error(ErrorCode::LoginThrottled,
                    "too many failed sign-ins from your address: try again in " +
                        std::to_string(seconds.count()) + " s",
                    seconds);
    }
    const auto user = store_.find_user(name);
    // Verify even without an account so that timing does not tell which names exist.
    const bool ok =
        auth::verify_password(user ? user->password_hash : dummy_password_hash_, *password);
    if (!user || !ok) {
        login_throttle_.record_failure(name, address);
        throw Error(ErrorCode::InvalidCredentials, "wrong user name or password");
    }
    login_throttle_.record_success(name, address);
    return new_session(name, address, user_agent);
}

std::size_t ChatService::backfill_name_keys() {
    constexpr std::size_t kBatch = 500;
    std::size_t done = 0;
    std::size_t clashes = 0;
    while (true) {
        const auto names = store_.users_without_name_key(kBatch);
        for (const auto& name : names) {
            if (!store_.set_name_key(name, user_name_key(name))) {
                ++clashes;
                spdlog::warn(
                    "user '{}' looks like another user's name: both accounts keep "
                    "working, new look-alikes are refused",
                    name);
            }
        }
        done += names.size();
        if (names.size() < kBatch) break;
    }
    if (done > 0) {
        spdlog::info("stored the name key of {} users ({} look like another's name)", done,
                     clashes);
    }
    return done;
}

void ChatService::logout(const Identity& identity) {
    store_.delete_session(identity.session);
    end_sessions({identity.session}, "signed out");
}

std::size_t ChatService::logout_all(const Identity& identity) {
    auto sessions = store_.delete_user_sessions(identity.user_name);
    const auto count = sessions.size();
    // The caller's own session, even if another request deleted it meanwhile.
    if (std::find(sessions.begin(), sessions.end(), identity.session) == sessions.end()) {
        sessions.push_back(identity.session);
    }
    end_sessions(std::move(sessions), "signed out everywhere");
    return count;
}

std::vector<SessionEntry> ChatService::sessions(const Identity& identity) {
    std::vector<SessionEntry> entries;
    for (auto& s : store_.user_sessions(identity.user_name, model::now_ms())) {
        entries.push_back(SessionEntry{std::move(s.public_id), s.created_ms, s.last_used_ms,
                                       s.expires_ms, std::move(s.user_agent), std::move(s.address),
                                       s.token_hash == identity.session});
    }
    return entries;
}

void ChatService::revoke_session(const Identity& identity, std::string_view id) {
    auto hash = store_.delete_session_by_id(identity.user_name, id);
    if (!hash) throw Error(ErrorCode::NotFound, "no such session");
    end_sessions({std::move(*hash)}, "signed out: session revoked");
}

std::vector<std::string> ChatService::rooms_of(const std::string& user_name) {
    auto rooms = store_.rooms_of(user_name);
    if (std::find(rooms.begin(), rooms.end(), model::kGeneralRoom) == rooms.end()) {
        rooms.insert(rooms.begin(), std::string(model::kGeneralRoom));
    }
    return rooms;
}

MembersPage ChatService::room_members(const Identity& identity,
                                      std::string_view room,
                                      std::string_view after,
                                      std::int64_t limit) {
    if (limit < 1 || static_cast<std::uint64_t>(limit) > options_.max_members_page) {
        if (limit > 0) metrics_.limit_hit(Limit::MembersPage);
        throw Error(ErrorCode::BadRequest,
                    "limit is 1 to " + std::to_string(options_.max_members_page));
    }
    require_reader(identity, room);
    // One extra name tells whether another page exists.
    auto members = store_.room_members(room, after, static_cast<std::size_t>(limit) + 1);
    const bool has_more = members.size() > static_cast<std::size_t>(limit);
    if (has_more) members.pop_back();
    return MembersPage{std::move(members), has_more};
}

void ChatService::count_capped(const std::vector<model::ReadState>& states) {
    for (const auto& state : states) {
        if (state.unread_capped) metrics_.limit_hit(Limit::UnreadCapped);
    }
}

std::vector<model::ReadState> ChatService::read_states(const std::string& user_name,
                                                       const std::vector<std::string>& rooms) {
    auto states = store_.read_states(user_name, rooms, options_.max_unread_count);
    count_capped(states);
    return states;
}

void ChatService::move_read_mark(store::ReadMark mark, ReadDone done) {
    mark.unread_cap = options_.max_unread_count;
    auto user_name = mark.user_name;
    store_.mark_read(std::move(mark), [this, user_name = std::move(user_name),
                                       done = std::move(done)](store::ReadMarkResult result) {
        using Outcome = store::ReadMarkResult::Outcome;
        switch (result.outcome) {
            case Outcome::Moved:
                metrics_.read_marks_stored.Increment();
                count_capped(result.states);
                // Every connection of the user, this one included and on every node.
                for (const auto& state : result.states) {
                    publish(model::ReadMoved{user_name, state});
                }
                done(std::nullopt, std::move(result.states));
                return;
            case Outcome::Unchanged:
                count_capped(result.states);
                done(std::nullopt, std::move(result.states));
                return;
            case Outcome::BeyondNewest:
                metrics_.read_marks_refused.Increment();
                done(Error(ErrorCode::ReadMarkBeyondNewest,
                           "that id is above the room's newest message"),
                     {});
                return;
            case Outcome::Failed:  // counted by the store
                done(Error(ErrorCode::StoreFailed, result.error), {});
                return;
        }
    });
}

void ChatService::mark_read(const Identity& identity,
                            std::string_view room,
                            model::MessageId up_to,
                            ReadDone done) {
    try {
        require_reader(identity, room);
        if (up_to <= 0) throw Error(ErrorCode::BadRequest, "id is a positive integer");
    } catch (const Error&) {
        metrics_.read_marks_refused.Increment();
        throw;
    }
    move_read_mark(store::ReadMark{identity.user_name, std::string(room), up_to}, std::move(done));
}

void ChatService::mark_all_read(const Identity& identity, ReadDone done) {
    // A room the user has never met yet (general, for a client that never connected) gets its
    // mark first, so that "every room" is every room.
    store_.read_states(identity.user_name, rooms_of(identity.user_name), options_.max_unread_count);
    move_read_mark(store::ReadMark{identity.user_name, {}, 0}, std::move(done));
}

Profile ChatService::me(const Identity& identity) {
    return Profile{identity.user_name, rooms_of(identity.user_name)};
}

PersonCard ChatService::set_display_name(const Identity& identity, std::string_view display_name) {
    auto card = people_.set_display_name(identity.user_name, display_name, clock_());
    publish(model::ProfileChanged{card.user_name, card.display_name});
    return card;
}

std::vector<RoomEntry> ChatService::list_rooms(const Identity& identity) {
    const auto mine = rooms_of(identity.user_name);
    std::vector<RoomEntry> rooms;
    for (auto& room : store_.list_public_rooms()) {
        const bool joined = std::find(mine.begin(), mine.end(), room.name) != mine.end();
        rooms.push_back(RoomEntry{std::move(room.name), joined});
    }
    return rooms;
}

void ChatService::require_room(std::string_view room, bool allow_direct) {
    if (!allow_direct && is_direct_room(room)) {
        throw Error(ErrorCode::Forbidden, "direct conversations are joined with /api/dm");
    }
    if (!is_direct_room(room) && !valid_room_name(room)) throw invalid_room();
    if (!store_.find_room(room)) throw room_not_found();
}

RoomEntry ChatService::create_room(const Identity& identity, std::string_view room) {
    if (!valid_room_name(room)) throw invalid_room();
    if (!store_.create_room(
            store::Room{std::string(room), false, identity.user_name, model::now_ms()})) {
        throw Error(ErrorCode::RoomExists, "a room with that name exists");
    }
    store_.add_member(room, identity.user_name);
    publish(model::Membership{std::string(room), identity.user_name, true});
    return RoomEntry{std::string(room), true};
}

RoomEntry ChatService::join_room(const Identity& identity, std::string_view room) {
    require_room(room, false);
    if (room != model::kGeneralRoom) {
        store_.add_member(room, identity.user_name);
        publish(model::Membership{std::string(room), identity.user_name, true});
    }
    return RoomEntry{std::string(room), true};
}

RoomEntry ChatService::leave_room(const Identity& identity, std::string_view room) {
    if (room == model::kGeneralRoom) {
        throw Error(ErrorCode::CannotLeaveGeneral, "everyone stays in general");
    }
    require_room(room, true);
    if (store_.is_member(room, identity.user_name)) {
        store_.remove_member(room, identity.user_name);
        publish(model::Membership{std::string(room), identity.user_name, false});
    }
    return RoomEntry{std::string(room), false};
}

std::string ChatService::open_direct(const Identity& identity, std::string_view other_user) {
    if (!valid_user_name(other_user)) throw invalid_name();
    if (other_user == identity.user_name) {
        throw Error(ErrorCode::BadRequest, "a direct conversation needs another user");
    }
    if (!options_.open_auth && !store_.find_user(other_user)) {
        throw Error(ErrorCode::UserNotFound, "no such user");
    }
    auto people = std::vector<std::string>{identity.user_name, std::string(other_user)};
    std::sort(people.begin(), people.end());
    return open_conversation(identity.user_name, people);
}

std::string ChatService::open_group_direct(const Identity& identity,
                                           const std::vector<std::string>& users) {
    std::vector<std::string> people{identity.user_name};
    for (const auto& user : users) {
        if (!valid_user_name(user)) throw invalid_name();
        people.push_back(user);
    }
    std::sort(people.begin(), people.end());
    people.erase(std::unique(people.begin(), people.end()), people.end());
    if (people.size() < 2) {
        throw Error(ErrorCode::BadRequest, "a direct conversation needs another user");
    }
    if (people.size() > options_.max_group_dm_members) {
        // Counted where it is answered (net: chat_limit_hits_total{kind="group_dm_members"}).
        throw Error(ErrorCode::GroupDmTooLarge, "a direct conversation holds at most " +
                                                    std::to_string(options_.max_group_dm_members) +
                                                    " people, you included");
    }
    if (!options_.open_auth) {
        for (const auto& user : people) {
            if (user != identity.user_name && !store_.find_user(user)) {
                throw Error(ErrorCode::UserNotFound, "no such user: " + user);
            }
        }
    }
    return open_conversation(identity.user_name, people);
}

std::string ChatService::open_conversation(const std::string& opener,
                                           const std::vector<std::string>& people) {
    const auto room = direct_room_name(people);
    if (!store_.find_room(room)) {
        store_.create_room(store::Room{room, true, opener, model::now_ms()});
    }
    for (const auto& user : people) {
        if (!store_.is_member(room, user)) {
            store_.add_member(room, user);
            publish(model::Membership{room, user, true});
        }
    }
    return room;
}

void ChatService::require_reader(const Identity& identity, std::string_view room) {
    require_room(room, true);
    if (room != model::kGeneralRoom && !store_.is_member(room, identity.user_name)) {
        throw Error(ErrorCode::NotMember, "join the room to read it");
    }
}

HistoryPage ChatService::page(
    const Identity& identity,
    std::string_view room,
    std::optional<std::int64_t> before,
    std::optional<std::int64_t> after,
    int limit,
    const std::function<store::HistoryPage(const store::HistoryQuery&)>& read) {
    if (before && after) throw Error(ErrorCode::BadRequest, "give before or after, not both");
    if (limit < 1 || limit > 500) throw Error(ErrorCode::BadRequest, "limit is 1 to 500");
    require_reader(identity, room);
    // One extra row tells whether another page exists.
    auto page = read(store::HistoryQuery{std::string(room), before, after, limit + 1});
    auto& messages = page.messages;
    const bool has_more = messages.size() > static_cast<std::size_t>(limit);
    if (has_more) {
        // Pages run towards older messages unless `after` was given.
        if (after) {
            messages.pop_back();
        } else {
            messages.erase(messages.begin());
        }
    }
    return HistoryPage{std::move(messages), has_more, page.as_of};
}

HistoryPage ChatService::history(const Identity& identity,
                                 std::string_view room,
                                 std::optional<std::int64_t> before,
                                 std::optional<std::int64_t> after,
                                 int limit) {
    return page(identity, room, before, after, limit,
                [this](const store::HistoryQuery& query) { return store_.page(query); });
}

FoundMessage ChatService::find_message(const Identity& identity,
                                       std::string_view room,
                                       model::MessageId id) {
    require_reader(identity, room);
    auto found = id > 0 ? store_.find_message(room, id) : std::nullopt;
    if (!found || found->messages.empty()) throw message_not_found();
    return FoundMessage{std::move(found->messages.front()), found->as_of};
}

HistoryPage ChatService::replies(const Identity& identity,
                                 std::string_view room,
                                 model::MessageId root,
                                 std::optional<std::int64_t> before,
                                 std::optional<std::int64_t> after,
                                 int limit) {
    return page(identity, room, before, after, limit, [&](const store::HistoryQuery& query) {
        // Membership is checked by now: a stranger learns nothing of which ids exist.
        if (root <= 0 || !store_.find_message(room, root)) throw message_not_found();
        return store_.thread(query, root);
    });
}

ConnectionId ChatService::connect(const Identity& identity,
                                  Protocol protocol,
                                  std::shared_ptr<Sink> sink,
                                  const std::vector<std::string>& rooms) {
    const auto attached =
        hub_.attach(identity.user_name, protocol, std::move(sink), rooms, identity.session);
    metrics_.ws_connections.Increment();
    metrics_.ws_connections_accepted.Increment();
    if (attached.user_came_online) {
        metrics_.users_online.Increment();
        bus_.user_online(identity.user_name);
        publish(model::Presence{identity.user_name, true});
    } else if (attached.user_came_back) {
        publish_away(identity.user_name, false);
    }
    return attached.id;
}

Identity ChatService::seed_identity(std::string_view user_name,
                                    const std::optional<Identity>& signed_in,
                                    SeedUse use) const {
    // POST /send's body reader has refused an invalid name already, with its own message.
    if (!valid_user_name(user_name)) throw Error(ErrorCode::InvalidName, "invalid user name");
    if (options_.open_auth) return Identity{std::string(user_name), {}};
    if (!signed_in) {
        throw Error(ErrorCode::Unauthorized, "sign in first: a valid bearer token is required");
    }
    if (signed_in->user_name != user_name) {
        throw Error(ErrorCode::Forbidden, use == SeedUse::Send
                                              ? "user_name is not the signed-in user"
                                              : "not your stream");
    }
    return *signed_in;
}

Frame ChatService::welcome(const std::string& user_name,
                           const std::vector<std::string>& rooms,
                           const std::vector<model::ReadState>& read,
                           const std::vector<model::RoomNotifyLevel>& notify) const {
    auto online = online_users(Hub::kDefaultPresenceLimit);
    const auto at = std::lower_bound(online.begin(), online.end(), user_name);
    if (at == online.end() || *at != user_name) online.insert(at, user_name);
    auto away = away_users();
    std::erase_if(away, [&](const std::string& name) {
        return name == user_name || !std::binary_search(online.begin(), online.end(), name);
    });
    return make_frame(encode_welcome(user_name, rooms, online, read, away, notify));
}

void ChatService::when_subscribed(const std::string& user_name, std::function<void()> done) {
    bus_.when_subscribed(user_name, std::move(done));
}

void ChatService::disconnect(ConnectionId id, const std::string& user_name) {
    metrics_.ws_connections.Decrement();
    frame_guard_.forget(id);
    const auto detached = hub_.detach(id);
    if (detached.user_went_away) publish_away(user_name, true);
    if (detached.away_user_left) metrics_.users_away.Decrement();
    if (detached.user_went_offline) {
        metrics_.users_online.Decrement();
        bus_.user_offline(user_name);
        publish(model::Presence{user_name, false});
        if (options_.on_last_disconnect) options_.on_last_disconnect(user_name);
    }
}

void ChatService::refuse(const std::shared_ptr<Sink>& sink,
                         Limit limit,
                         std::string_view code,
                         std::string_view message,
                         std::string_view client_msg_id) {
    metrics_.limit_hit(limit);
    sink->deliver(make_frame(encode_error(code, message, client_msg_id)));
}

void ChatService::handle_frame(ConnectionId id,
                               const std::string& user_name,
                               const std::shared_ptr<Sink>& sink,
                               std::string_view text) {
    // Before decoding: every frame counts, whatever it holds, and a refused one costs no parse.
    switch (frame_guard_.check(id, user_name)) {
        case FrameGuard::Verdict::Accept:
            break;
        case FrameGuard::Verdict::RefuseAndTell:
            refuse(sink, Limit::FrameRate, "rate_limited", "too many frames: slow down");
            return;
        case FrameGuard::Verdict::Refuse:
            metrics_.limit_hit(Limit::FrameRate);
            return;
        case FrameGuard::Verdict::Close:
            metrics_.limit_hit(Limit::FrameRate);
            metrics_.limit_hit(Limit::FrameFlood);
            sink->close(CloseCode::Policy, "too many frames");
            return;
    }
    auto decoded = decode_client_frame(text);
    if (auto* error = std::get_if<DecodeError>(&decoded)) {
        const Limit limit = error->code == "invalid_json"   ? Limit::InvalidJson
                            : error->code == "unknown_type" ? Limit::UnknownType
                                                            : Limit::BadRequest;
        refuse(sink, limit, error->code, error->message, error->client_msg_id);
        return;
    }
    auto& command = std::get<ClientCommand>(decoded);
    if (auto* send_command = std::get_if<SendCommand>(&command)) {
        send(id, user_name, sink, std::move(*send_command));
    } else if (auto* change_command = std::get_if<ChangeCommand>(&command)) {
        change(id, user_name, sink, std::move(*change_command));
    } else if (auto* typing = std::get_if<TypingCommand>(&command)) {
        if (!hub_.is_subscribed(id, typing->room)) {
            refuse(sink, Limit::Forbidden, "not_member", "join the room first");
            return;
        }
        // Ephemeral: one notice per user per room per interval, and a stop only to end a notice
        // that went out; the others are dropped (counted).
        const bool admitted = typing->stopped ? typing_.close(user_name, typing->room)
                                              : typing_.admit(user_name, typing->room);
        if (!admitted) {
            metrics_.limit_hit(Limit::TypingCoalesced);
            return;
        }
        publish(model::Typing{std::move(typing->room), user_name, typing->stopped});
    } else if (auto* read = std::get_if<ReadCommand>(&command)) {
        read_frame(id, user_name, sink, std::move(read->room), read->up_to,
                   std::move(read->client_msg_id));
    } else if (auto* read_all = std::get_if<ReadAllCommand>(&command)) {
        read_frame(id, user_name, sink, {}, 0, std::move(read_all->client_msg_id));
    } else if (const auto* status = std::get_if<StatusCommand>(&command)) {
        set_away(id, user_name, status->away);
    } else {
        sink->deliver(make_frame(encode_pong()));
    }
}

std::optional<ChatService::ContentRefusal> ChatService::check_content(const std::string& user_name,
                                                                      std::string_view content) {
    if (content.empty()) {
        return ContentRefusal{ErrorCode::BadRequest, "a message needs content", Limit::BadRequest};
    }
    if (utf8_length(content) > options_.max_message_length) {
        return ContentRefusal{
            ErrorCode::MessageTooLong,
            "a message has at most " + std::to_string(options_.max_message_length) + " characters",
            Limit::MessageLength};
    }
    return check_rate(user_name);
}

std::optional<ChatService::ContentRefusal> ChatService::check_rate(const std::string& user_name) {
    if (!rate_limiter_.try_acquire(user_name)) {
        return ContentRefusal{ErrorCode::SendRateLimited, "too many messages: slow down",
                              Limit::Rate};
    }
    return std::nullopt;
}

void ChatService::send(ConnectionId id,
                       const std::string& user_name,
                       const std::shared_ptr<Sink>& sink,
                       SendCommand command) {
    if (!hub_.is_subscribed(id, command.room)) {
        refuse(sink, Limit::Forbidden, "not_member", "join the room before writing to it",
               command.client_msg_id);
        return;
    }
    if (blank_content(command.content)) {
        refuse(sink, Limit::EmptyMessage, "empty_message", "a message needs visible content",
               command.client_msg_id);
        return;
    }
    if (auto error = check_content(user_name, command.content)) {
        refuse(sink, error->limit, code_name(error->code), error->message, command.client_msg_id);
        return;
    }
    // The web client announces typing again right after a message: that notice is news.
    typing_.reset(user_name, command.room);
    const auto ts = clock_();
    store::NewMessage message{std::move(command.room),
                              user_name,
                              std::move(command.content),
                              format_sent_at(ts),
                              ts,
                              std::move(command.client_msg_id),
                              model::MessageKind::Text,
                              std::string(publisher_.outbox_origin())};
    message.reply_to = command.reply_to;
    auto mentions = find_mentions(message.content);
    message.mention_names = std::move(mentions.names);
    message.mentions_room = mentions.room;
    message.max_room_mention_members = options_.max_room_mention_members;
    append_and_ack(sink, std::move(message));
}

void ChatService::change(ConnectionId id,
                         const std::string& user_name,
                         const std::shared_ptr<Sink>& sink,
                         ChangeCommand command) {
    if (!hub_.is_subscribed(id, command.room)) {
        refuse(sink, Limit::Forbidden, "not_member", "join the room before changing its messages",
               command.client_msg_id);
        return;
    }
    std::optional<ContentRefusal> refusal;
    switch (command.kind) {
        case model::MessageKind::Edit:
            refusal = blank_content(command.content)
                          ? ContentRefusal{ErrorCode::EmptyMessage,
                                           "an edit needs visible content (delete the message "
                                           "instead)",
                                           Limit::EmptyMessage}
                          : check_content(user_name, command.content);
            break;
        case model::MessageKind::React:
        case model::MessageKind::Unreact:
            refusal = valid_reaction(command.content)
                          ? check_rate(user_name)
                          : ContentRefusal{ErrorCode::InvalidReaction,
                                           "a reaction is one emoji of at most " +
                                               std::to_string(kMaxReactionBytes) + " bytes",
                                           Limit::InvalidReaction};
            break;
        default:  // Delete (the decoder makes nothing else a ChangeCommand)
            command.content.clear();
            refusal = check_rate(user_name);
            break;
    }
    if (refusal) {
        refuse(sink, refusal->limit, code_name(refusal->code), refusal->message,
               command.client_msg_id);
        return;
    }
    const auto ts = clock_();
    store::NewMessage message{std::move(command.room),
                              user_name,
                              std::move(command.content),
                              format_sent_at(ts),
                              ts,
                              std::move(command.client_msg_id),
                              command.kind,
                              std::string(publisher_.outbox_origin())};
    message.target_id = command.target_id;
    append_and_ack(sink, std::move(message));
}

void ChatService::append_and_ack(const std::shared_ptr<Sink>& sink, store::NewMessage message) {
    // The rules of the room's log the store checks in the commit, from this service's options.
    message.edit_window_ms = options_.edit_window.count();
    message.max_reactions = options_.max_reactions_per_message;
    metrics_.messages_received.Increment();
    std::string client_msg_id = message.client_msg_id;
    std::string room = message.room;
    store_.append(std::move(message), [this, sink, client_msg_id = std::move(client_msg_id),
                                       room = std::move(room)](store::AppendResult result) {
        if (!result.ok && result.refusal != store::Refusal::None) {
            const auto refused = rule_refusal(result.refusal, options_.edit_window);
            refuse(sink, refused.limit, code_name(refused.code), refused.message, client_msg_id);
            return;
        }
        if (!result.ok) {
            metrics_.store_errors.Increment();
            sink->deliver(make_frame(encode_error("store_failed", result.error, client_msg_id)));
            return;
        }
        // The key names the user's message in another room: acking it would tell the client that
        // this message, which was not stored, was (docs/protocol.md, "Idempotency").
        if (result.duplicate && result.message.room != room) {
            refuse(sink, Limit::ClientMsgIdReused, "client_msg_id_reused",
                   "this client_msg_id names your message in another room: use a new one",
                   client_msg_id);
            return;
        }
        sink->deliver(make_frame(encode_ack(result.message, result.duplicate)));
        if (result.duplicate) {
            metrics_.messages_duplicate.Increment();
        } else {
            publisher_.publish(std::move(result.message));
        }
    });
}

void ChatService::read_frame(ConnectionId id,
                             const std::string& user_name,
                             const std::shared_ptr<Sink>& sink,
                             std::string room,
                             model::MessageId up_to,
                             std::string client_msg_id) {
    // The connection's rooms are its user's (general included): one not among them is either
    // not joined or does not exist.
    if (!room.empty() && !hub_.is_subscribed(id, room)) {
        metrics_.read_marks_refused.Increment();
        refuse(sink, Limit::Forbidden, "not_member", "join the room before marking it read",
               client_msg_id);
        return;
    }
    move_read_mark(store::ReadMark{user_name, std::move(room), up_to},
                   [this, sink, client_msg_id](std::optional<Error> error,
                                               std::vector<model::ReadState> states) {
                       if (error) {
                           const auto limit = error->code == ErrorCode::ReadMarkBeyondNewest
                                                  ? Limit::ReadMarkBeyondNewest
                                                  : Limit::BadRequest;
                           refuse(sink, limit, code_name(error->code), error->what(),
                                  client_msg_id);
                           return;
                       }
                       sink->deliver(make_frame(encode_read_ack(client_msg_id, states)));
                   });
}

void ChatService::post_seed(const std::string& user_name,
                            std::string content,
                            std::optional<std::string> sent_at,
                            std::function<void(std::optional<Error>)> done) {
    if (auto error = check_content(user_name, content)) {
        done(Error(error->code, error->message));
        return;
    }
    const auto ts = model::now_ms();
    const auto kind = kind_of_content(content);
    store::NewMessage message{std::string(model::kGeneralRoom),
                              user_name,
                              std::move(content),
                              sent_at ? std::move(*sent_at) : format_sent_at(ts),
                              ts,
                              {},
                              kind,
                              std::string(publisher_.outbox_origin())};
    // The brief's POST /send answers as it always did: names are mentioned, `@room` is text.
    if (kind == model::MessageKind::Text) {
        message.mention_names = find_mentions(message.content).names;
    }
    metrics_.messages_received.Increment();
    store_.append(std::move(message), [this, done = std::move(done)](store::AppendResult result) {
        if (!result.ok) {
            metrics_.store_errors.Increment();
            done(Error(ErrorCode::StoreFailed, result.error));
            return;
        }
        publisher_.publish(std::move(result.message));
        done(std::nullopt);
    });
}

void ChatService::end_sessions(std::vector<std::string> sessions, std::string reason) {
    if (sessions.empty()) return;
    // Through the bus: the connections may be on any node (this one included).
    publish(model::SessionsEnded{std::move(sessions), std::move(reason)});
}

void ChatService::publish(model::Event event) {
    bus_.publish(std::make_shared<const model::Event>(std::move(event)));
}

}  // namespace chatd::chat
