#include "chat/hub.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "chat/codec.hpp"
#include "metrics/metrics.hpp"
#include "support/recording_sink.hpp"

namespace {

using namespace chatd;
namespace json = boost::json;
using chat::CloseCode;
using chat::Hub;
using chat::Protocol;
using test_support::RecordingSink;

std::int64_t message_ids = 0;

model::Message message_in(std::string room,
                          std::string user = "alice",
                          std::string content = "hello") {
    model::Message message;
    message.id = ++message_ids;
    message.room = std::move(room);
    message.user_name = std::move(user);
    message.content = std::move(content);
    message.sent_at = "27/11/2026 21:51:18";
    message.ts_ms = 1795816278000;
    message.client_msg_id = "c-" + std::to_string(message.id);
    message.kind = chat::kind_of_content(message.content);
    return message;
}

std::vector<json::value> parsed(const RecordingSink& sink) {
    std::vector<json::value> out;
    for (const auto& text : sink.texts()) out.push_back(json::parse(text));
    return out;
}

std::vector<std::string> types(const RecordingSink& sink) {
    std::vector<std::string> out;
    for (const auto& frame : parsed(sink)) out.emplace_back(frame.at("type").as_string());
    return out;
}

std::set<std::string> keys_of(const json::value& value) {
    std::set<std::string> keys;
    for (const auto& [key, item] : value.as_object()) keys.emplace(key);
    return keys;
}

class HubTest : public ::testing::Test {
  protected:
    struct Client {
        chat::ConnectionId id;
        std::shared_ptr<RecordingSink> sink;
    };

    Client attach(const std::string& user,
                  const std::vector<std::string>& rooms = {},
                  Protocol protocol = Protocol::Native,
                  const std::string& session = {}) {
        auto sink = std::make_shared<RecordingSink>();
        const auto attached = hub.attach(user, protocol, sink, rooms, session);
        return Client{attached.id, sink};
    }
    Client attach_seed(const std::string& user, const std::string& session = {}) {
        return attach(user, {}, Protocol::Seed, session);
    }

    metrics::Metrics metrics{"test"};
    Hub hub{metrics};
};

// ---------------------------------------------------------------------------------------------
// Connections and presence bookkeeping

TEST_F(HubTest, AUsersFirstConnectionComesOnlineAndLaterOnesDoNot) {
    auto sink = std::make_shared<RecordingSink>();
    EXPECT_TRUE(hub.attach("alice", Protocol::Native, sink, {}).user_came_online);
    EXPECT_FALSE(hub.attach("alice", Protocol::Native, sink, {}).user_came_online);
    EXPECT_FALSE(hub.attach("alice", Protocol::Seed, sink, {}).user_came_online);
    EXPECT_TRUE(hub.attach("bob", Protocol::Seed, sink, {}).user_came_online);
}

TEST_F(HubTest, ConnectionsGetDistinctIds) {
    const auto a = attach("alice");
    const auto b = attach("alice");
    const auto c = attach("bob");
    EXPECT_NE(a.id, b.id);
    EXPECT_NE(b.id, c.id);
    EXPECT_NE(a.id, c.id);
    EXPECT_EQ(hub.connection_count(), 3u);
}

TEST_F(HubTest, DetachReportsOnlyTheUsersLastConnection) {
    const auto a = attach("alice");
    const auto b = attach_seed("alice");
    EXPECT_FALSE(hub.detach(a.id).user_went_offline);
    EXPECT_TRUE(hub.is_online("alice"));
    EXPECT_TRUE(hub.detach(b.id).user_went_offline);
    EXPECT_FALSE(hub.is_online("alice"));
    EXPECT_EQ(hub.connection_count(), 0u);
}

TEST_F(HubTest, DetachingAnUnknownOrAlreadyDetachedConnectionReportsNothing) {
    const auto a = attach("alice");
    EXPECT_FALSE(hub.detach(a.id + 1000).user_went_offline);
    EXPECT_TRUE(hub.detach(a.id).user_went_offline);
    EXPECT_FALSE(hub.detach(a.id).user_went_offline);
}

// ---------------------------------------------------------------------------------------------
// Away status: a user is away here when every connection of theirs here is away

TEST_F(HubTest, AUserIsAwayOnlyWhenAllTheirConnectionsAreAway) {
    const auto a = attach("alice");
    const auto b = attach("alice");
    EXPECT_EQ(hub.availability("alice"), model::Availability::Online);
    EXPECT_FALSE(hub.set_away(a.id, true));  // b is still active
    EXPECT_EQ(hub.availability("alice"), model::Availability::Online);
    EXPECT_TRUE(hub.set_away(b.id, true));
    EXPECT_EQ(hub.availability("alice"), model::Availability::Away);
    EXPECT_EQ(hub.away_users(), std::vector<std::string>{"alice"});
    EXPECT_FALSE(hub.set_away(b.id, true));  // no change
    EXPECT_TRUE(hub.set_away(a.id, false));  // one back is enough
    EXPECT_EQ(hub.availability("alice"), model::Availability::Online);
    EXPECT_TRUE(hub.away_users().empty());
    EXPECT_EQ(hub.availability("nobody"), model::Availability::Offline);
}

TEST_F(HubTest, ANewConnectionStartsActiveAndBringsAnAwayUserBack) {
    const auto a = attach("alice");
    EXPECT_TRUE(hub.set_away(a.id, true));
    auto sink = std::make_shared<RecordingSink>();
    const auto attached = hub.attach("alice", Protocol::Native, sink, {});
    EXPECT_FALSE(attached.user_came_online);
    EXPECT_TRUE(attached.user_came_back);
    EXPECT_EQ(hub.availability("alice"), model::Availability::Online);
    EXPECT_FALSE(hub.attach("alice", Protocol::Native, sink, {}).user_came_back);
}

TEST_F(HubTest, ClosingTheActiveConnectionLeavesTheUserAwayWhenTheOthersAre) {
    const auto away = attach("alice");
    const auto active = attach("alice");
    hub.set_away(away.id, true);
    const auto detached = hub.detach(active.id);
    EXPECT_FALSE(detached.user_went_offline);
    EXPECT_TRUE(detached.user_went_away);
    EXPECT_EQ(hub.availability("alice"), model::Availability::Away);
    // The last one closes: offline, and no longer counted away.
    const auto last = hub.detach(away.id);
    EXPECT_TRUE(last.user_went_offline);
    EXPECT_TRUE(last.away_user_left);
    EXPECT_EQ(hub.availability("alice"), model::Availability::Offline);
    EXPECT_TRUE(hub.away_users().empty());
}

TEST_F(HubTest, ClosingAnAwayConnectionChangesNothingWhileAnotherIsActive) {
    const auto away = attach("alice");
    attach("alice");
    hub.set_away(away.id, true);
    const auto detached = hub.detach(away.id);
    EXPECT_FALSE(detached.user_went_away);
    EXPECT_FALSE(detached.user_went_offline);
    EXPECT_EQ(hub.availability("alice"), model::Availability::Online);
}

TEST_F(HubTest, ASeedConnectionKeepsItsUserActive) {
    const auto native = attach("alice");
    attach_seed("alice");
    EXPECT_FALSE(hub.set_away(native.id, true));
    EXPECT_EQ(hub.availability("alice"), model::Availability::Online);
}

TEST_F(HubTest, AUserComesOnlineAgainAfterTheLastConnectionLeft) {
    const auto a = attach("alice");
    hub.detach(a.id);
    auto sink = std::make_shared<RecordingSink>();
    EXPECT_TRUE(hub.attach("alice", Protocol::Native, sink, {}).user_came_online);
}

TEST_F(HubTest, OnlineUsersAreSortedAndUnique) {
    attach("carol");
    attach("alice");
    const auto bob = attach_seed("bob");
    attach("alice");
    EXPECT_EQ(hub.online_users(), (std::vector<std::string>{"alice", "bob", "carol"}));
    hub.detach(bob.id);
    EXPECT_EQ(hub.online_users(), (std::vector<std::string>{"alice", "carol"}));
}

TEST_F(HubTest, ALimitedOnlineListHoldsTheFirstNamesInOrder) {
    attach("dave");
    const auto bob = attach("bob");
    attach("carol");
    attach("alice");
    EXPECT_EQ(hub.online_users(2), (std::vector<std::string>{"alice", "bob"}));
    hub.detach(bob.id);
    EXPECT_EQ(hub.online_users(2), (std::vector<std::string>{"alice", "carol"}));
    attach("bob");
    EXPECT_EQ(hub.online_users(3), (std::vector<std::string>{"alice", "bob", "carol"}));
    EXPECT_EQ(hub.online_users(0), (std::vector<std::string>{}));
}

TEST_F(HubTest, OnlineUsersIsEmptyWithoutConnections) {
    EXPECT_TRUE(hub.online_users().empty());
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

TEST_F(HubTest, NativeConnectionsSubscribeToTheirRoomsAndGeneral) {
    const auto a = attach("alice", {"rust"});
    EXPECT_TRUE(hub.is_subscribed(a.id, "general"));
    EXPECT_TRUE(hub.is_subscribed(a.id, "rust"));
    EXPECT_FALSE(hub.is_subscribed(a.id, "go"));
}

TEST_F(HubTest, SeedConnectionsSubscribeToGeneralOnly) {
    const auto a = attach("alice", {"rust"}, Protocol::Seed);
    EXPECT_TRUE(hub.is_subscribed(a.id, "general"));
    EXPECT_FALSE(hub.is_subscribed(a.id, "rust"));
}

TEST_F(HubTest, UnknownOrDetachedConnectionsAreSubscribedToNothing) {
    const auto a = attach("alice");
    EXPECT_FALSE(hub.is_subscribed(a.id + 1000, "general"));
    hub.detach(a.id);
    EXPECT_FALSE(hub.is_subscribed(a.id, "general"));
}

// ---------------------------------------------------------------------------------------------
// Messages

TEST_F(HubTest, AMessageReachesEveryNativeSubscriberOfItsRoomOnce) {
    const auto alice1 = attach("alice", {"rust"});
    const auto alice2 = attach("alice", {"rust"});
    const auto bob = attach("bob", {"rust", "go"});
    const auto carol = attach("carol", {"go"});

    const auto message = message_in("rust");
    hub.deliver(message);

    for (const auto* client : {&alice1, &alice2, &bob}) {
        const auto frames = parsed(*client->sink);
        ASSERT_EQ(frames.size(), 1u);
        EXPECT_EQ(frames[0].at("type"), "message");
        EXPECT_EQ(frames[0].at("message").at("id"), message.id);
        EXPECT_EQ(frames[0].at("message").at("room"), "rust");
    }
    EXPECT_EQ(carol.sink->frame_count(), 0u);
}

TEST_F(HubTest, AMessageInGeneralReachesEveryConnection) {
    const auto alice = attach("alice");
    const auto bob = attach("bob", {"rust"});
    const auto carol = attach_seed("carol");
    hub.deliver(message_in("general"));
    EXPECT_EQ(alice.sink->frame_count(), 1u);
    EXPECT_EQ(bob.sink->frame_count(), 1u);
    EXPECT_EQ(carol.sink->frame_count(), 1u);
}

TEST_F(HubTest, AMessageInARoomNobodyIsInReachesNobody) {
    const auto alice = attach("alice");
    hub.deliver(message_in("empty-room"));
    EXPECT_EQ(alice.sink->frame_count(), 0u);
    EXPECT_EQ(metrics.messages_delivered.Value(), 0.0);
}

TEST_F(HubTest, ADetachedConnectionReceivesNothing) {
    const auto alice = attach("alice", {"rust"});
    hub.detach(alice.id);
    hub.deliver(message_in("general"));
    hub.deliver(message_in("rust"));
    hub.deliver(model::Presence{"bob", true});
    EXPECT_EQ(alice.sink->frame_count(), 0u);
}

TEST_F(HubTest, SeedConnectionsGetTheSeedFormatForGeneral) {
    const auto seed = attach_seed("dave");
    const auto message = message_in("general", "alice", "hi there");
    hub.deliver(message);
    const auto frames = parsed(*seed.sink);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(keys_of(frames[0]), (std::set<std::string>{"content", "user_name", "sent_at"}));
    EXPECT_EQ(frames[0].at("content"), "hi there");
    EXPECT_EQ(frames[0].at("user_name"), "alice");
    EXPECT_EQ(frames[0].at("sent_at"), json::value(message.sent_at));
}

TEST_F(HubTest, SeedConnectionsGetNothingFromOtherRooms) {
    const auto seed = attach("dave", {"rust"}, Protocol::Seed);
    hub.deliver(message_in("rust"));
    EXPECT_EQ(seed.sink->frame_count(), 0u);
}

TEST_F(HubTest, AllNativeRecipientsShareOneEncodedFrameObject) {
    const auto alice = attach("alice");
    const auto bob = attach("bob");
    const auto carol = attach("carol");
    const auto seed1 = attach_seed("dave");
    const auto seed2 = attach_seed("erin");
    hub.deliver(message_in("general"));

    const auto native = alice.sink->frames().at(0);
    EXPECT_EQ(bob.sink->frames().at(0).get(), native.get());
    EXPECT_EQ(carol.sink->frames().at(0).get(), native.get());
    const auto seed = seed1.sink->frames().at(0);
    EXPECT_EQ(seed2.sink->frames().at(0).get(), seed.get());
    EXPECT_NE(seed.get(), native.get());
}

TEST_F(HubTest, MessagesArriveInDeliveryOrder) {
    const auto alice = attach("alice");
    std::vector<model::MessageId> sent;
    for (int i = 0; i < 5; ++i) {
        const auto message = message_in("general");
        sent.push_back(message.id);
        hub.deliver(message);
    }
    std::vector<model::MessageId> received;
    for (const auto& frame : parsed(*alice.sink)) {
        received.push_back(frame.at("message").at("id").as_int64());
    }
    EXPECT_EQ(received, sent);
}

TEST_F(HubTest, DeliveredMessagesMetricCountsRecipients) {
    attach("alice", {"rust"});
    attach("alice", {"rust"});
    attach("bob", {"rust"});
    attach("carol");
    hub.deliver(message_in("rust"));
    EXPECT_EQ(metrics.messages_delivered.Value(), 3.0);
    hub.deliver(message_in("general"));
    EXPECT_EQ(metrics.messages_delivered.Value(), 7.0);
}

TEST_F(HubTest, ALeaveMessageClosesThatUsersSeedConnectionsNormally) {
    const auto seed1 = attach_seed("alice");
    const auto seed2 = attach_seed("alice");
    const auto native = attach("alice");
    const auto other_seed = attach_seed("bob");

    hub.deliver(message_in("general", "alice", std::string(chat::kDisconnectionMessage)));

    for (const auto* seed : {&seed1, &seed2}) {
        const auto closes = seed->sink->closes();
        ASSERT_EQ(closes.size(), 1u);
        EXPECT_EQ(closes[0].code, CloseCode::Normal);
        // The notice itself is delivered before the stream ends, and sent before the close.
        EXPECT_TRUE(closes[0].after_queued);
        ASSERT_EQ(seed->sink->frame_count(), 1u);
        EXPECT_EQ(parsed(*seed->sink)[0].at("content"), "DISCONNECTION_MESSAGE");
    }
    EXPECT_FALSE(native.sink->closed());
    EXPECT_EQ(parsed(*native.sink).at(0).at("message").at("kind"), "leave");
    EXPECT_FALSE(other_seed.sink->closed());
    EXPECT_EQ(other_seed.sink->frame_count(), 1u);
}

TEST_F(HubTest, ALeaveDeliveredForAnotherUserDoesNotCloseTheLeaver) {
    // Per-user queues: each recipient's copy arrives on its own; only the leaver's own copy,
    // which carries their notice, ends their stream.
    const auto leaver = attach_seed("alice");
    const auto other = attach_seed("bob");
    const auto leave = message_in("general", "alice", std::string(chat::kDisconnectionMessage));

    hub.deliver(leave, "bob");
    EXPECT_FALSE(leaver.sink->closed());
    EXPECT_EQ(leaver.sink->frame_count(), 0u);
    EXPECT_EQ(other.sink->frame_count(), 1u);

    hub.deliver(leave, "alice");
    ASSERT_EQ(leaver.sink->frame_count(), 1u);
    ASSERT_EQ(leaver.sink->closes().size(), 1u);
    EXPECT_TRUE(leaver.sink->closes()[0].after_queued);
    EXPECT_FALSE(other.sink->closed());
}

TEST_F(HubTest, OrdinaryAndJoinMessagesCloseNothing) {
    const auto seed = attach_seed("alice");
    hub.deliver(message_in("general", "alice", "bye"));
    hub.deliver(message_in("general", "alice", std::string(chat::kConnectionMessage)));
    EXPECT_FALSE(seed.sink->closed());
    EXPECT_EQ(seed.sink->frame_count(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Typing and presence

TEST_F(HubTest, TypingReachesTheRoomsOtherNativeMembersButNotTheTyper) {
    const auto alice1 = attach("alice", {"rust"});
    const auto alice2 = attach("alice", {"rust"});
    const auto bob = attach("bob", {"rust"});
    const auto carol = attach("carol");
    const auto seed = attach_seed("dave");

    hub.deliver(model::Typing{"rust", "alice"});

    EXPECT_EQ(alice1.sink->frame_count(), 0u);
    EXPECT_EQ(alice2.sink->frame_count(), 0u);
    EXPECT_EQ(carol.sink->frame_count(), 0u);
    EXPECT_EQ(seed.sink->frame_count(), 0u);
    const auto frames = parsed(*bob.sink);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0], json::parse(R"({"type":"typing","room":"rust","user_name":"alice"})"));
}

TEST_F(HubTest, TypingInGeneralSkipsSeedConnections) {
    const auto bob = attach("bob");
    const auto seed = attach_seed("dave");
    hub.deliver(model::Typing{"general", "alice"});
    EXPECT_EQ(bob.sink->frame_count(), 1u);
    EXPECT_EQ(seed.sink->frame_count(), 0u);
}

TEST_F(HubTest, TypingAndPresenceSkipAConnectionPastTheEphemeralQueueLimitButMessagesDoNot) {
    hub.set_ephemeral_queue_limit(1000);
    const auto typist = attach("alice");
    const auto at_limit = attach("bob");
    const auto past_limit = attach("carol");
    at_limit.sink->set_queued_bytes(1000);
    past_limit.sink->set_queued_bytes(1001);

    hub.deliver(model::Typing{"general", "alice"});
    hub.deliver(model::Presence{"dave", true});
    EXPECT_EQ(types(*at_limit.sink), (std::vector<std::string>{"typing", "presence"}));
    EXPECT_EQ(past_limit.sink->frame_count(), 0u);
    const auto text = metrics.serialize();
    EXPECT_NE(text.find(R"(chat_limit_hits_total{kind="ephemeral_dropped"} 2)"), std::string::npos)
        << text;

    // A message is never dropped here: the outbox limit decides about the connection.
    hub.deliver(message_in("general", "alice", "hello"));
    EXPECT_EQ(types(*past_limit.sink), (std::vector<std::string>{"message"}));
    EXPECT_EQ(typist.sink->frame_count(), 2u);  // presence and the message, not its own typing
}

TEST_F(HubTest, AProfileChangeReachesEveryNativeConnectionButNoSeedNorBackedUpOne) {
    hub.set_ephemeral_queue_limit(1000);
    const auto alice = attach("alice");
    const auto bob = attach("bob", {"rust"});
    const auto seed = attach_seed("dave");
    const auto past_limit = attach("carol");
    past_limit.sink->set_queued_bytes(1001);
    hub.deliver(model::ProfileChanged{"erin", "Erin E"});
    for (const auto* client : {&alice, &bob}) {
        const auto frames = parsed(*client->sink);
        ASSERT_EQ(frames.size(), 1u);
        EXPECT_EQ(
            frames[0],
            json::parse(
                R"({"type":"profile","person":{"user_name":"erin","display_name":"Erin E"}})"));
    }
    EXPECT_EQ(seed.sink->frame_count(), 0u);
    EXPECT_EQ(past_limit.sink->frame_count(), 0u);
    const auto text = metrics.serialize();
    EXPECT_NE(text.find(R"(chat_limit_hits_total{kind="ephemeral_dropped"} 1)"), std::string::npos)
        << text;
}

TEST_F(HubTest, PresenceReachesEveryNativeConnectionButNoSeedConnection) {
    const auto alice = attach("alice");
    const auto bob = attach("bob", {"rust"});
    const auto seed = attach_seed("dave");
    hub.deliver(model::Presence{"carol", true});
    for (const auto* client : {&alice, &bob}) {
        const auto frames = parsed(*client->sink);
        ASSERT_EQ(frames.size(), 1u);
        EXPECT_EQ(frames[0], json::parse(R"({"type":"presence","user_name":"carol","online":true,)"
                                         R"("status":"online"})"));
    }
    EXPECT_EQ(seed.sink->frame_count(), 0u);
    EXPECT_EQ(alice.sink->frames().at(0).get(), bob.sink->frames().at(0).get());
}

// ---------------------------------------------------------------------------------------------
// Read state

TEST_F(HubTest, AMovedReadMarkGoesToEveryNativeConnectionOfItsUserOnly) {
    const auto alice1 = attach("alice");
    const auto alice2 = attach("alice", {"rust"});
    const auto alice_seed = attach_seed("alice");
    const auto bob = attach("bob");

    hub.deliver(model::ReadMoved{"alice", model::ReadState{"general", 7, 3, false, 10, 1}});

    const auto expected = json::parse(
        R"({"type":"read_state","room":"general","last_read_id":7,"unread":3,"as_of":10,)"
        R"("mentions":1})");
    for (const auto* client : {&alice1, &alice2}) {
        const auto frames = parsed(*client->sink);
        ASSERT_EQ(frames.size(), 1u);
        EXPECT_EQ(frames[0], expected);
    }
    EXPECT_EQ(alice_seed.sink->frame_count(), 0u);
    EXPECT_EQ(bob.sink->frame_count(), 0u);
    // A user with no connection here: nothing to do.
    hub.deliver(model::ReadMoved{"carol", model::ReadState{"general", 7, 0, false, 7}});
}

TEST_F(HubTest, AChangedNotifyLevelGoesToEveryNativeConnectionOfItsUserOnly) {
    const auto alice1 = attach("alice");
    const auto alice2 = attach("alice");
    const auto alice_seed = attach_seed("alice");
    const auto bob = attach("bob");

    hub.deliver(model::NotifyChanged{"alice", {"general", model::NotifyLevel::Muted}});

    const auto expected = json::parse(R"({"type":"notify","room":"general","level":"muted"})");
    for (const auto* client : {&alice1, &alice2}) {
        const auto frames = parsed(*client->sink);
        ASSERT_EQ(frames.size(), 1u);
        EXPECT_EQ(frames[0], expected);
    }
    EXPECT_EQ(alice_seed.sink->frame_count(), 0u);
    EXPECT_EQ(bob.sink->frame_count(), 0u);
}

// ---------------------------------------------------------------------------------------------
// Membership

TEST_F(HubTest, JoiningSubscribesEveryNativeConnectionOfTheUser) {
    const auto alice1 = attach("alice");
    const auto alice2 = attach("alice");
    const auto alice_seed = attach_seed("alice");
    const auto bob = attach("bob", {"rust"});
    const auto carol = attach("carol");

    hub.deliver(model::Membership{"rust", "alice", true});

    EXPECT_TRUE(hub.is_subscribed(alice1.id, "rust"));
    EXPECT_TRUE(hub.is_subscribed(alice2.id, "rust"));
    EXPECT_FALSE(hub.is_subscribed(alice_seed.id, "rust"));
    const auto expected =
        json::parse(R"({"type":"membership","room":"rust","user_name":"alice","joined":true})");
    for (const auto* client : {&alice1, &alice2, &bob}) {
        const auto frames = parsed(*client->sink);
        ASSERT_EQ(frames.size(), 1u);
        EXPECT_EQ(frames[0], expected);
    }
    EXPECT_EQ(carol.sink->frame_count(), 0u);
    EXPECT_EQ(alice_seed.sink->frame_count(), 0u);

    hub.deliver(message_in("rust", "bob"));
    EXPECT_EQ(types(*alice1.sink), (std::vector<std::string>{"membership", "message"}));
    EXPECT_EQ(types(*alice2.sink), (std::vector<std::string>{"membership", "message"}));
    EXPECT_EQ(alice_seed.sink->frame_count(), 0u);
}

TEST_F(HubTest, JoiningARoomTwiceSubscribesOnce) {
    const auto alice = attach("alice");
    hub.deliver(model::Membership{"rust", "alice", true});
    hub.deliver(model::Membership{"rust", "alice", true});
    alice.sink->clear();
    hub.deliver(message_in("rust", "bob"));
    EXPECT_EQ(alice.sink->frame_count(), 1u);
    EXPECT_EQ(metrics.messages_delivered.Value(), 1.0);
}

TEST_F(HubTest, AMembershipOfAnOfflineUserOnlyTellsTheRoom) {
    const auto bob = attach("bob", {"rust"});
    hub.deliver(model::Membership{"rust", "alice", true});
    EXPECT_EQ(types(*bob.sink), (std::vector<std::string>{"membership"}));
    EXPECT_EQ(hub.online_users(), (std::vector<std::string>{"bob"}));
}

TEST_F(HubTest, LeavingTellsTheRoomAndTheLeaverThenUnsubscribes) {
    const auto alice1 = attach("alice", {"rust"});
    const auto alice2 = attach("alice", {"rust"});
    const auto bob = attach("bob", {"rust"});

    hub.deliver(model::Membership{"rust", "alice", false});

    const auto expected =
        json::parse(R"({"type":"membership","room":"rust","user_name":"alice","joined":false})");
    for (const auto* client : {&alice1, &alice2, &bob}) {
        const auto frames = parsed(*client->sink);
        ASSERT_EQ(frames.size(), 1u);
        EXPECT_EQ(frames[0], expected);
    }
    EXPECT_FALSE(hub.is_subscribed(alice1.id, "rust"));
    EXPECT_FALSE(hub.is_subscribed(alice2.id, "rust"));
    EXPECT_TRUE(hub.is_subscribed(bob.id, "rust"));

    hub.deliver(message_in("rust", "bob"));
    EXPECT_EQ(alice1.sink->frame_count(), 1u);
    EXPECT_EQ(alice2.sink->frame_count(), 1u);
    EXPECT_EQ(bob.sink->frame_count(), 2u);
}

// ---------------------------------------------------------------------------------------------
// Sessions and closing

TEST_F(HubTest, HasOtherSessionSeesOnlyNativeConnectionsOfOtherSessions) {
    attach("alice", {}, Protocol::Native, "s1");
    attach("bob", {}, Protocol::Seed, "s2");
    EXPECT_FALSE(hub.has_other_session("alice", "s1"));
    EXPECT_TRUE(hub.has_other_session("alice", "s9"));
    EXPECT_TRUE(hub.has_other_session("alice", ""));
    EXPECT_FALSE(hub.has_other_session("bob", "s9"));
    EXPECT_FALSE(hub.has_other_session("nobody", "s1"));
}

TEST_F(HubTest, CloseSessionClosesOnlyThatSessionsConnections) {
    const auto a1 = attach("alice", {}, Protocol::Native, "s1");
    const auto a2 = attach_seed("alice", "s1");
    const auto a3 = attach("alice", {}, Protocol::Native, "s2");
    const auto bob = attach("bob", {}, Protocol::Native, "s3");

    hub.close_session("s1", CloseCode::Policy, "signed out");

    for (const auto* client : {&a1, &a2}) {
        const auto closes = client->sink->closes();
        ASSERT_EQ(closes.size(), 1u);
        EXPECT_EQ(closes[0].code, CloseCode::Policy);
        EXPECT_EQ(closes[0].reason, "signed out");
    }
    EXPECT_FALSE(a3.sink->closed());
    EXPECT_FALSE(bob.sink->closed());
}

TEST_F(HubTest, AnEndedSessionsEventClosesEachOfThoseSessionsConnections) {
    const auto a1 = attach("alice", {}, Protocol::Native, "s1");
    const auto a2 = attach("alice", {}, Protocol::Native, "s2");
    const auto a3 = attach("alice", {}, Protocol::Native, "s3");

    hub.deliver(model::SessionsEnded{{"s1", "s2", "unknown"}, "signed out everywhere"});

    for (const auto* client : {&a1, &a2}) {
        const auto closes = client->sink->closes();
        ASSERT_EQ(closes.size(), 1u);
        EXPECT_EQ(closes[0].code, CloseCode::Policy);
        EXPECT_EQ(closes[0].reason, "signed out everywhere");
    }
    EXPECT_FALSE(a3.sink->closed());
}

TEST_F(HubTest, CloseAllClosesEveryConnection) {
    const auto a = attach("alice");
    const auto b = attach_seed("bob");
    hub.close_all(CloseCode::Restarting, "restarting");
    for (const auto* client : {&a, &b}) {
        const auto closes = client->sink->closes();
        ASSERT_EQ(closes.size(), 1u);
        EXPECT_EQ(closes[0].code, CloseCode::Restarting);
    }
}

// ---------------------------------------------------------------------------------------------
// Concurrency

TEST_F(HubTest, AConnectionGetsEveryMessageOnceWhileOthersAttachAndDetachConcurrently) {
    const auto steady = attach("steady");
    constexpr int kMessages = 2000;
    std::atomic<bool> done{false};
    std::thread churn([&] {
        int round = 0;
        while (!done.load()) {
            auto sink = std::make_shared<RecordingSink>();
            const auto attached =
                hub.attach("churn-" + std::to_string(round % 7), Protocol::Native, sink, {"rust"});
            hub.deliver(model::Membership{"go", "churn-" + std::to_string(round % 7), true});
            hub.detach(attached.id);
            ++round;
        }
    });
    for (int i = 0; i < kMessages; ++i) hub.deliver(message_in("general", "bob"));
    done = true;
    churn.join();

    const auto frames = parsed(*steady.sink);
    int messages = 0;
    for (const auto& frame : frames) messages += frame.at("type") == "message" ? 1 : 0;
    EXPECT_EQ(messages, kMessages);
    EXPECT_EQ(hub.online_users(), (std::vector<std::string>{"steady"}));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Delivery by shard (the network layer's I/O threads)

namespace {

// Queues each shard's work until run() (a real runner runs it on the shard's thread).
class QueueingShardRunner final : public chat::ShardRunner {
  public:
    explicit QueueingShardRunner(std::size_t shards) : queues_(shards) {}
    std::size_t shard_count() const override { return queues_.size(); }
    void run_on(std::size_t shard, std::function<void()> work) override {
        queues_.at(shard).push_back(std::move(work));
    }
    bool has_queued_work(std::size_t shard) const override { return !queues_.at(shard).empty(); }
    std::size_t queued(std::size_t shard) const { return queues_.at(shard).size(); }
    void run() {
        for (auto& queue : queues_) {
            while (!queue.empty()) {
                auto work = std::move(queue.front());
                queue.erase(queue.begin());
                work();
            }
        }
    }

  private:
    std::vector<std::vector<std::function<void()>>> queues_;
};

}  // namespace

class ShardedHubTest : public HubTest {
  protected:
    Client attach_on(std::size_t shard,
                     const std::string& user,
                     Protocol protocol = Protocol::Native) {
        auto sink = std::make_shared<RecordingSink>();
        sink->set_shard(shard);
        const auto attached = hub.attach(user, protocol, sink, {});
        return Client{attached.id, sink};
    }
    void SetUp() override { hub.set_shard_runner(runner); }

    std::shared_ptr<QueueingShardRunner> runner = std::make_shared<QueueingShardRunner>(3);
};

TEST_F(ShardedHubTest, AMessageIsOneRunPerShardThatDeliversToEachOfItsConnections) {
    const std::vector<Client> clients{attach_on(0, "a"), attach_on(1, "b"), attach_on(1, "c"),
                                      attach_on(2, "d"), attach_on(0, "e", Protocol::Seed)};
    hub.deliver(message_in("general"));
    EXPECT_EQ(runner->queued(0), 1u);
    EXPECT_EQ(runner->queued(1), 1u);
    EXPECT_EQ(runner->queued(2), 1u);
    for (const auto& c : clients) EXPECT_EQ(c.sink->frame_count(), 0u) << "nothing before the run";

    runner->run();
    for (const auto& c : clients) EXPECT_EQ(c.sink->delivered_on_shard(), 1u);
    EXPECT_EQ(clients[1].sink->frames().at(0).get(), clients[0].sink->frames().at(0).get());
    EXPECT_EQ(parsed(*clients[4].sink).at(0).as_object().count("type"), 0u) << "the seed format";
    EXPECT_EQ(metrics.messages_delivered.Value(), 5.0);
}

// The brief's /receive streams see no room changes: they are neither sent one nor counted.
TEST_F(ShardedHubTest, AChangeReachesNativeConnectionsOnlyAndCountsThem) {
    const std::vector<Client> clients{attach_on(0, "a"), attach_on(1, "b"),
                                      attach_on(1, "s", Protocol::Seed)};
    auto edit = message_in("general");
    edit.kind = model::MessageKind::Edit;
    edit.target_id = edit.id - 1;
    hub.deliver(edit);
    runner->run();
    EXPECT_EQ(clients[0].sink->frame_count(), 1u);
    EXPECT_EQ(clients[1].sink->frame_count(), 1u);
    EXPECT_EQ(clients[2].sink->frame_count(), 0u);
    EXPECT_EQ(metrics.messages_delivered.Value(), 2.0);
}

TEST_F(ShardedHubTest, AShardWithoutMembersInTheRoomGetsNoWork) {
    attach_on(1, "b");
    hub.deliver(message_in("general"));
    EXPECT_EQ(runner->queued(0), 0u);
    EXPECT_EQ(runner->queued(1), 1u);
    EXPECT_EQ(runner->queued(2), 0u);
}

TEST_F(ShardedHubTest, EachConnectionGetsTheMessagesInDeliveryOrder) {
    const auto a = attach_on(2, "a");
    std::vector<model::MessageId> sent;
    for (int i = 0; i < 5; ++i) {
        const auto message = message_in("general");
        sent.push_back(message.id);
        hub.deliver(message);
    }
    runner->run();
    std::vector<model::MessageId> received;
    for (const auto& frame : parsed(*a.sink)) {
        received.push_back(frame.at("message").at("id").as_int64());
    }
    EXPECT_EQ(received, sent);
}

TEST_F(ShardedHubTest, ASnapshotTakenBeforeAJoinIsRebuiltWithTheNewMember) {
    attach_on(0, "a");
    hub.deliver(message_in("general"));
    const auto late = attach_on(2, "late");
    hub.deliver(message_in("general"));
    runner->run();
    EXPECT_EQ(late.sink->frame_count(), 1u);
}

TEST_F(ShardedHubTest, DeliveriesToOneUserStayDirect) {
    const auto seed = attach_on(1, "alice", Protocol::Seed);
    hub.deliver(message_in("general"), "alice");
    EXPECT_EQ(seed.sink->frame_count(), 1u) << "a delivery from the user's own queue";
    EXPECT_EQ(seed.sink->delivered_on_shard(), 0u);
    EXPECT_EQ(runner->queued(1), 0u);
}

// A leave used to be written directly while the messages before it still waited on the shard:
// a connection got the leave's id before theirs.
TEST_F(ShardedHubTest, ALeaveReachesEveryConnectionAfterTheMessagesBeforeIt) {
    const auto seed = attach_on(1, "alice", Protocol::Seed);
    const auto native = attach_on(2, "bob");
    const auto before = message_in("general", "bob", "before");
    hub.deliver(before);
    const auto leave = message_in("general", "alice", std::string(chat::kDisconnectionMessage));
    hub.deliver(leave);
    EXPECT_FALSE(seed.sink->closed()) << "closed before its notice was queued";
    runner->run();
    std::vector<model::MessageId> ids;
    for (const auto& frame : parsed(*native.sink)) {
        ids.push_back(frame.at("message").at("id").as_int64());
    }
    EXPECT_EQ(ids, (std::vector<model::MessageId>{before.id, leave.id}));
    ASSERT_EQ(seed.sink->frame_count(), 2u);
    EXPECT_EQ(parsed(*seed.sink).at(0).at("content"), "before");
    EXPECT_EQ(parsed(*seed.sink).at(1).at("content"), "DISCONNECTION_MESSAGE");
    EXPECT_TRUE(seed.sink->closed()) << "the leaver's /receive stream ends after the notice";
}

TEST_F(ShardedHubTest, WithoutARunnerDeliveriesAreDirectAgain) {
    const auto a = attach_on(1, "a");
    hub.set_shard_runner(nullptr);
    hub.deliver(message_in("general"));
    EXPECT_EQ(a.sink->frame_count(), 1u);
    EXPECT_EQ(a.sink->delivered_on_shard(), 0u);
}
