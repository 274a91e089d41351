// The presence part of the RabbitMQ bus without a broker: heartbeats and which remote presence
// changes reach this node's clients.
#include "bus/node_presence.hpp"

#include <gtest/gtest.h>

#include "bus/user_queues.hpp"
#include "bus/wire.hpp"

namespace {

using namespace chatd;
using namespace std::chrono_literals;
using Clock = bus::NodePresence::Clock;

TEST(NodePresence, HeartbeatEveryIntervalWithTheLocalUsers) {
    bus::LocalUsers local;
    bus::NodePresence presence("n1", 2000ms, 3, local);
    local.add("alice");
    const auto t0 = Clock::now();
    presence.restart(t0);
    const auto body = presence.heartbeat_due(t0);
    ASSERT_TRUE(body);
    const auto wire = bus::decode_wire(*body);
    EXPECT_EQ(wire.kind, bus::Wire::Kind::Heartbeat);
    EXPECT_EQ(wire.node, "n1");
    EXPECT_EQ(wire.users, std::vector<std::string>{"alice"});
    EXPECT_FALSE(presence.heartbeat_due(t0 + 1999ms));
    EXPECT_TRUE(presence.heartbeat_due(t0 + 2000ms));
}

TEST(NodePresence, AnOfflineReachesClientsOnlyWhenTheUserIsOnlineNowhere) {
    bus::LocalUsers local;
    bus::NodePresence presence("n1", 2000ms, 3, local);
    const auto t0 = Clock::now();
    EXPECT_TRUE(presence.apply("n2", {"bob", true}, t0));
    EXPECT_TRUE(presence.apply("n3", {"bob", true}, t0));
    EXPECT_TRUE(presence.online_elsewhere("bob"));
    EXPECT_FALSE(presence.apply("n2", {"bob", false}, t0));  // still on n3
    EXPECT_TRUE(presence.apply("n3", {"bob", false}, t0));
    EXPECT_FALSE(presence.online_elsewhere("bob"));

    local.add("carol");
    EXPECT_TRUE(presence.apply("n2", {"carol", true}, t0));
    EXPECT_FALSE(presence.apply("n2", {"carol", false}, t0));  // still here
}

TEST(NodePresence, ASilentNodesUsersExpireUnlessOnlineHere) {
    bus::LocalUsers local;
    bus::NodePresence presence("n1", 2000ms, 3, local);
    const auto t0 = Clock::now();
    presence.heartbeat_from("n2", {"alice", "bob"}, t0);
    local.add("bob");
    EXPECT_EQ(presence.remote_users(), (std::vector<std::string>{"alice", "bob"}));
    EXPECT_TRUE(presence.expire(t0 + 6s).empty());
    EXPECT_EQ(presence.expire(t0 + 6001ms), std::vector<std::string>{"alice"});
    EXPECT_TRUE(presence.remote_users().empty());
}

}  // namespace
