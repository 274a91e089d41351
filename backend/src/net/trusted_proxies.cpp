#include "net/trusted_proxies.hpp"

#include <stdexcept>

namespace chatd::net {

namespace ip = boost::asio::ip;

TrustedProxies::TrustedProxies(const std::vector<std::string>& cidrs) {
    for (const auto& text : cidrs) {
        boost::system::error_code ec;
        if (text.find('/') == std::string::npos) {
            const auto address = ip::make_address(text, ec);
            if (!ec && address.is_v4()) v4_.push_back(ip::network_v4(address.to_v4(), 32));
            if (!ec && address.is_v6()) v6_.push_back(ip::network_v6(address.to_v6(), 128));
        } else if (text.find(':') == std::string::npos) {
            v4_.push_back(ip::make_network_v4(text, ec));
        } else {
            v6_.push_back(ip::make_network_v6(text, ec));
        }
        if (ec) throw std::invalid_argument("--trusted-proxies: not a CIDR network: " + text);
    }
}

bool TrustedProxies::contains(ip::address address) const {
    if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = ip::make_address_v4(ip::v4_mapped, address.to_v6());
    }
    if (address.is_v4()) {
        const auto host = ip::network_v4(address.to_v4(), 32);
        for (const auto& net : v4_) {
            if (host == net || host.is_subnet_of(net)) return true;
        }
    } else {
        const auto host = ip::network_v6(address.to_v6(), 128);
        for (const auto& net : v6_) {
            if (host == net || host.is_subnet_of(net)) return true;
        }
    }
    return false;
}

std::string TrustedProxies::client_address(
    const ip::address& peer, const std::vector<std::string_view>& forwarded_for) const {
    if (empty() || !contains(peer)) return peer.to_string();
    std::vector<std::string_view> hops;
    for (auto value : forwarded_for) {
        while (!value.empty()) {
            const auto comma = value.find(',');
            auto hop = value.substr(0, comma);
            while (!hop.empty() && (hop.front() == ' ' || hop.front() == '\t'))
                hop.remove_prefix(1);
            while (!hop.empty() && (hop.back() == ' ' || hop.back() == '\t')) hop.remove_suffix(1);
            hops.push_back(hop);
            if (comma == std::string_view::npos) break;
            value.remove_prefix(comma + 1);
        }
    }
    auto client = peer;
    for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
        boost::system::error_code ec;
        const auto address = ip::make_address(*hop, ec);
        if (ec) break;
        client = address;
        if (!contains(address)) break;
    }
    return client.to_string();
}

}  // namespace chatd::net
