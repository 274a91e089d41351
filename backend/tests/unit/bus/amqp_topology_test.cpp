// The topology part of the RabbitMQ bus: where each publish goes, and the names it declares.
#include "bus/amqp_topology.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bus/broker_bus.hpp"

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

// Every kind in every kind of room, in both topologies: a new message of general goes on `chat`,
// one of another room to its members (per-user) or chat.rooms (per-node); a change never goes on
// `chat` nor into a user queue, whatever its room.
TEST(Route, EveryKindRoomAndTopology) {
    using model::MessageKind;
    struct Expected {
        std::string_view exchange;
        bool to_member_queues;
    };
    const std::vector<std::string> members{"alice", "bob"};
    for (const auto kind :
         {MessageKind::Text, MessageKind::Join, MessageKind::Leave, MessageKind::Edit,
          MessageKind::Delete, MessageKind::React, MessageKind::Unreact}) {
        for (const std::string room : {"general", "dev", "dm:alice:bob"}) {
            for (const auto topology : {bus::Topology::PerUser, bus::Topology::PerNode}) {
                SCOPED_TRACE(std::string(model::kind_name(kind)) + " in " + room +
                             (topology == bus::Topology::PerUser ? " per-user" : " per-node"));
                model::Message m;
                m.id = 7;
                m.room = room;
                m.user_name = "alice";
                m.kind = kind;
                m.target_id = model::is_change(kind) ? 3 : 0;
                const bool change = model::is_change(kind);
                const bool general = room == model::kGeneralRoom;
                Expected expected;
                if (change) {
                    expected = {topology == bus::Topology::PerNode ? "chat.rooms" : "chat.events",
                                false};
                } else if (general) {
                    expected = {"chat", false};
                } else if (topology == bus::Topology::PerNode) {
                    expected = {"chat.rooms", false};
                } else {
                    expected = {"", true};
                }
                EXPECT_EQ(bus::addressed_to_members(m), !change && !general);
                // The outbox publisher passes members exactly when addressed_to_members().
                const auto recipients =
                    topology == bus::Topology::PerUser && bus::addressed_to_members(m)
                        ? std::optional<std::vector<std::string>>(members)
                        : std::nullopt;
                const auto r = bus::route(m, topology, recipients);
                EXPECT_EQ(r.outcome, Outcome::Publish);
                EXPECT_EQ(r.exchange, expected.exchange);
                EXPECT_EQ(r.queues,
                          expected.to_member_queues ? members : std::vector<std::string>{});
                EXPECT_TRUE(r.persistent) << "stored rows wait for the broker's confirm";
            }
        }
    }
}

TEST(Route, AChangeIgnoresRecipientsItIsGiven) {
    model::Message m;
    m.id = 8;
    m.room = "dev";
    m.user_name = "alice";
    m.kind = model::MessageKind::React;
    m.target_id = 3;
    const auto r = bus::route(m, bus::Topology::PerUser, std::vector<std::string>{"alice"});
    EXPECT_EQ(r.exchange, "chat.events");
    EXPECT_TRUE(r.queues.empty());
    EXPECT_EQ(bus::route(m, bus::Topology::PerUser, std::nullopt).outcome, Outcome::Publish);
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
