#pragma once

// The reverse proxies whose X-Forwarded-For is believed (--trusted-proxies). Free of Beast: the
// header arrives as its values, so the rules are unit-tested in
// tests/unit/net/trusted_proxies_test.cpp.

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::net {

class TrustedProxies {
  public:
    // `cidrs`: networks ("10.0.0.0/8", "fd00::/8") or single addresses; throws
    // std::invalid_argument naming the first one that is neither.
    explicit TrustedProxies(const std::vector<std::string>& cidrs);

    bool empty() const { return v4_.empty() && v6_.empty(); }

    // Whether `address` (an IPv4-mapped IPv6 address counts as its IPv4 one) is a trusted proxy.
    bool contains(boost::asio::ip::address address) const;

    // The client's address: the peer's, unless the peer is a trusted proxy; then the rightmost
    // X-Forwarded-For hop that is not itself a trusted proxy (hops to its left are whatever the
    // client sent, so they are never believed). A malformed hop ends the walk at the last
    // trusted address, which is the proxy that passed the malformed value on.
    // `forwarded_for`: the values of every X-Forwarded-For field, in order.
    std::string client_address(const boost::asio::ip::address& peer,
                               const std::vector<std::string_view>& forwarded_for) const;

  private:
    std::vector<boost::asio::ip::network_v4> v4_;
    std::vector<boost::asio::ip::network_v6> v6_;
};

}  // namespace chatd::net
