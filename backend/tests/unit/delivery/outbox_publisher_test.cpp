// The publication outbox keeps each node's id order on the bus (docs/reliability.md,
// "Publication order"): a message whose publish failed is republished by the sweep, and nothing
// stored after it reaches the bus before it. A scripted bus stands in for RabbitMQ: it can be
// disconnected, fail the next publishes, and records the order in which messages reached it.
#include "delivery/outbox_publisher.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "auth/auth.hpp"
#include "bus/broker_bus.hpp"
#include "chat/hub.hpp"
#include "chat/service.hpp"
#include "metrics/metrics.hpp"
#include "store/sqlite_store.hpp"
#include "support/recording_sink.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace chatd;
using namespace std::chrono_literals;

// A distributed bus (it has an origin node, so the service keeps an outbox) whose publishes
// complete at once: confirmed while connected, failed while disconnected or while told to fail.
// It calls the on_connected callback only when the test says so, as AmqpBus does after a
// (re)connect and within a second after a failed publish.
class ScriptedBus final : public bus::BrokerBus {
  public:
    void start(Handler /*on_event*/) override {}
    void publish(model::EventPtr event, Completion done) override {
        record(std::move(event), std::move(done), false);
    }
    void publish_to(model::EventPtr event,
                    std::vector<std::string> /*recipients*/,
                    Completion done) override {
        record(std::move(event), std::move(done), true);
    }
    void record(model::EventPtr event, Completion done, bool to_members) {
        const auto* message = std::get_if<model::Message>(event.get());
        bool ok = true;
        {
            std::lock_guard lock(mutex_);
            if (message) {
                if (!connected_ || fail_next_ > 0) {
                    if (fail_next_ > 0) --fail_next_;
                    ok = false;
                } else {
                    published_.push_back(message->id);
                    if (to_members) to_members_.push_back(message->id);
                }
            }
        }
        if (done) done(ok);
    }
    void on_resubscribed(std::function<void()> /*callback*/) override {}
    std::vector<std::string> remote_users() const override { return {}; }
    void user_online(const std::string&) override {}
    void user_offline(const std::string&) override {}
    bool routes_by_member() const override { return by_member_; }
    void set_routes_by_member(bool by_member) { by_member_ = by_member; }
    bool ready() const override {
        std::lock_guard lock(mutex_);
        return connected_;
    }
    void stop() override {}
    std::string_view origin_node() const override { return "node-a"; }
    void on_connected(std::function<void()> callback) override {
        std::lock_guard lock(mutex_);
        connected_cb_ = callback;
    }

    void set_connected(bool connected) {
        std::lock_guard lock(mutex_);
        connected_ = connected;
    }
    void fail_next(int n) {
        std::lock_guard lock(mutex_);
        fail_next_ = n;
    }
    // What AmqpBus does after a connect or a failed publish: ask for the outbox.
    void ask_for_outbox() {
        std::function<void()> callback;
        {
            std::lock_guard lock(mutex_);
            callback = connected_cb_;
        }
        if (callback) callback();
    }
    std::vector<model::MessageId> published() const {
        std::lock_guard lock(mutex_);
        return published_;
    }
    // The published messages that went with their room's members (publish_to).
    std::vector<model::MessageId> published_to_members() const {
        std::lock_guard lock(mutex_);
        return to_members_;
    }

  private:
    mutable std::mutex mutex_;
    bool connected_ = false;
    bool by_member_ = false;
    int fail_next_ = 0;
    std::vector<model::MessageId> published_;
    std::vector<model::MessageId> to_members_;
    std::function<void()> connected_cb_;
};

class PublicationOrderTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { auth::initialize(); }

    void SetUp() override {
        chat::ServiceOptions options;
        options.open_auth = true;
        options.version = "test";
        publisher = std::make_unique<delivery::OutboxPublisher>(
            store, bus, metrics, delivery::OutboxPublisher::Options{});
        service =
            std::make_unique<chat::ChatService>(store, bus, *publisher, hub, metrics, options);
        const auto session = service->login("alice", "");
        identity = *service->authenticate(session.token);
        sink = std::make_shared<test_support::RecordingSink>();
        connection = service->connect(identity, chat::Protocol::Native, sink,
                                      service->rooms_of(identity.user_name));
    }

    void TearDown() override {
        store.flush();
        service.reset();
        publisher.reset();
    }

    // Sends one message and waits until it is stored (and its callback has run).
    void send(int n, const std::string& room = "general") {
        const auto text = R"({"type":"send","room":")" + room + R"(","content":"m)" +
                          std::to_string(n) + R"(","client_msg_id":"c)" + std::to_string(n) +
                          R"("})";
        service->handle_frame(connection, identity.user_name, sink, text);
        store.flush();
    }

    // Waits (bounded) until the bus has seen `count` messages.
    std::vector<model::MessageId> wait_published(std::size_t count) {
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (bus.published().size() < count && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(5ms);
        }
        return bus.published();
    }

    test_support::TempDir dir{"chatd-publication"};
    metrics::Metrics metrics{"test"};
    ScriptedBus bus;
    chat::Hub hub{metrics};
    store::SqliteStore store{
        store::SqliteOptions{.path = (dir.path() / "chat.db").string(), .synchronous_full = false},
        &metrics};
    std::unique_ptr<delivery::OutboxPublisher> publisher;
    std::unique_ptr<chat::ChatService> service;
    chat::Identity identity;
    std::shared_ptr<test_support::RecordingSink> sink;
    chat::ConnectionId connection = 0;
};

// The slow_consumer integration failure: one publish fails, the next messages are published
// at once, and the sweep a second later republishes the failed one after them.
TEST_F(PublicationOrderTest, AMessageWhosePublishFailedReachesTheBusBeforeLaterOnes) {
    bus.set_connected(true);
    bus.ask_for_outbox();
    send(1);
    ASSERT_EQ(wait_published(1).size(), 1u);

    bus.fail_next(1);
    send(2);  // fails: stays in the outbox
    send(3);
    send(4);
    bus.ask_for_outbox();
    const auto ids = wait_published(4);
    ASSERT_EQ(ids.size(), 4u);
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())) << ::testing::PrintToString(ids);
    EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end())
        << "published twice: " << ::testing::PrintToString(ids);
}

// At start the broker connection comes up (publishes succeed) a moment before the sweep of
// what was stored while it was down: a message stored in that moment must wait for the sweep.
TEST_F(PublicationOrderTest, MessagesStoredBeforeTheBrokerCameUpGoFirst) {
    send(1);  // no broker yet: stays in the outbox
    send(2);
    bus.set_connected(true);
    send(3);  // connected, the sweep not run yet
    bus.ask_for_outbox();
    const auto ids = wait_published(3);
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())) << ::testing::PrintToString(ids);
    EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end())
        << "published twice: " << ::testing::PrintToString(ids);
}

// Held back while behind, and published directly again once the sweep caught up.
TEST_F(PublicationOrderTest, DirectPublishingResumesAfterTheSweepCaughtUp) {
    bus.set_connected(true);
    bus.fail_next(1);
    send(1);
    send(2);
    bus.ask_for_outbox();
    ASSERT_EQ(wait_published(2).size(), 2u);
    send(3);  // no sweep asked for: published directly
    const auto ids = wait_published(3);
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())) << ::testing::PrintToString(ids);
}

// Per-user topology: a room other than general goes to its members' queues, looked up on the
// publication thread (route()); the sweep looks them up itself. Same order rule.
TEST_F(PublicationOrderTest, RoomsRoutedByMemberKeepTheirOrderAroundAFailedPublish) {
    bus.set_routes_by_member(true);
    service->create_room(identity, "dev");
    // This bus carries no membership events: a connection opened now is in the room.
    connection = service->connect(identity, chat::Protocol::Native, sink,
                                  service->rooms_of(identity.user_name));
    bus.set_connected(true);
    bus.ask_for_outbox();
    send(1, "dev");
    ASSERT_EQ(wait_published(1).size(), 1u);

    bus.fail_next(1);
    send(2, "dev");  // fails in route(): stays in the outbox
    send(3, "dev");
    send(4, "dev");
    bus.ask_for_outbox();
    const auto ids = wait_published(4);
    ASSERT_EQ(ids.size(), 4u);
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())) << ::testing::PrintToString(ids);
    EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end())
        << "published twice: " << ::testing::PrintToString(ids);
}

// Per-user, a change goes on chat.events to every node, never into the members' queues: the
// publisher hands it over without recipients (and reads no member list for it), while a new
// message of the same room goes to its members.
TEST_F(PublicationOrderTest, ChangesArePublishedWithoutRecipientsWhereMessagesGoToMembers) {
    bus.set_routes_by_member(true);
    service->create_room(identity, "dev");
    connection = service->connect(identity, chat::Protocol::Native, sink,
                                  service->rooms_of(identity.user_name));
    bus.set_connected(true);
    bus.ask_for_outbox();
    send(1, "dev");
    const auto first = wait_published(1);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(bus.published_to_members(), first);

    // Handed as the store writer hands a committed row (the publisher is direct by now).
    std::vector<model::MessageId> changes;
    for (const auto kind : {model::MessageKind::Edit, model::MessageKind::React,
                            model::MessageKind::Unreact, model::MessageKind::Delete}) {
        model::Message change;
        change.id = first.back() + 1 + static_cast<model::MessageId>(changes.size());
        change.room = "dev";
        change.user_name = identity.user_name;
        change.kind = kind;
        change.target_id = first.back();
        change.content = kind == model::MessageKind::Delete ? "" : "x";
        changes.push_back(change.id);
        publisher->publish(std::move(change));
    }
    const auto ids = wait_published(1 + changes.size());
    ASSERT_EQ(ids.size(), 1 + changes.size());
    EXPECT_EQ(std::vector<model::MessageId>(ids.begin() + 1, ids.end()), changes);
    EXPECT_EQ(bus.published_to_members(), first);
}

}  // namespace
