// The pure parts of the RabbitMQ bus: body codec, presence directory.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "bus/amqp_topology.hpp"
#include "bus/presence_directory.hpp"
#include "bus/wire.hpp"

namespace {

using namespace chatd;
using namespace std::chrono_literals;

TEST(Wire, MessageRoundTripKeepsTheBriefFieldsAndChatdFields) {
    model::Message m{
        7, "general", "alice", "hi", "01/02/2026 03:04:05", 123, "c1", model::MessageKind::Text, 5};
    const auto body = bus::encode_event(m, "node-a");
    EXPECT_NE(body.find("\"sent_at\""), std::string::npos);
    const auto wire = bus::decode_wire(body);
    ASSERT_EQ(wire.kind, bus::Wire::Kind::Event);
    EXPECT_EQ(wire.node, "node-a");
    const auto& back = std::get<model::Message>(*wire.event);
    EXPECT_EQ(back.id, 7);
    EXPECT_EQ(back.content, "hi");
    EXPECT_EQ(back.client_msg_id, "c1");
    EXPECT_EQ(back.prev_id, 5);
}

TEST(Wire, EndedSessionsRoundTrip) {
    const auto body =
        bus::encode_event(model::SessionsEnded{{"h1", "h2"}, "signed out everywhere"}, "node-a");
    const auto wire = bus::decode_wire(body);
    ASSERT_EQ(wire.kind, bus::Wire::Kind::Event);
    const auto& ended = std::get<model::SessionsEnded>(*wire.event);
    EXPECT_EQ(ended.sessions, (std::vector<std::string>{"h1", "h2"}));
    EXPECT_EQ(ended.reason, "signed out everywhere");
}

TEST(Wire, TypingAndItsStopRoundTripUnderTheirOwnTypes) {
    for (const bool stopped : {false, true}) {
        const auto body = bus::encode_event(model::Typing{"general", "alice", stopped}, "node-a");
        EXPECT_EQ(boost::json::parse(body).at("type"), stopped ? "typing_stop" : "typing");
        const auto wire = bus::decode_wire(body);
        ASSERT_EQ(wire.kind, bus::Wire::Kind::Event);
        const auto& back = std::get<model::Typing>(*wire.event);
        EXPECT_EQ(back.room, "general");
        EXPECT_EQ(back.user_name, "alice");
        EXPECT_EQ(back.stopped, stopped);
    }
}

TEST(Wire, AMovedReadMarkRoundTripsAndTravelsOnTheEventsExchange) {
    const model::ReadMoved moved{"alice", model::ReadState{"dm:alice:bob", 44, 999, true, 5000, 7}};
    const auto wire = bus::decode_wire(bus::encode_event(moved, "node-a"));
    ASSERT_EQ(wire.kind, bus::Wire::Kind::Event);
    EXPECT_EQ(wire.node, "node-a");
    const auto& decoded = std::get<model::ReadMoved>(*wire.event);
    EXPECT_EQ(decoded.user_name, "alice");
    EXPECT_EQ(decoded.state, moved.state);
    for (const auto topology : {bus::Topology::PerUser, bus::Topology::PerNode}) {
        const auto where = bus::route(model::Event(moved), topology, std::nullopt);
        EXPECT_EQ(where.outcome, bus::Route::Outcome::Publish);
        EXPECT_EQ(where.exchange, bus::kEventsExchange);
        EXPECT_FALSE(where.persistent);
    }
}

TEST(Wire, AChangedDisplayNameRoundTripsAndTravelsOnTheEventsExchange) {
    const model::ProfileChanged changed{"bob", "Bob \xc3\x89mile"};
    const auto wire = bus::decode_wire(bus::encode_event(changed, "node-a"));
    ASSERT_EQ(wire.kind, bus::Wire::Kind::Event);
    const auto& decoded = std::get<model::ProfileChanged>(*wire.event);
    EXPECT_EQ(decoded.user_name, "bob");
    EXPECT_EQ(decoded.display_name, changed.display_name);
    for (const auto topology : {bus::Topology::PerUser, bus::Topology::PerNode}) {
        const auto where = bus::route(model::Event(changed), topology, std::nullopt);
        EXPECT_EQ(where.outcome, bus::Route::Outcome::Publish);
        EXPECT_EQ(where.exchange, bus::kEventsExchange);
        EXPECT_FALSE(where.persistent);
    }
}

TEST(Wire, AChangedNotifyLevelRoundTripsAndTravelsOnTheEventsExchange) {
    const model::NotifyChanged changed{"alice", {"dm:alice:bob", model::NotifyLevel::Muted}};
    const auto body = bus::encode_event(changed, "node-a");
    const auto wire = bus::decode_wire(body);
    ASSERT_EQ(wire.kind, bus::Wire::Kind::Event);
    EXPECT_EQ(wire.node, "node-a");
    const auto& decoded = std::get<model::NotifyChanged>(*wire.event);
    EXPECT_EQ(decoded.user_name, "alice");
    EXPECT_EQ(decoded.setting, changed.setting);
    for (const auto topology : {bus::Topology::PerUser, bus::Topology::PerNode}) {
        const auto where = bus::route(model::Event(changed), topology, std::nullopt);
        EXPECT_EQ(where.outcome, bus::Route::Outcome::Publish);
        EXPECT_EQ(where.exchange, bus::kEventsExchange);
        EXPECT_FALSE(where.persistent);
    }
    // A level this node does not know is refused, never read as another.
    auto unknown = boost::json::parse(body).as_object();
    unknown["level"] = "loud";
    EXPECT_EQ(bus::decode_wire(boost::json::serialize(unknown)).kind, bus::Wire::Kind::Invalid);
}

TEST(Wire, MessageBodyIsTheBriefFormatPlusChatdFields) {
    // Consumers of the brief's format read content, user_name and sent_at and ignore the rest;
    // prev_id is one more added field.
    model::Message m{
        7, "general", "alice", "hi", "01/02/2026 03:04:05", 123, "c1", model::MessageKind::Text, 5};
    const auto body = boost::json::parse(bus::encode_event(m, "node-a")).as_object();
    EXPECT_EQ(body.at("content"), "hi");
    EXPECT_EQ(body.at("user_name"), "alice");
    EXPECT_EQ(body.at("sent_at"), "01/02/2026 03:04:05");
    EXPECT_EQ(body.at("prev_id"), 5);
}

TEST(Wire, BodiesPastTheDecodeArenaDecodeWhole) {
    // decode_wire parses into a 2 KiB stack arena first; a bigger body must spill to the heap,
    // not be cut. 64 KiB of multi-byte content, escapes included.
    std::string content;
    while (content.size() < 64 * 1024) content += "\u00e9t\u00e9 \"quoted\" \\ ";
    model::Message m{
        9, "general", "alice", content, "01/02/2026 03:04:05", 1, "c9", model::MessageKind::Text,
        8};
    const auto wire = bus::decode_wire(bus::encode_event(m, "node-a"));
    ASSERT_EQ(wire.kind, bus::Wire::Kind::Event);
    const auto& back = std::get<model::Message>(*wire.event);
    EXPECT_EQ(back.content, content);
    EXPECT_EQ(back.id, 9);
    EXPECT_EQ(back.prev_id, 8);
    // The event outlives the parse: nothing in it points into the arena.
    const auto copy = wire.event;
    EXPECT_EQ(std::get<model::Message>(*copy).user_name, "alice");
}

TEST(Wire, BriefFormatFromAForeignPublisherDecodesWithoutId) {
    const auto wire =
        bus::decode_wire(R"({"content":"DISCONNECTION_MESSAGE","user_name":"bob","sent_at":"x"})");
    ASSERT_EQ(wire.kind, bus::Wire::Kind::Event);
    const auto& m = std::get<model::Message>(*wire.event);
    EXPECT_EQ(m.id, 0);
    EXPECT_EQ(m.prev_id, 0);
    EXPECT_EQ(m.room, "general");
    EXPECT_EQ(m.kind, model::MessageKind::Leave);
    EXPECT_EQ(bus::foreign_key(m), bus::foreign_key(m));
    auto other = m;
    other.content = "DISCONNECTION_MESSAGf";
    EXPECT_NE(bus::foreign_key(m), bus::foreign_key(other));
}

TEST(Wire, AwayTravelsInPresenceAndHeartbeatsAndIsAbsentOtherwise) {
    const auto away = bus::encode_event(model::Presence{"bob", true, true}, "n");
    EXPECT_NE(away.find(R"("away":true)"), std::string::npos) << away;
    const auto wire = bus::decode_wire(away);  // holds the event `decoded` refers to
    const auto& decoded = std::get<model::Presence>(*wire.event);
    EXPECT_TRUE(decoded.online);
    EXPECT_TRUE(decoded.away);
    // A node that knows nothing of away sends none: the user is active there.
    const auto active = bus::encode_event(model::Presence{"bob", true}, "n");
    EXPECT_EQ(active.find("away"), std::string::npos) << active;
    EXPECT_FALSE(std::get<model::Presence>(*bus::decode_wire(active).event).away);

    const auto hb = bus::decode_wire(bus::encode_heartbeat("n", {"a", "b"}, {"b"}));
    EXPECT_EQ(hb.away, std::vector<std::string>{"b"});
    EXPECT_EQ(bus::encode_heartbeat("n", {"a"}).find("away"), std::string::npos);
}

TEST(Wire, HeartbeatForwardAndGarbage) {
    auto hb = bus::decode_wire(bus::encode_heartbeat("n", {"a", "b"}));
    EXPECT_EQ(hb.kind, bus::Wire::Kind::Heartbeat);
    EXPECT_EQ(hb.users, (std::vector<std::string>{"a", "b"}));
    model::Message m{1, "general", "a", "x", "", 0, "", model::MessageKind::Text};
    auto fw = bus::decode_wire(bus::encode_forward(m, "n", "bob"));
    EXPECT_EQ(fw.kind, bus::Wire::Kind::Forward);
    EXPECT_EQ(fw.user, "bob");
    EXPECT_EQ(bus::decode_wire("not json").kind, bus::Wire::Kind::Invalid);
    EXPECT_EQ(bus::decode_wire(R"({"type":"nope"})").kind, bus::Wire::Kind::Invalid);
}

model::Message change_of(model::MessageKind kind, std::string content) {
    model::Message m{12,    "dev", "alice", std::move(content), "01/02/2026 03:04:05", 1234,
                     "c12", kind,  11};
    m.target_id = 9;
    m.reply_to = 4;
    return m;
}

TEST(Wire, EveryKindRoundTripsWithItsTargetAndThread) {
    const std::vector<model::Message> messages{
        model::Message{10, "dev", "bob", "yes", "x", 1, "c10", model::MessageKind::Text, 9},
        model::Message{11, "general", "bob", std::string(model::kConnectionMessage), "x", 1, "",
                       model::MessageKind::Join, 10},
        model::Message{12, "general", "bob", std::string(model::kDisconnectionMessage), "x", 1, "",
                       model::MessageKind::Leave, 11},
        change_of(model::MessageKind::Edit, "hi all"),
        change_of(model::MessageKind::Delete, ""),
        change_of(model::MessageKind::React, "\xF0\x9F\x91\x8D"),
        change_of(model::MessageKind::Unreact, "\xF0\x9F\x91\x8D"),
    };
    for (auto m : messages) {
        if (m.kind == model::MessageKind::Text) m.reply_to = 4;  // a reply
        SCOPED_TRACE(std::string(model::kind_name(m.kind)));
        const auto body = bus::encode_event(m, "node-a");
        EXPECT_EQ(boost::json::parse(body).as_object().at("kind").as_string(),
                  model::kind_name(m.kind));
        const auto wire = bus::decode_wire(body);
        ASSERT_EQ(wire.kind, bus::Wire::Kind::Event) << wire.error;
        const auto& back = std::get<model::Message>(*wire.event);
        EXPECT_EQ(back.kind, m.kind);
        EXPECT_EQ(back.id, m.id);
        EXPECT_EQ(back.room, m.room);
        EXPECT_EQ(back.user_name, m.user_name);
        EXPECT_EQ(back.content, m.content);
        EXPECT_EQ(back.ts_ms, m.ts_ms);
        EXPECT_EQ(back.client_msg_id, m.client_msg_id);
        EXPECT_EQ(back.prev_id, m.prev_id);
        EXPECT_EQ(back.target_id, m.target_id);
        EXPECT_EQ(back.reply_to, m.reply_to);
    }
}

TEST(Wire, APlainMessageCarriesNoneOfTheChangeFields) {
    // What the brief's readers of `chat` and of the user queues parse stays as it was.
    model::Message m{
        7, "general", "alice", "hi", "01/02/2026 03:04:05", 123, "c1", model::MessageKind::Text, 5};
    const auto body = boost::json::parse(bus::encode_event(m, "node-a")).as_object();
    for (const auto* key : {"target_id", "reply_to", "edited_ts", "deleted", "reactions",
                            "reply_count", "last_reply_ts", "mentions", "mentions_room"}) {
        EXPECT_FALSE(body.contains(key)) << key;
    }
}

TEST(Wire, FoldedStateDecodesWhenPresent) {
    model::Message m{7, "dev", "alice", "", "x", 123, "c1", model::MessageKind::Text, 5};
    m.edited_ms = 200;
    m.deleted = true;
    m.reactions = {{"\xF0\x9F\x91\x8D", {"bob", "carol"}}, {"\xF0\x9F\x8E\x89", {"alice"}}};
    m.reply_count = 3;
    m.last_reply_ms = 300;
    m.content = "kept";  // the codec does not apply the fold's rules
    const auto wire = bus::decode_wire(bus::encode_event(m, "node-a"));
    ASSERT_EQ(wire.kind, bus::Wire::Kind::Event) << wire.error;
    const auto& back = std::get<model::Message>(*wire.event);
    EXPECT_EQ(back.edited_ms, 200);
    EXPECT_TRUE(back.deleted);
    EXPECT_EQ(back.reactions, m.reactions);
    EXPECT_EQ(back.reply_count, 3);
    EXPECT_EQ(back.last_reply_ms, 300);
}

TEST(Wire, MentionsTravelWithTheirMessage) {
    model::Message m{7, "dev", "alice", "@bob @room", "x", 123, "c1", model::MessageKind::Text, 5};
    m.mentions = {"bob", "zo\xC3\xAB"};
    m.mentions_room = true;
    const auto wire = bus::decode_wire(bus::encode_event(m, "node-a"));
    ASSERT_EQ(wire.kind, bus::Wire::Kind::Event) << wire.error;
    const auto& back = std::get<model::Message>(*wire.event);
    EXPECT_EQ(back.mentions, m.mentions);
    EXPECT_TRUE(back.mentions_room);
    // A foreign body names nobody: the receiving node finds the mentions when it stores it.
    const auto foreign = bus::decode_wire(
        R"({"content":"@bob","user_name":"carol","sent_at":"x","mentions":["bob"]})");
    ASSERT_EQ(foreign.kind, bus::Wire::Kind::Event) << foreign.error;
    EXPECT_TRUE(std::get<model::Message>(*foreign.event).mentions.empty());
}

TEST(Wire, AChangeInAForwardRoundTrips) {
    const auto m = change_of(model::MessageKind::Delete, "");
    const auto wire = bus::decode_wire(bus::encode_forward(m, "n", "bob"));
    ASSERT_EQ(wire.kind, bus::Wire::Kind::Forward) << wire.error;
    const auto& back = std::get<model::Message>(*wire.event);
    EXPECT_EQ(back.kind, model::MessageKind::Delete);
    EXPECT_EQ(back.target_id, 9);
}

TEST(Wire, BodiesThatAreNoMessageDecodeAsInvalidWithAReason) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {R"({"type":"message","id":5,"user_name":"a","content":"x","kind":"poll"})",
         "unknown kind"},
        {R"({"type":"message","id":5,"user_name":"a","content":"x","kind":7})", "unknown kind"},
        {R"({"type":"forward","user":"b","message":{"id":5,"user_name":"a","content":"x","kind":"nope"}})",
         "forward: unknown kind"},
        // A change is only ever a stored row: an AMQP client cannot publish one.
        {R"({"user_name":"a","content":"x","kind":"edit","target_id":3})", "a change without id"},
        {R"({"id":5,"user_name":"a","content":"x","kind":"edit"})", "a change without target_id"},
        {R"({"id":5,"user_name":"a","content":"","kind":"react","target_id":3})", "no content"},
        {R"({"id":5,"user_name":"a","content":"","kind":"text"})", "no content"},
        {R"({"id":5,"content":"x","kind":"text"})", "no user_name"},
    };
    for (const auto& [body, why] : cases) {
        const auto wire = bus::decode_wire(body);
        EXPECT_EQ(wire.kind, bus::Wire::Kind::Invalid) << body;
        EXPECT_EQ(wire.error, why) << body;
    }
    // A delete is the one row without content.
    EXPECT_EQ(
        bus::decode_wire(R"({"id":5,"user_name":"a","content":"","kind":"delete","target_id":3})")
            .kind,
        bus::Wire::Kind::Event);
}

TEST(Wire, AForeignBodyKeepsOnlyTheBriefsFields) {
    const auto wire = bus::decode_wire(
        R"({"content":"hi","user_name":"bob","sent_at":"x","reply_to":3,"deleted":true})");
    ASSERT_EQ(wire.kind, bus::Wire::Kind::Event) << wire.error;
    const auto& m = std::get<model::Message>(*wire.event);
    EXPECT_EQ(m.id, 0);
    EXPECT_EQ(m.reply_to, 0);
    EXPECT_FALSE(m.deleted);
    EXPECT_EQ(m.kind, model::MessageKind::Text);
}

TEST(PresenceDirectory, MergesNodesAndExpiresSilentOnes) {
    bus::PresenceDirectory dir(6s);
    const auto t0 = bus::PresenceDirectory::Clock::time_point{};
    dir.heartbeat("a", {"alice", "bob"}, t0);
    dir.user_online("b", "bob", t0 + 1s);
    dir.user_online("b", "carol", t0 + 1s);
    EXPECT_EQ(dir.users(), (std::vector<std::string>{"alice", "bob", "carol"}));
    dir.user_offline("b", "carol", t0 + 2s);
    EXPECT_FALSE(dir.online("carol"));
    EXPECT_TRUE(dir.expire(t0 + 5s).empty());
    // Node a silent for more than 6 s: alice goes, bob stays (still on b).
    dir.heartbeat("b", {"bob"}, t0 + 6s);
    EXPECT_EQ(dir.expire(t0 + 7s), (std::vector<std::string>{"alice"}));
    EXPECT_EQ(dir.users(), (std::vector<std::string>{"bob"}));
    EXPECT_EQ(dir.node_count(), 1u);
}

}  // namespace
