#include "chat/hub.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>

#include "chat/codec.hpp"
#include "metrics/metrics.hpp"
#include "model/clock.hpp"

namespace chatd::chat {
Hub::Attached Hub::attach(const std::string& user_name,
                          Protocol protocol,
                          std::shared_ptr<Sink> sink,
                          const std::vector<std::string>& rooms,
                          std::string session) {
    std::unique_lock lock(mutex_);
    const ConnectionId id = next_id_++;
    Connection& connection = connections_[id];
    connection.user_name = user_name;
    connection.protocol = protocol;
    connection.sink = std::move(sink);
    connection.session = std::move(session);
    connection.rooms.emplace(model::kGeneralRoom);
    if (protocol == Protocol::Native) connection.rooms.insert(rooms.begin(), rooms.end());
    for (const auto& room : connection.rooms) subscribe_locked(room, id, connection);
    auto [user, added] = users_.try_emplace(user_name);
    if (added) users_in_order_.insert(user->first);
    const bool was_away = away_.erase(user_name) > 0;
    user->second.push_back(id);
    return Attached{id, user->second.size() == 1, was_away};
}

Hub::Detached Hub::detach(ConnectionId id) {
    std::unique_lock lock(mutex_);
    auto it = connections_.find(id);
    if (it == connections_.end()) return {};
    for (const auto& room : it->second.rooms) unsubscribe_locked(room, id);
    const bool was_active = !it->second.away;
    auto user = users_.find(it->second.user_name);
    connections_.erase(it);
    if (user == users_.end()) return {};
    std::erase(user->second, id);
    if (!user->second.empty()) {
        const bool went_away = was_active && all_away_locked(user->second);
        if (went_away) away_.insert(user->first);
        return Detached{false, went_away};
    }
    const bool was_away = away_.erase(user->first) > 0;
    users_in_order_.erase(user->first);
    users_.erase(user);
    return Detached{true, false, was_away};
}

bool Hub::all_away_locked(const std::vector<ConnectionId>& ids) const {
    return !ids.empty() && std::all_of(ids.begin(), ids.end(),
                                       [&](ConnectionId id) { return connections_.at(id).away; });
}

bool Hub::set_away(ConnectionId id, bool away) {
    std::unique_lock lock(mutex_);
    auto it = connections_.find(id);
    if (it == connections_.end() || it->second.away == away) return false;
    const auto& name = it->second.user_name;
    const bool was_away = away_.contains(name);
    it->second.away = away;
    const bool now_away = all_away_locked(users_.at(name));
    if (now_away == was_away) return false;
    if (now_away) {
        away_.insert(name);
    } else {
        away_.erase(name);
    }
    return true;
}

model::Availability Hub::availability(const std::string& user_name) const {
    std::shared_lock lock(mutex_);
    if (!users_.contains(user_name)) return model::Availability::Offline;
    return away_.contains(user_name) ? model::Availability::Away : model::Availability::Online;
}

std::vector<std::string> Hub::away_users() const {
    std::shared_lock lock(mutex_);
    return {away_.begin(), away_.end()};
}

void Hub::subscribe_locked(const std::string& room, ConnectionId id, const Connection& connection) {
    Room& r = rooms_[room];
    if (r.position.contains(id)) return;
    r.position.emplace(id, r.members.size());
    r.members.push_back(Subscriber{id, connection.protocol, connection.sink, connection.user_name,
                                   connection.sink->shard()});
    r.snapshot.reset();
}

void Hub::unsubscribe_locked(const std::string& room, ConnectionId id) {
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return;
    Room& r = it->second;
    auto pos = r.position.find(id);
    if (pos == r.position.end()) return;
    const std::size_t index = pos->second;
    r.position.erase(pos);
    if (index + 1 != r.members.size()) {
        r.members[index] = std::move(r.members.back());
        r.position[r.members[index].id] = index;
    }
    r.members.pop_back();
    r.snapshot.reset();
    if (r.members.empty()) rooms_.erase(it);
}

Hub::SubscriberListPtr Hub::subscribers(const std::string& room) const {
    {
        std::shared_lock lock(mutex_);
        auto it = rooms_.find(room);
        if (it == rooms_.end()) return nullptr;
        if (it->second.snapshot) return it->second.snapshot;
    }
    std::unique_lock lock(mutex_);
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return nullptr;
    auto& snapshot = it->second.snapshot;
    if (!snapshot) snapshot = make_snapshot(it->second.members);
    return snapshot;
}

Hub::SubscriberListPtr Hub::make_snapshot(const std::vector<Subscriber>& members) const {
    auto list = std::make_shared<SubscriberList>();
    list->runner = shard_runner_;
    const std::size_t shards =
        shard_runner_ ? std::max<std::size_t>(1, shard_runner_->shard_count()) : 1;
    const auto shard_of = [&](const Subscriber& s) { return std::min(s.shard, shards - 1); };
    // Counting sort by shard.
    list->shard_end.assign(shards, 0);
    for (const auto& s : members) ++list->shard_end[shard_of(s)];
    std::vector<std::size_t> next(shards, 0);
    for (std::size_t shard = 1; shard < shards; ++shard) {
        next[shard] = next[shard - 1] + list->shard_end[shard - 1];
    }
    for (std::size_t shard = 0; shard < shards; ++shard) {
        list->shard_end[shard] += next[shard];
    }
    list->members.resize(members.size());
    for (const auto& s : members) {
        list->members[next[shard_of(s)]++] = s;
        ++(s.protocol == Protocol::Native ? list->native_count : list->seed_count);
    }
    return list;
}

void Hub::set_shard_runner(std::shared_ptr<ShardRunner> runner) {
    std::unique_lock lock(mutex_);
    shard_runner_ = std::move(runner);
    for (auto& [name, room] : rooms_) room.snapshot.reset();
}

void Hub::deliver(const model::Event& event, const std::string& only_user) {
    std::visit(model::Overloaded{
                   [&](const model::Message& m) { deliver_message(m, only_user); },
                   [this](const model::Typing& t) { deliver_typing(t); },
                   [this](const model::Presence& p) { deliver_presence(p); },
                   [this](const model::Membership& m) { deliver_membership(m); },
                   [this](const model::SessionsEnded& ended) {
                       for (const auto& session : ended.sessions) {
                           close_session(session, CloseCode::Policy, ended.reason);
                       }
                   },
                   [this](const model::ReadMoved& read) { deliver_read(read); },
                   [this](const model::ProfileChanged& p) { deliver_profile(p); },
                   [this](const model::NotifyChanged& changed) {
                       deliver_to_user(changed.user_name,
                                       [&changed] { return encode_notify_level(changed.setting); });
                   },
               },
               event);
}

void Hub::deliver_by_shard(const model::Message& message,
                           const SubscriberListPtr& list,
                           ShardRunner& runner) {
    const Frame native = list->native_count > 0 ? make_frame(encode_message(message)) : nullptr;
    const Frame seed = list->seed_count > 0 && seed_sees(message)
                           ? make_frame(encode_seed_message(message))
                           : nullptr;
    std::size_t begin = 0;
    for (std::size_t shard = 0; shard < list->shard_end.size(); ++shard) {
        const std::size_t end = list->shard_end[shard];
        if (begin == end) continue;
        // The work holds the snapshot: its members stay alive until their shard is done.
        // The runner outlives the work it runs.
        runner.run_on(shard, [list, runner = &runner, shard, begin, end, native, seed] {
            // Under load, the next messages' work is already queued: the connections then write
            // once after it (one send for several messages) instead of once per message.
            const bool write_now = !runner->has_queued_work(shard);
            for (std::size_t i = begin; i < end; ++i) {
                const Subscriber& s = list->members[i];
                const Frame& frame = s.protocol == Protocol::Native ? native : seed;
                if (frame) s.sink->deliver_on_shard(frame, write_now);
            }
        });
        begin = end;
    }
}

void Hub::deliver_message(const model::Message& message, const std::string& only_user) {
    const auto list = subscribers(message.room);
    // Every room message not addressed to one user goes by shard, leaves included: a leave
    // written directly would reach a connection before the messages still queued for it on its
    // shard (a later id before an earlier one).
    const auto runner = list ? list->runner.lock() : nullptr;
    const bool by_shard = runner && only_user.empty();
    std::size_t delivered = 0;
    if (by_shard) {
        deliver_by_shard(message, list, *runner);
        // The brief's /receive streams are not sent what they do not see (room changes).
        delivered = list->native_count + (seed_sees(message) ? list->seed_count : 0);
    } else if (list) {
        Frame native;
        Frame seed;
        for (const auto& subscriber : list->members) {
            if (!only_user.empty() && subscriber.user_name != only_user) continue;
            if (subscriber.protocol == Protocol::Seed && !seed_sees(message)) continue;
            ++delivered;
            Frame& frame = subscriber.protocol == Protocol::Native ? native : seed;
            if (!frame) {
                frame = make_frame(subscriber.protocol == Protocol::Native
                                       ? encode_message(message)
                                       : encode_seed_message(message));
            }
            subscriber.sink->deliver(frame);
        }
    }
    if (list) {
        // By shard, the time until the deliveries were handed to the shards.
        metrics_.messages_delivered.Increment(static_cast<double>(delivered));
        metrics_.delivery_seconds.Observe(
            static_cast<double>(std::max<std::int64_t>(0, model::now_ms() - message.ts_ms)) /
            1000.0);
    }
    // The brief: a DISCONNECTION_MESSAGE ends the sender's /receive streams, after their own
    // notice: by shard, the close runs on the stream's shard behind the delivery queued there,
    // and close_after_queued() sends what is queued before the close frame. A copy delivered
    // for another user (a per-user queue) does not close them: the sender's own copy does.
    if (message.kind == model::MessageKind::Leave &&
        (only_user.empty() || only_user == message.user_name)) {
        for (const auto& sink : sinks_where([&](const Connection& c) {
                 return c.protocol == Protocol::Seed && c.user_name == message.user_name;
             })) {
            if (by_shard) {
                const auto shard = std::min(sink->shard(), runner->shard_count() - 1);
                runner->run_on(
                    shard, [sink] { sink->close_after_queued(CloseCode::Normal, "disconnected"); });
            } else {
                sink->close_after_queued(CloseCode::Normal, "disconnected");
            }
        }
    }
}

void Hub::deliver_typing(const model::Typing& typing) {
    const auto list = subscribers(typing.room);
    if (!list) return;
    Frame frame;
    for (const auto& subscriber : list->members) {
        if (subscriber.protocol != Protocol::Native || subscriber.user_name == typing.user_name) {
            continue;
        }
        if (subscriber.sink->queued_bytes() > ephemeral_queue_limit_) {
            metrics_.limit_hit(metrics::Limit::EphemeralDropped);
            continue;
        }
        if (!frame) frame = make_frame(encode_typing(typing));
        subscriber.sink->deliver(frame);
    }
}

void Hub::deliver_presence(const model::Presence& presence) {
    deliver_presence(std::vector<model::Presence>{presence});
}

void Hub::deliver_presence(const std::vector<model::Presence>& batch) {
    if (batch.empty() || connection_count() > presence_limit_) return;
    std::vector<Frame> frames;
    frames.reserve(batch.size());
    for (const auto& presence : batch) frames.push_back(make_frame(encode_presence(presence)));
    for (const auto& sink :
         sinks_where([](const Connection& c) { return c.protocol == Protocol::Native; })) {
        if (sink->queued_bytes() > ephemeral_queue_limit_) {
            metrics_.limit_hit(metrics::Limit::EphemeralDropped);
            continue;
        }
        for (const auto& frame : frames) sink->deliver(frame);
    }
}

void Hub::deliver_membership(const model::Membership& membership) {
    const auto frame = make_frame(encode_membership(membership));
    if (!membership.joined) {
        // Tell the room, the leaver included, before the leaver stops receiving it.
        if (const auto list = subscribers(membership.room)) {
            for (const auto& s : list->members) {
                if (s.protocol == Protocol::Native) s.sink->deliver(frame);
            }
        }
    }
    {
        std::unique_lock lock(mutex_);
        auto user = users_.find(membership.user_name);
        if (user != users_.end()) {
            for (const ConnectionId id : user->second) {
                Connection& connection = connections_.at(id);
                if (connection.protocol != Protocol::Native) continue;
                if (membership.joined && connection.rooms.insert(membership.room).second) {
                    subscribe_locked(membership.room, id, connection);
                } else if (!membership.joined && connection.rooms.erase(membership.room) > 0) {
                    unsubscribe_locked(membership.room, id);
                }
            }
        }
    }
    if (membership.joined) {
        if (const auto list = subscribers(membership.room)) {
            for (const auto& s : list->members) {
                if (s.protocol == Protocol::Native) s.sink->deliver(frame);
            }
        }
    }
}

void Hub::deliver_read(const model::ReadMoved& read) {
    deliver_to_user(read.user_name, [&read] { return encode_read_state(read.state); });
}

void Hub::deliver_to_user(const std::string& user_name,
                          const std::function<std::string()>& encode) {
    std::vector<std::shared_ptr<Sink>> sinks;
    {
        std::shared_lock lock(mutex_);
        const auto user = users_.find(user_name);
        if (user == users_.end()) return;
        for (const ConnectionId id : user->second) {
            const Connection& connection = connections_.at(id);
            if (connection.protocol == Protocol::Native) sinks.push_back(connection.sink);
        }
    }
    if (sinks.empty()) return;
    const auto frame = make_frame(encode());
    for (const auto& sink : sinks) sink->deliver(frame);
}

void Hub::deliver_profile(const model::ProfileChanged& profile) {
    const auto sinks =
        sinks_where([](const Connection& c) { return c.protocol == Protocol::Native; });
    if (sinks.empty()) return;
    const auto frame = make_frame(encode_profile(profile));
    for (const auto& sink : sinks) {
        if (sink->queued_bytes() > ephemeral_queue_limit_) {
            metrics_.limit_hit(metrics::Limit::EphemeralDropped);
            continue;
        }
        sink->deliver(frame);
    }
}

std::vector<std::shared_ptr<Sink>> Hub::sinks_where(auto predicate) const {
    std::vector<std::shared_ptr<Sink>> out;
    std::shared_lock lock(mutex_);
    for (const auto& [id, connection] : connections_) {
        if (predicate(connection)) out.push_back(connection.sink);
    }
    return out;
}

bool Hub::is_subscribed(ConnectionId id, const std::string& room) const {
    std::shared_lock lock(mutex_);
    auto it = connections_.find(id);
    return it != connections_.end() && it->second.rooms.contains(room);
}

std::vector<std::string> Hub::online_users(std::size_t limit) const {
    std::vector<std::string> out;
    std::shared_lock lock(mutex_);
    out.reserve(std::min(limit, users_in_order_.size()));
    for (const auto name : users_in_order_) {
        if (out.size() >= limit) break;
        out.emplace_back(name);
    }
    return out;
}

bool Hub::is_online(const std::string& user_name) const {
    std::shared_lock lock(mutex_);
    return users_.contains(user_name);
}

bool Hub::has_other_session(const std::string& user_name, const std::string& session) const {
    std::shared_lock lock(mutex_);
    auto user = users_.find(user_name);
    if (user == users_.end()) return false;
    return std::any_of(user->second.begin(), user->second.end(), [&](ConnectionId id) {
        const auto& c = connections_.at(id);
        return c.protocol == Protocol::Native && c.session != session;
    });
}

std::size_t Hub::connection_count() const {
    std::shared_lock lock(mutex_);
    return connections_.size();
}

void Hub::close_session(const std::string& session, CloseCode code, std::string_view reason) {
    for (const auto& sink :
         sinks_where([&](const Connection& c) { return c.session == session; })) {
        sink->close(code, reason);
    }
}

void Hub::close_native(CloseCode code, std::string_view reason) {
    for (const auto& sink :
         sinks_where([](const Connection& c) { return c.protocol == Protocol::Native; })) {
        sink->close(code, reason);
    }
}

void Hub::close_all(CloseCode code, std::string_view reason) {
    for (const auto& sink : sinks_where([](const Connection&) { return true; })) {
        sink->close(code, reason);
    }
}

}  // namespace chatd::chat
