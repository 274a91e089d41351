// The consumer part of the RabbitMQ bus without a broker: ack batching and the decode cache.
#include "bus/amqp_consumer.hpp"

#include <gtest/gtest.h>

namespace {

using namespace chatd;
using Acks = std::vector<std::pair<bus::Channel, std::uint64_t>>;

TEST(AckBatcher, OneAckPerChannelCoversItsEarlierDeliveries) {
    bus::AckBatcher acks;
    acks.add(10, 1);
    acks.add(11, 1);
    acks.add(10, 2);
    acks.add(10, 3);
    Acks sent;
    acks.flush([&](bus::Channel ch, std::uint64_t tag) { sent.emplace_back(ch, tag); });
    EXPECT_EQ(sent, (Acks{{10, 3}, {11, 1}}));
    sent.clear();
    acks.flush([&](bus::Channel ch, std::uint64_t tag) { sent.emplace_back(ch, tag); });
    EXPECT_TRUE(sent.empty());
}

TEST(AckBatcher, TakeHandsOneChannelsAckOverAndForgetDropsIt) {
    bus::AckBatcher acks;
    acks.add(10, 5);
    acks.add(11, 7);
    EXPECT_EQ(acks.take(10), 5u);
    EXPECT_EQ(acks.take(10), std::nullopt);
    acks.forget(11);  // closed by the broker: its messages went back
    Acks sent;
    acks.flush([&](bus::Channel ch, std::uint64_t tag) { sent.emplace_back(ch, tag); });
    EXPECT_TRUE(sent.empty());
}

TEST(DecodeCache, TheSameBodyFromAnotherUserQueueIsDecodedOnce) {
    bus::DecodeCache cache;
    model::Message m;
    m.id = 1;
    m.room = "general";
    m.user_name = "alice";
    m.content = "hi";
    const auto body = bus::encode_event(m, "n1");
    const auto& first = cache.decode(body);
    ASSERT_EQ(first.kind, bus::Wire::Kind::Event);
    const auto event = first.event;
    const auto& again = cache.decode(body);
    EXPECT_EQ(again.event, event);  // the same decoded event, not a new one

    // Pushed out after kSize other bodies.
    for (std::size_t i = 0; i < bus::DecodeCache::kSize; ++i) {
        m.id = 100 + i;
        cache.decode(bus::encode_event(m, "n1"));
    }
    m.id = 1;
    EXPECT_NE(cache.decode(body).event, event);
}

TEST(DecodeCache, GarbageDecodesAsInvalid) {
    bus::DecodeCache cache;
    EXPECT_EQ(cache.decode("not json").kind, bus::Wire::Kind::Invalid);
}

}  // namespace
