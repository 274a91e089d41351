// The pure parts of the RabbitMQ bus: body codec, presence directory.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

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
