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

TEST(NodePresence, RemotePresenceChangesUpdateWhoIsOnlineElsewhere) {
    bus::LocalUsers local;
    bus::NodePresence presence("n1", 2000ms, 3, local);
    const auto t0 = Clock::now();
    presence.apply("n2", {"bob", true}, t0);
    presence.apply("n3", {"bob", true}, t0);
    EXPECT_TRUE(presence.online_elsewhere("bob"));
    presence.apply("n2", {"bob", false}, t0);
    EXPECT_TRUE(presence.online_elsewhere("bob"));  // still on n3
    presence.apply("n3", {"bob", false}, t0);
    EXPECT_FALSE(presence.online_elsewhere("bob"));
    EXPECT_EQ(presence.remote_availability("bob"), model::Availability::Offline);
}

TEST(NodePresence, AUserIsAwayElsewhereOnlyWhenAwayOnEveryOtherNodeHoldingThem) {
    bus::LocalUsers local;
    bus::NodePresence presence("n1", 2000ms, 3, local);
    const auto t0 = Clock::now();
    presence.apply("n2", {"bob", true, true}, t0);
    EXPECT_EQ(presence.remote_availability("bob"), model::Availability::Away);
    presence.apply("n3", {"bob", true}, t0);
    EXPECT_EQ(presence.remote_availability("bob"), model::Availability::Online);
    EXPECT_TRUE(presence.remote_away_users().empty());
    // The active node's connection closes: the away one is left.
    presence.apply("n3", {"bob", false}, t0);
    EXPECT_EQ(presence.remote_availability("bob"), model::Availability::Away);
    EXPECT_EQ(presence.remote_away_users(), std::vector<std::string>{"bob"});
    presence.apply("n2", {"bob", true, false}, t0);
    EXPECT_EQ(presence.remote_availability("bob"), model::Availability::Online);
}

TEST(NodePresence, HeartbeatsCarryWhoIsAwayBothWays) {
    bus::LocalUsers local;
    bus::NodePresence presence("n1", 2000ms, 3, local);
    local.add("alice");
    local.add("bob");
    presence.set_local_away("bob", true);
    const auto t0 = Clock::now();
    presence.restart(t0);
    const auto wire = bus::decode_wire(*presence.heartbeat_due(t0));
    EXPECT_EQ(wire.users, (std::vector<std::string>{"alice", "bob"}));
    EXPECT_EQ(wire.away, std::vector<std::string>{"bob"});

    // Another node's heartbeat replaces what was known of it, away included; a name it does
    // not hold cannot be away there.
    presence.heartbeat_from("n2", {"carol", "dave"}, t0, {"dave", "erin"});
    EXPECT_EQ(presence.remote_availability("carol"), model::Availability::Online);
    EXPECT_EQ(presence.remote_availability("dave"), model::Availability::Away);
    EXPECT_EQ(presence.remote_availability("erin"), model::Availability::Offline);
    presence.heartbeat_from("n2", {"carol", "dave"}, t0);  // an older node: nobody away
    EXPECT_EQ(presence.remote_availability("dave"), model::Availability::Online);
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
