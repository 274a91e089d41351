// The connection part of the RabbitMQ bus without a broker: URL parsing and reconnect backoff.
#include "bus/amqp_connection.hpp"

#include <gtest/gtest.h>

namespace {

using namespace chatd;
using namespace std::chrono_literals;

TEST(BrokerAddress, TakesTheUrlApart) {
    const auto a = bus::BrokerAddress::parse("amqp://alice:secret@broker.example:5673/chat");
    EXPECT_EQ(a.host, "broker.example");
    EXPECT_EQ(a.port, 5673);
    EXPECT_EQ(a.user, "alice");
    EXPECT_EQ(a.password, "secret");
    EXPECT_EQ(a.vhost, "chat");
}

TEST(BrokerAddress, DefaultsToTheRootVhostAndTheAmqpPort) {
    const auto a = bus::BrokerAddress::parse("amqp://guest:guest@localhost");
    EXPECT_EQ(a.port, 5672);
    EXPECT_EQ(a.vhost, "/");
}

TEST(BrokerAddress, RefusesOtherSchemesAndTls) {
    EXPECT_THROW(bus::BrokerAddress::parse("http://localhost"), std::invalid_argument);
    EXPECT_THROW(bus::BrokerAddress::parse("amqps://guest:guest@localhost"), std::invalid_argument);
}

TEST(Backoff, FullJitterUnderADoublingCeilingWithACap) {
    bus::Backoff backoff(100ms, 5000ms, 42);
    std::chrono::milliseconds expected_ceiling = 100ms;
    for (int i = 0; i < 12; ++i) {
        EXPECT_EQ(backoff.ceiling(), expected_ceiling);
        const auto d = backoff.next();
        EXPECT_GE(d.count(), 0);
        EXPECT_LE(d, expected_ceiling);
        expected_ceiling = std::min(expected_ceiling * 2, std::chrono::milliseconds(5000));
    }
    backoff.reset();
    EXPECT_EQ(backoff.ceiling(), 100ms);
}

}  // namespace
