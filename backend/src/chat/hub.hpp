#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "chat/sink.hpp"
#include "model/message.hpp"

namespace chatd::metrics {
class Metrics;
}

namespace chatd::chat {

using ConnectionId = std::uint64_t;

// This node's routing table: which local connections belong to which user and which rooms,
// and the fan-out of bus events to them. Decides nothing about authorisation (the service has
// checked membership before an event reaches the bus).
// Thread-safe. Delivery never calls a sink while holding the hub's lock: it takes the room's
// subscriber snapshot (an immutable, shared vector) and then writes to each sink, so a delivery
// costs no allocation beyond the encoded frames. With a ShardRunner (the network layer's I/O
// threads), the snapshot is grouped by shard and a message costs one run_on per shard, whose
// thread hands the frame to each of its connections (Sink::deliver_on_shard); one shard's
// deliveries keep the order in which the messages were delivered. Joins and leaves edit the room's
// member list in O(1) and only drop the snapshot; the next delivery rebuilds it once (a connect
// storm of N clients costs O(N), not O(N^2)). Presence: with more than `presence_limit` connections
// on the node, presence frames are not fanned out (each would cost one frame per connection, O(N^2)
// in a connect storm); clients read GET /api/users/online instead (docs/protocol.md).
class Hub {
  public:
    static constexpr std::size_t kDefaultPresenceLimit = 1000;

    explicit Hub(metrics::Metrics& metrics, std::size_t presence_limit = kDefaultPresenceLimit)
        : metrics_(metrics), presence_limit_(presence_limit) {}

    struct Attached {
        ConnectionId id;
        bool user_came_online;  // this is the user's first connection on this node
        // The user's other connections here are all away: this one, active, brings them back.
        bool user_came_back = false;
    };
    // Native connections subscribe to `rooms` (general is added); seed connections to general.
    // `session` tags the connection with its token hash so logout can close it.
    Attached attach(const std::string& user_name,
                    Protocol protocol,
                    std::shared_ptr<Sink> sink,
                    const std::vector<std::string>& rooms,
                    std::string session = {});
    struct Detached {
        bool user_went_offline = false;  // that was the user's last connection on this node
        bool user_went_away = false;     // it was active and the user's others here are away
        bool away_user_left = false;     // the last one, of a user away here
    };
    Detached detach(ConnectionId id);

    // Away status (docs/protocol.md "Away"): a connection starts active; a user is away on this
    // node when every connection of theirs here is away (a seed one never is). Returns true when
    // that changed the user's status on this node.
    bool set_away(ConnectionId id, bool away);
    // The user's status on this node.
    model::Availability availability(const std::string& user_name) const;
    // Users online here whose connections are all away, sorted.
    std::vector<std::string> away_users() const;

    // Routes one bus event to the local connections that should see it; with `only_user`, to
    // that user's connections only (a delivery from the user's own RabbitMQ queue).
    void deliver(const model::Event& event, const std::string& only_user = {});
    // Presence events in order, all of them to each connection in turn, so that a connection's
    // writer finds them queued together and sends them in one write (a connect burst).
    void deliver_presence(const std::vector<model::Presence>& batch);

    // From now on, room messages go to each connection through its shard's thread; null: each
    // sink's deliver() from the delivering thread.
    void set_shard_runner(std::shared_ptr<ShardRunner> runner);

    // Typing and presence frames are dropped (counted), never queued, for a connection whose
    // outbox holds more than `bytes` (Sink::queued_bytes): a flood of ephemeral events must not
    // push a slow reader into the outbox limit, which would cost it its connection.
    void set_ephemeral_queue_limit(std::size_t bytes) { ephemeral_queue_limit_ = bytes; }

    // Whether the connection receives the room's messages (the user is a member).
    bool is_subscribed(ConnectionId id, const std::string& room) const;
    // Sorted; the first `limit` names in that order.
    std::vector<std::string> online_users(std::size_t limit = SIZE_MAX) const;
    std::size_t presence_limit() const { return presence_limit_; }
    bool is_online(const std::string& user_name) const;
    bool has_other_session(const std::string& user_name, const std::string& session) const;
    std::size_t connection_count() const;
    void close_session(const std::string& session, CloseCode code, std::string_view reason);
    void close_all(CloseCode code, std::string_view reason);
    // Native (/ws) connections only: they reconnect and resync by id; seed ones cannot.
    void close_native(CloseCode code, std::string_view reason);

  private:
    struct Subscriber {
        ConnectionId id;
        Protocol protocol;
        std::shared_ptr<Sink> sink;
        std::string user_name;
        std::size_t shard;
    };
    // A room's members at one moment, grouped by shard for the runner of that moment.
    struct SubscriberList {
        std::vector<Subscriber> members;  // shard 0's first, then shard 1's, ...
        std::vector<std::size_t>
            shard_end;  // shard s: [shard_end[s - 1] (0 for s = 0), shard_end[s])
        // Weak: the runner holds the work that holds this snapshot.
        std::weak_ptr<ShardRunner> runner;
        std::size_t native_count = 0;
        std::size_t seed_count = 0;
    };
    using SubscriberListPtr = std::shared_ptr<const SubscriberList>;
    struct Room {
        std::vector<Subscriber> members;  // unordered: leaving swaps the last member into the gap
        std::unordered_map<ConnectionId, std::size_t> position;
        // Null after a change; a cache rebuilt by the next delivery (under the unique lock).
        mutable SubscriberListPtr snapshot;
    };

    struct Connection {
        std::string user_name;
        Protocol protocol;
        std::shared_ptr<Sink> sink;
        std::string session;
        std::unordered_set<std::string> rooms;
        bool away = false;
    };
    // Requires the lock. Whether every one of `ids` is away (false for none).
    bool all_away_locked(const std::vector<ConnectionId>& ids) const;

    void deliver_message(const model::Message& message, const std::string& only_user);
    void deliver_typing(const model::Typing& typing);
    void deliver_presence(const model::Presence& presence);
    void deliver_membership(const model::Membership& membership);
    // To every native connection of the user.
    void deliver_read(const model::ReadMoved& read);
    // To every native connection (renames are rare; a backed-up connection is skipped, as for
    // presence, and reads the name again from the directory).
    void deliver_profile(const model::ProfileChanged& profile);
    // One frame, encoded only when the user has a native connection here, to each of them.
    void deliver_to_user(const std::string& user_name, const std::function<std::string()>& encode);
    // Requires the unique lock.
    void subscribe_locked(const std::string& room, ConnectionId id, const Connection& connection);
    void unsubscribe_locked(const std::string& room, ConnectionId id);
    SubscriberListPtr subscribers(const std::string& room) const;
    // Requires the unique lock.
    SubscriberListPtr make_snapshot(const std::vector<Subscriber>& members) const;
    void deliver_by_shard(const model::Message& message,
                          const SubscriberListPtr& list,
                          ShardRunner& runner);
    std::vector<std::shared_ptr<Sink>> sinks_where(auto predicate) const;

    metrics::Metrics& metrics_;
    mutable std::shared_mutex mutex_;
    ConnectionId next_id_ = 1;
    std::unordered_map<ConnectionId, Connection> connections_;
    std::unordered_map<std::string, std::vector<ConnectionId>> users_;
    // users_' names in order (views of its keys, which stay put until erased), so a welcome's
    // first names of the online list cost no sort: a reconnect storm asks for it per connection.
    std::set<std::string_view> users_in_order_;
    // Users here whose connections are all away (a user's status changes only under the lock).
    std::set<std::string> away_;
    std::unordered_map<std::string, Room> rooms_;
    std::shared_ptr<ShardRunner> shard_runner_;
    const std::size_t presence_limit_;
    std::size_t ephemeral_queue_limit_ = 64 * 1024;  // set before deliveries start
};

}  // namespace chatd::chat
