// libFuzzer target: the web client's session cookie and CSRF rules (net/web_session), which read
// the untrusted Cookie, Origin, Host, Sec-Fetch-Site and X-CSRF-Token headers. The input is split
// at NUL bytes into those values. Checked: a token taken from the cookies is 1-128 base64url
// characters found verbatim in them; an origin's authority is lower-case and holds no path,
// user or space; a request is allowed only with the session's own CSRF token and an accepted
// Origin (when one is sent).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/web_session.hpp"

namespace {

bool base64url(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::vector<std::string_view> parts;
    while (parts.size() < 5) {
        const auto nul = input.find('\0');
        parts.push_back(input.substr(0, nul));
        if (nul == std::string_view::npos) {
            input = {};
            break;
        }
        input.remove_prefix(nul + 1);
    }
    parts.resize(6);
    const auto cookies = parts[0];
    const auto origin = parts[1];
    const auto host = parts[2];
    const auto fetch_site = parts[3];
    const auto csrf = parts[4];

    const auto token = chatd::net::session_token_of_cookies({cookies, origin});
    if (!token.empty()) {
        if (token.size() > 128) std::abort();
        for (char c : token) {
            if (!base64url(c)) std::abort();
        }
        if (cookies.find(token) == std::string_view::npos &&
            origin.find(token) == std::string_view::npos)
            std::abort();
    }
    const auto authority = chatd::net::origin_authority(origin);
    for (char c : authority) {
        if (c >= 'A' && c <= 'Z') std::abort();
        if (c == '/' || c == '@' || c == ' ' || c == '?' || c == '#') std::abort();
    }
    const std::vector<std::string> allowed{"https://app.example"};
    const chatd::net::OriginPolicy policy{host, &allowed};
    const auto verdict = chatd::net::check_csrf(origin, fetch_site, csrf, "session", policy);
    if (verdict == chatd::net::CsrfVerdict::Allowed) {
        if (csrf != chatd::net::csrf_token_of("session")) std::abort();
        if (!origin.empty() && !policy.accepts(origin)) std::abort();
    }
    return 0;
}
