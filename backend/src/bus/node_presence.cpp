#include "bus/node_presence.hpp"

#include "bus/user_queues.hpp"
#include "bus/wire.hpp"

namespace chatd::bus {

NodePresence::NodePresence(std::string node_id,
                           std::chrono::milliseconds interval,
                           int misses,
                           const LocalUsers& local)
    : node_id_(std::move(node_id)),
      interval_(interval),
      local_(local),
      directory_(interval * misses) {}

std::vector<std::string> NodePresence::remote_users() const {
    std::lock_guard lock(mutex_);
    return directory_.users();
}

bool NodePresence::online_elsewhere(const std::string& user_name) const {
    std::lock_guard lock(mutex_);
    return directory_.online(user_name);
}

model::Availability NodePresence::remote_availability(const std::string& user_name) const {
    std::lock_guard lock(mutex_);
    if (!directory_.online(user_name)) return model::Availability::Offline;
    return directory_.away(user_name) ? model::Availability::Away : model::Availability::Online;
}

std::vector<std::string> NodePresence::remote_away_users() const {
    std::lock_guard lock(mutex_);
    return directory_.away_users();
}

void NodePresence::set_local_away(const std::string& user_name, bool away) {
    std::lock_guard lock(mutex_);
    if (away) {
        local_away_.insert(user_name);
    } else {
        local_away_.erase(user_name);
    }
}

void NodePresence::heartbeat_from(const std::string& node,
                                  std::vector<std::string> users,
                                  Clock::time_point now,
                                  const std::vector<std::string>& away) {
    std::lock_guard lock(mutex_);
    directory_.heartbeat(node, std::move(users), now, away);
}

void NodePresence::apply(const std::string& node,
                         const model::Presence& presence,
                         Clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (presence.online) {
        directory_.user_online(node, presence.user_name, now, presence.away);
    } else {
        directory_.user_offline(node, presence.user_name, now);
    }
}

void NodePresence::restart(Clock::time_point now) {
    next_heartbeat_ = now;
}

std::optional<std::string> NodePresence::heartbeat_due(Clock::time_point now) {
    if (now < next_heartbeat_) return std::nullopt;
    next_heartbeat_ = now + interval_;
    auto users = local_.list();
    std::vector<std::string> away;
    {
        std::lock_guard lock(mutex_);
        for (const auto& user : users) {
            if (local_away_.contains(user)) away.push_back(user);
        }
    }
    return encode_heartbeat(node_id_, users, away);
}

std::vector<std::string> NodePresence::expire(Clock::time_point now) {
    std::vector<std::string> gone;
    {
        std::lock_guard lock(mutex_);
        gone = directory_.expire(now);
    }
    std::erase_if(gone, [&](const std::string& name) { return local_.contains(name); });
    return gone;
}

}  // namespace chatd::bus
