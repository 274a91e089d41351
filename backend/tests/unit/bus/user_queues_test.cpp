// The per-user queues part of the RabbitMQ bus without a broker: who is here, when an upgrade
// may answer, and which queues are consumed on which channel, with the broker faked.
#include "bus/user_queues.hpp"

#include <gtest/gtest.h>

#include <set>

namespace {

using namespace chatd;
using namespace std::chrono_literals;
using Clock = bus::UserQueues::Clock;

// Consumes succeed unless the user is in `held_elsewhere`; records what was asked.
struct FakeChannels final : bus::UserQueueChannels {
    std::set<std::string> held_elsewhere;
    std::map<bus::Channel, std::string> consuming;
    std::vector<bus::Channel> released;

    bool consume(bus::Channel channel, const std::string& user_name) override {
        if (held_elsewhere.contains(user_name)) return false;
        consuming[channel] = user_name;
        return true;
    }
    void release(bus::Channel channel) override {
        consuming.erase(channel);
        released.push_back(channel);
    }
};

TEST(LocalUsers, AnUpgradeWaitsUntilItsUsersQueueIsSettled) {
    bus::LocalUsers local;
    int ran = 0;
    std::function<void()> done = [&] { ++ran; };
    EXPECT_FALSE(local.defer_until_settled("alice", done));  // not here: run it now
    local.add("alice");
    EXPECT_TRUE(local.defer_until_settled("alice", done));
    EXPECT_EQ(ran, 0);
    local.settle("alice");
    EXPECT_EQ(ran, 1);
    std::function<void()> again = [&] { ++ran; };
    EXPECT_FALSE(local.defer_until_settled("alice", again));  // settled: at once
}

TEST(LocalUsers, SettleAllRunsEveryWaiterAndUnsettleMakesThemWaitAgain) {
    bus::LocalUsers local;
    local.add("alice");
    local.add("bob");
    local.settle("alice");
    local.unsettle_all();
    int ran = 0;
    std::function<void()> a = [&] { ++ran; };
    std::function<void()> b = [&] { ++ran; };
    EXPECT_TRUE(local.defer_until_settled("alice", a));
    EXPECT_TRUE(local.defer_until_settled("bob", b));
    local.settle_all();
    EXPECT_EQ(ran, 2);
}

TEST(LocalUsers, ChangesAreTakenOnceUnlessARetryIsDue) {
    bus::LocalUsers local;
    local.add("alice");
    EXPECT_EQ(local.take_changes(false), (std::set<std::string>{"alice"}));
    EXPECT_FALSE(local.take_changes(false));
    EXPECT_EQ(local.take_changes(true), (std::set<std::string>{"alice"}));
    local.remove("alice");
    EXPECT_EQ(local.take_changes(false), std::set<std::string>{});
    EXPECT_EQ(local.list(), std::vector<std::string>{});
}

TEST(UserQueues, ConsumesEachUserHereOnAChannelOfItsOwnAndReleasesThoseGone) {
    bus::LocalUsers local;
    bus::UserQueues queues;
    FakeChannels channels;
    const auto t0 = Clock::now();
    local.add("alice");
    local.add("bob");
    queues.reconcile(channels, local, t0);
    ASSERT_EQ(channels.consuming.size(), 2u);
    EXPECT_TRUE(queues.holds("alice"));
    EXPECT_TRUE(queues.holds("bob"));
    for (const auto& [channel, user] : channels.consuming) {
        EXPECT_GE(channel, bus::kFirstUserChannel);
        ASSERT_NE(queues.user_of(channel), nullptr);
        EXPECT_EQ(*queues.user_of(channel), user);
    }
    EXPECT_EQ(queues.user_of(bus::kNodeChannel), nullptr);

    local.remove("alice");
    queues.reconcile(channels, local, t0);
    EXPECT_FALSE(queues.holds("alice"));
    EXPECT_TRUE(queues.holds("bob"));
    EXPECT_EQ(channels.released.size(), 1u);
}

TEST(UserQueues, AQueueHeldElsewhereSettlesAtOnceAndIsRetriedEverySecond) {
    bus::LocalUsers local;
    bus::UserQueues queues;
    FakeChannels channels;
    channels.held_elsewhere.insert("alice");
    const auto t0 = Clock::now();
    local.add("alice");
    int ran = 0;
    std::function<void()> done = [&] { ++ran; };
    EXPECT_TRUE(local.defer_until_settled("alice", done));
    queues.reconcile(channels, local, t0);
    EXPECT_EQ(ran, 1);  // the upgrade does not wait for the other node
    EXPECT_FALSE(queues.holds("alice"));

    channels.held_elsewhere.clear();
    queues.reconcile(channels, local, t0 + 500ms);  // no change, retry not due
    EXPECT_FALSE(queues.holds("alice"));
    queues.reconcile(channels, local, t0 + bus::UserQueues::kRetry);
    EXPECT_TRUE(queues.holds("alice"));
}

TEST(UserQueues, AChannelClosedByTheBrokerIsConsumedAgainASecondLater) {
    bus::LocalUsers local;
    bus::UserQueues queues;
    FakeChannels channels;
    const auto t0 = Clock::now();
    local.add("alice");
    queues.reconcile(channels, local, t0);
    const auto channel = channels.consuming.begin()->first;
    EXPECT_TRUE(queues.on_closed(channel, t0));
    EXPECT_FALSE(queues.holds("alice"));
    EXPECT_FALSE(queues.on_closed(bus::kEventsChannel, t0));  // not a user queue's
    queues.reconcile(channels, local, t0 + 999ms);
    EXPECT_FALSE(queues.holds("alice"));
    queues.reconcile(channels, local, t0 + 1s);
    EXPECT_TRUE(queues.holds("alice"));
}

TEST(UserQueues, ACancelledConsumerIsReleasedAndRetried) {
    bus::LocalUsers local;
    bus::UserQueues queues;
    FakeChannels channels;
    const auto t0 = Clock::now();
    local.add("alice");
    queues.reconcile(channels, local, t0);
    const auto channel = channels.consuming.begin()->first;
    EXPECT_TRUE(queues.on_cancelled(channels, channel, t0));
    EXPECT_EQ(channels.released, std::vector<bus::Channel>{channel});
    EXPECT_FALSE(queues.on_cancelled(channels, channel, t0));
    queues.reconcile(channels, local, t0 + 1s);
    EXPECT_TRUE(queues.holds("alice"));
}

TEST(UserQueues, ReleaseWithAHoldOffWaitsBeforeConsumingAgain) {
    bus::LocalUsers local;
    bus::UserQueues queues;
    FakeChannels channels;
    const auto t0 = Clock::now();
    local.add("alice");
    queues.reconcile(channels, local, t0);
    queues.release(channels, "alice", t0 + 3s);
    local.mark_changed();
    queues.reconcile(channels, local, t0 + 2s);
    EXPECT_FALSE(queues.holds("alice"));
    queues.reconcile(channels, local, t0 + 3s);
    EXPECT_TRUE(queues.holds("alice"));
}

TEST(UserQueues, ChannelsAreReusedRoundRobinAndNeverTwice) {
    bus::LocalUsers local;
    bus::UserQueues queues;
    FakeChannels channels;
    const auto t0 = Clock::now();
    const int count = bus::kLastUserChannel - bus::kFirstUserChannel + 1;
    for (int i = 0; i < count; ++i) local.add("u" + std::to_string(i));
    queues.reconcile(channels, local, t0);
    EXPECT_EQ(channels.consuming.size(), static_cast<std::size_t>(count));
    // Every channel taken: one more user waits (and settles) rather than sharing one.
    local.add("late");
    queues.reconcile(channels, local, t0);
    EXPECT_FALSE(queues.holds("late"));
    local.remove("u0");
    queues.reconcile(channels, local, t0 + bus::UserQueues::kNoChannelRetry);
    EXPECT_TRUE(queues.holds("late"));
    EXPECT_EQ(channels.consuming.size(), static_cast<std::size_t>(count));
}

TEST(UserQueues, ClearForgetsEveryChannel) {
    bus::LocalUsers local;
    bus::UserQueues queues;
    FakeChannels channels;
    local.add("alice");
    queues.reconcile(channels, local, Clock::now());
    queues.clear();
    EXPECT_FALSE(queues.holds("alice"));
    EXPECT_TRUE(channels.released.empty());  // the connection took them with it
}

}  // namespace
