#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bus/amqp_connection.hpp"
#include "bus/amqp_topology.hpp"

// The per-user topology's queues (docs/design/rabbitmq.md): a user's queue is consumed,
// on a channel of its own, while the user has a connection on this node.
namespace chatd::bus {

class AckBatcher;

// Who has a connection on this node, and the WebSocket upgrades waiting until their user's
// queue is consumed (Bus::when_subscribed). Thread-safe.
class LocalUsers {
  public:
    // The user's first / last connection on this node.
    void add(const std::string& user_name);
    void remove(const std::string& user_name);
    bool contains(const std::string& user_name) const;
    std::vector<std::string> list() const;  // sorted

    // Keeps `done` until the user's subscription attempt is over, when the user is here and it is
    // not over yet; otherwise false, `done` left to the caller to run.
    bool defer_until_settled(const std::string& user_name, std::function<void()>& done);
    // The user's subscription attempt is over (consuming, held elsewhere, or failed): runs the
    // waiters of a user still here.
    void settle(const std::string& user_name);
    // Nobody waits for a broker that is down: runs every waiter; no user counts as settled.
    void settle_all();
    void unsettle_all();

    // The users here, when they changed since the last call or `retry_due`.
    std::optional<std::set<std::string>> take_changes(bool retry_due);
    void mark_changed();

  private:
    mutable std::mutex mutex_;
    std::set<std::string> users_;
    std::set<std::string> settled_;  // users whose queue this node consumes or tried to
    std::map<std::string, std::vector<std::function<void()>>> waiters_;
    bool changed_ = false;
};

// What UserQueues asks of the broker; the bus does it on its connection, tests fake it.
class UserQueueChannels {
  public:
    // Declares, binds and consumes `user_name`'s queue on `channel`; false when refused (another
    // node holds it; the channel is closed).
    virtual bool consume(Channel channel, const std::string& user_name) = 0;
    // Closes a consuming channel, after acking what the hub has (the rest goes back).
    virtual void release(Channel channel) = 0;

  protected:
    ~UserQueueChannels() = default;
};

// The bus's AMQP connection as UserQueueChannels.
class BrokerUserChannels final : public UserQueueChannels {
  public:
    BrokerUserChannels(AmqpConnection& connection, AckBatcher& acks, int prefetch)
        : connection_(connection), acks_(acks), prefetch_(prefetch) {}
    bool consume(Channel channel, const std::string& user_name) override;
    void release(Channel channel) override;

  private:
    AmqpConnection& connection_;
    AckBatcher& acks_;
    int prefetch_;
};

// The user queues this node consumes, each on its own channel (kFirstUserChannel ..
// kLastUserChannel). A refused consume (the queue is held by another node) is retried every
// second. The bus thread only.
class UserQueues {
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr auto kRetry = std::chrono::milliseconds(1000);
    static constexpr auto kNoChannelRetry = std::chrono::seconds(5);

    // Consumes the queues of users here that are not consumed yet (when due) and releases those
    // of users gone; settles each user tried. Does nothing unless the users changed or a retry is
    // due.
    void reconcile(UserQueueChannels& channels, LocalUsers& local, Clock::time_point now);

    // The user whose queue `channel` consumes; nullptr for another channel.
    const std::string* user_of(Channel channel) const;
    bool holds(const std::string& user_name) const;
    // Stops consuming the user's queue; tries again no earlier than `retry_at`, if given.
    void release(UserQueueChannels& channels,
                 const std::string& user_name,
                 std::optional<Clock::time_point> retry_at = std::nullopt);
    // The broker cancelled the consumer of `channel` / closed it: consume again in a second.
    // False when `channel` is not a user queue's.
    bool on_cancelled(UserQueueChannels& channels, Channel channel, Clock::time_point now);
    bool on_closed(Channel channel, Clock::time_point now);
    // The connection is gone, and every channel with it.
    void clear();

  private:
    struct UserQueue {
        Channel channel = 0;  // 0: not consuming
        Clock::time_point retry_at{};
    };
    Channel allocate_channel();
    void consume(UserQueueChannels& channels,
                 const std::string& user_name,
                 UserQueue& state,
                 Clock::time_point now);
    void release(UserQueueChannels& channels, UserQueue& state);
    void retry_at(UserQueue& state, Clock::time_point when);

    std::map<std::string, UserQueue> users_;
    std::map<Channel, std::string> channel_user_;
    Channel next_channel_ = kFirstUserChannel;
    Clock::time_point next_retry_{};
};

}  // namespace chatd::bus
