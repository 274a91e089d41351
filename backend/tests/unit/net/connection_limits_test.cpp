#include "net/connection_limits.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace chatd::net {
namespace {

using Refusal = ConnectionLimits::Refusal;

TEST(ConnectionLimits, EveryConnectionCountsAgainstItsAddressAtAcceptAndIsReleased) {
    auto limits = std::make_shared<ConnectionLimits>(100, 3, 0);
    Refusal refusal;
    std::vector<ConnectionLimits::Slot> held;
    for (int i = 0; i < 3; ++i) {
        held.push_back(limits->try_accept("10.0.0.1", false, refusal));
        EXPECT_TRUE(held.back());
        EXPECT_EQ(refusal, Refusal::None);
    }
    // At the edge: the 4th from that address is refused, another address is not.
    EXPECT_FALSE(limits->try_accept("10.0.0.1", false, refusal));
    EXPECT_EQ(refusal, Refusal::PerAddress);
    auto other = limits->try_accept("10.0.0.2", false, refusal);
    EXPECT_TRUE(other);
    // Counted at accept: the upgrade adds nothing.
    EXPECT_TRUE(limits->try_add_address(held[0], "10.0.0.1"));
    EXPECT_EQ(limits->open(), 4u);
    held.pop_back();
    EXPECT_TRUE(limits->try_accept("10.0.0.1", false, refusal));
}

TEST(ConnectionLimits, ATrustedProxyIsExemptAtAcceptAndItsClientsAreCountedAtTheUpgrade) {
    auto limits = std::make_shared<ConnectionLimits>(100, 2, 0);
    Refusal refusal;
    std::vector<ConnectionLimits::Slot> proxied;
    for (int i = 0; i < 5; ++i) {
        proxied.push_back(limits->try_accept("10.0.0.9", true, refusal));
        EXPECT_TRUE(proxied.back());
    }
    EXPECT_TRUE(limits->try_add_address(proxied[0], "192.0.2.1"));
    EXPECT_TRUE(limits->try_add_address(proxied[1], "192.0.2.1"));
    EXPECT_FALSE(limits->try_add_address(proxied[2], "192.0.2.1"));
    EXPECT_TRUE(limits->try_add_address(proxied[2], "192.0.2.2"));
}

TEST(ConnectionLimits, AboveNinetyPercentAnAddressHoldingTheHeadroomCountIsRefused) {
    auto limits = std::make_shared<ConnectionLimits>(10, 10, 3);
    Refusal refusal;
    std::vector<ConnectionLimits::Slot> held;
    // Below 90 %: an address takes more than the headroom count.
    for (int i = 0; i < 5; ++i) held.push_back(limits->try_accept("10.0.0.1", false, refusal));
    for (int i = 0; i < 3; ++i) held.push_back(limits->try_accept("10.0.0.2", false, refusal));
    held.push_back(limits->try_accept("10.0.0.3", false, refusal));  // 9 of 10 open: 90 %
    for (const auto& slot : held) EXPECT_TRUE(slot);
    // At 90 %: an address holding 3 (the headroom count) is refused; one holding 1 is not.
    EXPECT_FALSE(limits->try_accept("10.0.0.2", false, refusal));
    EXPECT_EQ(refusal, Refusal::PerAddress);
    EXPECT_TRUE(limits->try_accept("10.0.0.3", false, refusal));
    // 0: no headroom rule, only the process limit.
    auto plain = std::make_shared<ConnectionLimits>(3, 10, 0);
    std::vector<ConnectionLimits::Slot> all;
    for (int i = 0; i < 3; ++i) {
        all.push_back(plain->try_accept("10.0.0.1", false, refusal));
        EXPECT_TRUE(all.back());
    }
    EXPECT_FALSE(plain->try_accept("10.0.0.4", false, refusal));
    EXPECT_EQ(refusal, Refusal::Connections);
}

}  // namespace
}  // namespace chatd::net
