// The topology part of the RabbitMQ bus: where each publish goes, and the names it declares.
#include "bus/amqp_topology.hpp"

#include <gtest/gtest.h>

#include <map>

namespace {

using namespace chatd;
using Outcome = bus::Route::Outcome;

model::Event message_in(std::string room) {
    model::Message m;
    m.id = 7;
    m.room = std::move(room);
    m.user_name = "alice";
    m.content = "hi";
    return m;
}

TEST(Route, GeneralGoesOnTheBriefsChatFanoutInBothTopologies) {
    for (const auto topology : {bus::Topology::PerUser, bus::Topology::PerNode}) {
        const auto r =
            bus::route(message_in(std::string(model::kGeneralRoom)), topology, std::nullopt);
        EXPECT_EQ(r.outcome, Outcome::Publish);
        EXPECT_EQ(r.exchange, "chat");
        EXPECT_TRUE(r.queues.empty());
        EXPECT_TRUE(r.persistent);
    }
}

TEST(Route, PerUserSendsOtherRoomsToEachMembersQueueOnTheDefaultExchange) {
    const auto r = bus::route(message_in("dm:alice:bob"), bus::Topology::PerUser,
                              std::vector<std::string>{"alice", "bob"});
    EXPECT_EQ(r.outcome, Outcome::Publish);
    EXPECT_EQ(r.exchange, "");
    EXPECT_EQ(r.queues, (std::vector<std::string>{"alice", "bob"}));
    EXPECT_TRUE(r.persistent);
}

TEST(Route, PerUserNeedsTheMembersOfRoomsOtherThanGeneral) {
    EXPECT_EQ(bus::route(message_in("dev"), bus::Topology::PerUser, std::nullopt).outcome,
              Outcome::MissingRecipients);
    EXPECT_EQ(
        bus::route(message_in("dev"), bus::Topology::PerUser, std::vector<std::string>{}).outcome,
        Outcome::NoRecipients);
}

TEST(Route, PerNodeSendsOtherRoomsToTheRoomsFanoutAndIgnoresRecipients) {
    const auto r =
        bus::route(message_in("dev"), bus::Topology::PerNode, std::vector<std::string>{"alice"});
    EXPECT_EQ(r.outcome, Outcome::Publish);
    EXPECT_EQ(r.exchange, "chat.rooms");
    EXPECT_TRUE(r.queues.empty());
}

TEST(Route, EphemeralEventsGoOnChatEventsUnconfirmed) {
    for (const auto topology : {bus::Topology::PerUser, bus::Topology::PerNode}) {
        const auto r = bus::route(model::Presence{"alice", true}, topology, std::nullopt);
        EXPECT_EQ(r.outcome, Outcome::Publish);
        EXPECT_EQ(r.exchange, "chat.events");
        EXPECT_FALSE(r.persistent);
    }
}

TEST(TopologyNames, TheNodesQueuesCarryItsId) {
    EXPECT_EQ(bus::events_queue_name("n1"), "chatd:events:n1");
    EXPECT_EQ(bus::node_queue_name("n1"), "chatd:node:n1");
}

TEST(TopologyChannels, UserChannelsComeAfterTheBussOwnAndStayUnderChannelMax) {
    EXPECT_LT(bus::kPublishChannel, bus::kFirstUserChannel);
    EXPECT_LT(bus::kNodeChannel, bus::kFirstUserChannel);
    EXPECT_LT(bus::kEventsChannel, bus::kFirstUserChannel);
    EXPECT_LT(bus::kFirstUserChannel, bus::kLastUserChannel);
    EXPECT_LE(bus::kLastUserChannel, 2047);  // RabbitMQ's default channel_max
}

TEST(NodeQueueArguments, BoundTheQueueAndExpireItAnHourAfterItsLastConsumer) {
    std::map<std::string, std::int32_t> arguments;
    for (const auto& argument : bus::node_queue_arguments()) {
        arguments.emplace(std::string(argument.name), argument.value);
    }
    const std::map<std::string, std::int32_t> expected{{"x-expires", 3600 * 1000},
                                                       {"x-max-length", 100000}};
    EXPECT_EQ(arguments, expected);
}

}  // namespace
