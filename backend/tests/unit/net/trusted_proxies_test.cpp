#include "net/trusted_proxies.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace chatd::net {
namespace {

using boost::asio::ip::make_address;

TEST(TrustedProxiesTest, NetworksAndSingleAddressesOfBothFamiliesAreTrusted) {
    const TrustedProxies proxies({"10.0.0.0/8", "192.0.2.7", "fd00::/8", "2001:db8::1"});
    EXPECT_TRUE(proxies.contains(make_address("10.1.2.3")));
    EXPECT_TRUE(proxies.contains(make_address("192.0.2.7")));
    EXPECT_FALSE(proxies.contains(make_address("192.0.2.8")));
    EXPECT_TRUE(proxies.contains(make_address("fd12::5")));
    EXPECT_TRUE(proxies.contains(make_address("2001:db8::1")));
    EXPECT_FALSE(proxies.contains(make_address("2001:db8::2")));
    // An IPv4 peer on a dual-stack socket arrives IPv4-mapped.
    EXPECT_TRUE(proxies.contains(make_address("::ffff:10.9.9.9")));
    EXPECT_FALSE(proxies.contains(make_address("::ffff:11.0.0.1")));
}

TEST(TrustedProxiesTest, AnythingElseIsRefusedWithTheFlagsName) {
    for (const char* bad : {"10.0.0.0/33", "not-an-address", "10.0.0/8", "fd00::/129", ""}) {
        try {
            TrustedProxies proxies({bad});
            ADD_FAILURE() << "accepted " << bad;
        } catch (const std::invalid_argument& error) {
            EXPECT_NE(std::string(error.what()).find("--trusted-proxies"), std::string::npos);
        }
    }
}

TEST(TrustedProxiesTest, AnUntrustedPeerIsTheClientWhateverItForwards) {
    const TrustedProxies proxies({"10.0.0.0/8"});
    EXPECT_EQ(proxies.client_address(make_address("203.0.113.5"), {"198.51.100.1"}), "203.0.113.5");
    const TrustedProxies none({});
    EXPECT_EQ(none.client_address(make_address("10.0.0.1"), {"198.51.100.1"}), "10.0.0.1");
}

TEST(TrustedProxiesTest, TheRightmostHopThatIsNoTrustedProxyIsTheClient) {
    const TrustedProxies proxies({"10.0.0.0/8"});
    const auto peer = make_address("10.0.0.1");
    // The left hop is whatever the client claimed: never believed past an untrusted one.
    EXPECT_EQ(proxies.client_address(peer, {"1.1.1.1, 198.51.100.9"}), "198.51.100.9");
    // Chains of proxies are walked, across fields and with spaces and tabs around hops.
    EXPECT_EQ(proxies.client_address(peer, {"198.51.100.9", " 10.2.2.2 ,\t10.3.3.3"}),
              "198.51.100.9");
    // Every hop trusted: the leftmost one.
    EXPECT_EQ(proxies.client_address(peer, {"10.4.4.4, 10.5.5.5"}), "10.4.4.4");
    // No header: the proxy itself.
    EXPECT_EQ(proxies.client_address(peer, {}), "10.0.0.1");
}

TEST(TrustedProxiesTest, AMalformedHopStopsAtTheLastTrustedAddress) {
    const TrustedProxies proxies({"10.0.0.0/8"});
    const auto peer = make_address("10.0.0.1");
    EXPECT_EQ(proxies.client_address(peer, {"198.51.100.9, garbage, 10.6.6.6"}), "10.6.6.6");
    EXPECT_EQ(proxies.client_address(peer, {"198.51.100.9, "}), "10.0.0.1");
}

}  // namespace
}  // namespace chatd::net
