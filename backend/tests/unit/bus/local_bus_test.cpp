#include "bus/local_bus.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using namespace chatd;

TEST(LocalBus, DeliversEveryEventInPublishOrder) {
    bus::LocalBus bus;
    std::vector<model::MessageId> seen;
    bus.start([&](const model::EventPtr& event, const std::string&) {
        seen.push_back(std::get<model::Message>(*event).id);
    });
    for (model::MessageId id = 1; id <= 3; ++id) {
        model::Message message;
        message.id = id;
        bus.publish(std::make_shared<const model::Event>(message));
    }
    EXPECT_EQ(seen, (std::vector<model::MessageId>{1, 2, 3}));
}

TEST(LocalBus, DeliversNothingAfterStop) {
    bus::LocalBus bus;
    int delivered = 0;
    bus.start([&](const model::EventPtr&, const std::string&) { ++delivered; });
    bus.stop();
    bus.publish(std::make_shared<const model::Event>(model::Typing{"general", "a"}));
    EXPECT_EQ(delivered, 0);
}

}  // namespace
