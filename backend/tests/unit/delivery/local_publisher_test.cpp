// The in-process publisher and the presence batcher: their threads keep the order they were
// handed things in, and flush()/destruction lose nothing.
#include "delivery/local_publisher.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bus/local_bus.hpp"
#include "chat/hub.hpp"
#include "delivery/presence_batcher.hpp"
#include "metrics/metrics.hpp"
#include "support/recording_sink.hpp"

namespace {

using namespace chatd;
using namespace std::chrono_literals;

model::Message message(model::MessageId id) {
    model::Message m;
    m.id = id;
    m.room = std::string(model::kGeneralRoom);
    m.user_name = "alice";
    m.content = "m" + std::to_string(id);
    return m;
}

class RecordingBus {
  public:
    explicit RecordingBus(bus::LocalBus& bus) {
        bus.start([this](const model::EventPtr& event, const std::string&) {
            std::lock_guard lock(mutex_);
            ids_.push_back(std::get<model::Message>(*event).id);
        });
    }
    std::vector<model::MessageId> ids() const {
        std::lock_guard lock(mutex_);
        return ids_;
    }

  private:
    mutable std::mutex mutex_;
    std::vector<model::MessageId> ids_;
};

TEST(LocalPublisher, HandsEveryMessageToTheBusInOrderByFlush) {
    bus::LocalBus bus;
    RecordingBus recorded(bus);
    delivery::LocalPublisher publisher(bus, 4);  // a small queue: the writer waits for room
    std::vector<model::MessageId> expected;
    for (model::MessageId id = 1; id <= 1000; ++id) {
        publisher.publish(message(id));
        expected.push_back(id);
    }
    publisher.flush();
    EXPECT_EQ(recorded.ids(), expected);
}

TEST(LocalPublisher, DestructionPublishesWhatIsQueued) {
    bus::LocalBus bus;
    RecordingBus recorded(bus);
    {
        delivery::LocalPublisher publisher(bus);
        for (model::MessageId id = 1; id <= 100; ++id) publisher.publish(message(id));
    }
    EXPECT_EQ(recorded.ids().size(), 100u);
}

TEST(PresenceBatcher, DeliversAWindowsEventsTogetherInArrivalOrder) {
    metrics::Metrics metrics{"test"};
    chat::Hub hub{metrics};
    auto sink = std::make_shared<test_support::RecordingSink>();
    hub.attach("bob", chat::Protocol::Native, sink, {});
    delivery::PresenceBatcher batcher(hub, 50ms);
    batcher.add(model::Presence{"alice", true});
    batcher.add(model::Presence{"alice", false});
    batcher.add(model::Presence{"carol", true});
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (sink->frame_count() < 3 && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(sink->texts(),
              (std::vector<std::string>{R"({"type":"presence","user_name":"alice","online":true,)"
                                        R"("status":"online"})",
                                        R"({"type":"presence","user_name":"alice","online":false,)"
                                        R"("status":"offline"})",
                                        R"({"type":"presence","user_name":"carol","online":true,)"
                                        R"("status":"online"})"}));
}

}  // namespace
