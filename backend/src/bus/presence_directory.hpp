#pragma once

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace chatd::bus {

// Who is online on the other nodes, learnt from their presence events and heartbeats.
// A node silent for longer than `timeout` is dropped with all its users (a crashed node's users
// are shown offline after at most `timeout` plus one check interval). Pure; not thread-safe.
class PresenceDirectory {
  public:
    using Clock = std::chrono::steady_clock;

    explicit PresenceDirectory(Clock::duration timeout) : timeout_(timeout) {}

    // A heartbeat carries the node's complete list: it replaces what was known. `away`: those
    // of `users` away there (names not in `users` are ignored).
    void heartbeat(const std::string& node,
                   std::vector<std::string> users,
                   Clock::time_point now,
                   const std::vector<std::string>& away = {});
    // Online on `node`; `away`: every connection of the user there is away.
    void user_online(const std::string& node,
                     const std::string& user,
                     Clock::time_point now,
                     bool away = false);
    void user_offline(const std::string& node, const std::string& user, Clock::time_point now);
    // Drops silent nodes; returns the users that are now online on no remaining node (sorted).
    std::vector<std::string> expire(Clock::time_point now);

    // Every remote online user, sorted, each once.
    std::vector<std::string> users() const;
    bool online(const std::string& user) const;
    // Online on some node and away on every node that holds the user.
    bool away(const std::string& user) const;
    // Those users, sorted.
    std::vector<std::string> away_users() const;
    std::size_t node_count() const { return nodes_.size(); }

  private:
    struct Node {
        std::set<std::string> users;
        std::set<std::string> away;  // a subset of users
        Clock::time_point last_seen;
    };
    Clock::duration timeout_;
    std::map<std::string, Node> nodes_;
};

}  // namespace chatd::bus
