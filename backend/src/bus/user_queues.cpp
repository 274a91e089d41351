#include "bus/user_queues.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "bus/amqp_consumer.hpp"

namespace chatd::bus {

void LocalUsers::add(const std::string& user_name) {
    std::lock_guard lock(mutex_);
    users_.insert(user_name);
    changed_ = true;
}

void LocalUsers::remove(const std::string& user_name) {
    std::lock_guard lock(mutex_);
    users_.erase(user_name);
    settled_.erase(user_name);
    changed_ = true;
}

bool LocalUsers::contains(const std::string& user_name) const {
    std::lock_guard lock(mutex_);
    return users_.contains(user_name);
}

std::vector<std::string> LocalUsers::list() const {
    std::lock_guard lock(mutex_);
    return {users_.begin(), users_.end()};
}

bool LocalUsers::defer_until_settled(const std::string& user_name, std::function<void()>& done) {
    std::lock_guard lock(mutex_);
    if (!users_.contains(user_name) || settled_.contains(user_name)) return false;
    waiters_[user_name].push_back(std::move(done));
    return true;
}

void LocalUsers::settle(const std::string& user_name) {
    std::vector<std::function<void()>> ready;
    {
        std::lock_guard lock(mutex_);
        if (!users_.contains(user_name)) return;
        settled_.insert(user_name);
        auto it = waiters_.find(user_name);
        if (it != waiters_.end()) {
            ready = std::move(it->second);
            waiters_.erase(it);
        }
    }
    for (auto& f : ready) f();
}

void LocalUsers::settle_all() {
    std::map<std::string, std::vector<std::function<void()>>> ready;
    {
        std::lock_guard lock(mutex_);
        ready.swap(waiters_);
    }
    for (auto& [name, list] : ready) {
        for (auto& f : list) f();
    }
}

void LocalUsers::unsettle_all() {
    std::lock_guard lock(mutex_);
    settled_.clear();
}

std::optional<std::set<std::string>> LocalUsers::take_changes(bool retry_due) {
    std::lock_guard lock(mutex_);
    if (!changed_ && !retry_due) return std::nullopt;
    changed_ = false;
    return users_;
}

void LocalUsers::mark_changed() {
    std::lock_guard lock(mutex_);
    changed_ = true;
}

bool BrokerUserChannels::consume(Channel channel, const std::string& user_name) {
    return consume_user_queue(connection_, channel, user_name, prefetch_);
}

void BrokerUserChannels::release(Channel channel) {
    // What was handed to the user's connections stays acked; the rest goes back.
    if (const auto tag = acks_.take(channel)) connection_.ack_up_to(channel, *tag);
    connection_.close_channel(channel);
}

void UserQueues::reconcile(UserQueueChannels& channels, LocalUsers& local, Clock::time_point now) {
    const auto want = local.take_changes(now >= next_retry_);
    if (!want) return;
    for (auto it = users_.begin(); it != users_.end();) {
        if (!want->contains(it->first)) {
            release(channels, it->second);
            it = users_.erase(it);
        } else {
            ++it;
        }
    }
    next_retry_ = Clock::time_point::max();
    for (const auto& name : *want) {
        auto& state = users_[name];
        if (state.channel == 0 && now >= state.retry_at) {
            consume(channels, name, state, now);
            local.settle(name);
        }
        if (state.channel == 0) next_retry_ = std::min(next_retry_, state.retry_at);
    }
}

const std::string* UserQueues::user_of(Channel channel) const {
    auto it = channel_user_.find(channel);
    return it == channel_user_.end() ? nullptr : &it->second;
}

bool UserQueues::holds(const std::string& user_name) const {
    auto it = users_.find(user_name);
    return it != users_.end() && it->second.channel != 0;
}

void UserQueues::release(UserQueueChannels& channels,
                         const std::string& user_name,
                         std::optional<Clock::time_point> retry_at) {
    auto& state = users_[user_name];
    release(channels, state);
    if (retry_at) state.retry_at = *retry_at;
}

bool UserQueues::on_cancelled(UserQueueChannels& channels, Channel channel, Clock::time_point now) {
    auto it = channel_user_.find(channel);
    if (it == channel_user_.end()) return false;
    auto& state = users_[it->second];
    release(channels, state);
    retry_at(state, now + kRetry);
    return true;
}

bool UserQueues::on_closed(Channel channel, Clock::time_point now) {
    auto it = channel_user_.find(channel);
    if (it == channel_user_.end()) return false;
    auto& state = users_[it->second];
    state.channel = 0;
    retry_at(state, now + kRetry);
    channel_user_.erase(it);
    return true;
}

void UserQueues::clear() {
    users_.clear();
    channel_user_.clear();
}

Channel UserQueues::allocate_channel() {
    for (int i = 0; i <= kLastUserChannel - kFirstUserChannel; ++i) {
        const Channel channel = next_channel_;
        next_channel_ = next_channel_ >= kLastUserChannel ? kFirstUserChannel : next_channel_ + 1;
        if (!channel_user_.contains(channel)) return channel;
    }
    return 0;
}

// The consume is exclusive: when another node holds the queue, the broker refuses with 403 and
// that node forwards the user's messages to us (docs/design/rabbitmq.md).
void UserQueues::consume(UserQueueChannels& channels,
                         const std::string& user_name,
                         UserQueue& state,
                         Clock::time_point now) {
    const Channel channel = allocate_channel();
    if (channel == 0) {
        state.retry_at = now + kNoChannelRetry;
        spdlog::warn("amqp: no free channel to consume the queue of {}", user_name);
        return;
    }
    channel_user_[channel] = user_name;  // reserved while we try
    if (channels.consume(channel, user_name)) {
        state.channel = channel;
    } else {
        channel_user_.erase(channel);
        state.channel = 0;
        state.retry_at = now + kRetry;
    }
}

void UserQueues::release(UserQueueChannels& channels, UserQueue& state) {
    if (state.channel == 0) return;
    const auto channel = state.channel;
    state.channel = 0;
    // Forgotten first: when closing fails the connection is lost anyway.
    channel_user_.erase(channel);
    channels.release(channel);
}

void UserQueues::retry_at(UserQueue& state, Clock::time_point when) {
    state.retry_at = when;
    next_retry_ = std::min(next_retry_, when);
}

}  // namespace chatd::bus
