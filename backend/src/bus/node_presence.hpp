#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bus/presence_directory.hpp"
#include "model/message.hpp"

namespace chatd::bus {

class LocalUsers;

// Presence across nodes over chat.events: this node's heartbeat (its online users, every
// `interval`), and what the other nodes' heartbeats and presence changes say, in a
// PresenceDirectory that drops a node silent for `interval * misses`. Thread-safe.
class NodePresence {
  public:
    using Clock = PresenceDirectory::Clock;

    NodePresence(std::string node_id,
                 std::chrono::milliseconds interval,
                 int misses,
                 const LocalUsers& local);

    std::vector<std::string> remote_users() const;  // sorted
    bool online_elsewhere(const std::string& user_name) const;
    // How the user is on the other nodes together (model::combine of each node's).
    model::Availability remote_availability(const std::string& user_name) const;
    // Users online on other nodes and away on every one of them, sorted.
    std::vector<std::string> remote_away_users() const;
    // Whether every connection of a user on this node is away (the heartbeat says so).
    void set_local_away(const std::string& user_name, bool away);

    void heartbeat_from(const std::string& node,
                        std::vector<std::string> users,
                        Clock::time_point now,
                        const std::vector<std::string>& away = {});
    // A presence change from another node. What this node's clients are then told is the
    // user's status over every node, here included (the service's PresenceRelay).
    void apply(const std::string& node, const model::Presence& presence, Clock::time_point now);

    // The next heartbeat is due at once (after a connect).
    void restart(Clock::time_point now);
    // This node's heartbeat body when one is due, and then the next is an interval away.
    std::optional<std::string> heartbeat_due(Clock::time_point now);
    // Users of nodes silent for too long who are now online nowhere, here included: to be shown
    // offline.
    std::vector<std::string> expire(Clock::time_point now);

  private:
    const std::string node_id_;
    const std::chrono::milliseconds interval_;
    const LocalUsers& local_;
    mutable std::mutex mutex_;
    PresenceDirectory directory_;
    std::set<std::string> local_away_;    // under mutex_
    Clock::time_point next_heartbeat_{};  // the bus thread only
};

}  // namespace chatd::bus
