#include "bus/presence_directory.hpp"

#include <algorithm>

namespace chatd::bus {

void PresenceDirectory::heartbeat(const std::string& node,
                                  std::vector<std::string> users,
                                  Clock::time_point now) {
    auto& n = nodes_[node];
    n.users = std::set<std::string>(std::make_move_iterator(users.begin()),
                                    std::make_move_iterator(users.end()));
    n.last_seen = now;
}

void PresenceDirectory::user_online(const std::string& node,
                                    const std::string& user,
                                    Clock::time_point now) {
    auto& n = nodes_[node];
    n.users.insert(user);
    n.last_seen = now;
}

void PresenceDirectory::user_offline(const std::string& node,
                                     const std::string& user,
                                     Clock::time_point now) {
    auto& n = nodes_[node];
    n.users.erase(user);
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

bool PresenceDirectory::online(const std::string& user) const {
    return std::any_of(nodes_.begin(), nodes_.end(),
                       [&](const auto& entry) { return entry.second.users.contains(user); });
}

Backoff::Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, unsigned seed)
    : base_(base), cap_(cap), state_(seed * 6364136223846793005ull + 1442695040888963407ull) {}

std::chrono::milliseconds Backoff::ceiling() const {
    auto ceiling = base_;
    for (unsigned i = 0; i < attempt_ && ceiling < cap_; ++i) ceiling *= 2;
    return std::min(ceiling, cap_);
}

std::chrono::milliseconds Backoff::next() {
    const auto upper = ceiling();
    ++attempt_;
    // splitmix64: good enough spread for jitter, deterministic for a given seed (tests).
    state_ += 0x9e3779b97f4a7c15ull;
    unsigned long long z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return std::chrono::milliseconds(
        static_cast<long long>(z % static_cast<unsigned long long>(upper.count() + 1)));
}

}  // namespace chatd::bus
