#include "bus/presence_directory.hpp"

#include <algorithm>

namespace chatd::bus {

void PresenceDirectory::heartbeat(const std::string& node,
                                  std::vector<std::string> users,
                                  Clock::time_point now,
                                  const std::vector<std::string>& away) {
    auto& n = nodes_[node];
    n.users = std::set<std::string>(std::make_move_iterator(users.begin()),
                                    std::make_move_iterator(users.end()));
    n.away.clear();
    for (const auto& user : away) {
        if (n.users.contains(user)) n.away.insert(user);
    }
    n.last_seen = now;
}

void PresenceDirectory::user_online(const std::string& node,
                                    const std::string& user,
                                    Clock::time_point now,
                                    bool away) {
    auto& n = nodes_[node];
    n.users.insert(user);
    if (away) {
        n.away.insert(user);
    } else {
        n.away.erase(user);
    }
    n.last_seen = now;
}

void PresenceDirectory::user_offline(const std::string& node,
                                     const std::string& user,
                                     Clock::time_point now) {
    auto& n = nodes_[node];
    n.users.erase(user);
    n.away.erase(user);
    n.last_seen = now;
}

std::vector<std::string> PresenceDirectory::expire(Clock::time_point now) {
    std::set<std::string> dropped;
    for (auto it = nodes_.begin(); it != nodes_.end();) {
        if (now - it->second.last_seen > timeout_) {
            dropped.insert(it->second.users.begin(), it->second.users.end());
            it = nodes_.erase(it);
        } else {
            ++it;
        }
    }
    std::vector<std::string> out;
    for (const auto& user : dropped) {
        if (!online(user)) out.push_back(user);
    }
    return out;
}

std::vector<std::string> PresenceDirectory::users() const {
    std::set<std::string> all;
    for (const auto& [name, node] : nodes_) all.insert(node.users.begin(), node.users.end());
    return {all.begin(), all.end()};
}

bool PresenceDirectory::away(const std::string& user) const {
    bool held = false;
    for (const auto& [name, node] : nodes_) {
        if (!node.users.contains(user)) continue;
        if (!node.away.contains(user)) return false;
        held = true;
    }
    return held;
}

std::vector<std::string> PresenceDirectory::away_users() const {
    std::set<std::string> candidates;
    for (const auto& [name, node] : nodes_) candidates.insert(node.away.begin(), node.away.end());
    std::vector<std::string> out;
    for (const auto& user : candidates) {
        if (away(user)) out.push_back(user);
    }
    return out;
}

bool PresenceDirectory::online(const std::string& user) const {
    return std::any_of(nodes_.begin(), nodes_.end(),
                       [&](const auto& entry) { return entry.second.users.contains(user); });
}

}  // namespace chatd::bus
