#include "net/web_session.hpp"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace chatd::net {
namespace {

bool base64url_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string cookie_attributes(std::chrono::seconds max_age, bool secure) {
    std::string out =
        "; Path=/; Max-Age=" + std::to_string(std::max<long long>(0, max_age.count())) +
        "; HttpOnly; SameSite=Strict";
    if (secure) out += "; Secure";
    return out;
}

}  // namespace

std::string session_cookie(std::string_view token, std::chrono::seconds max_age, bool secure) {
    return std::string(kSessionCookie) + "=" + std::string(token) +
           cookie_attributes(max_age, secure);
}

std::string cleared_session_cookie(bool secure) {
    return std::string(kSessionCookie) + "=" + cookie_attributes(std::chrono::seconds(0), secure);
}

std::string session_token_of_cookies(const std::vector<std::string_view>& cookie_headers) {
    for (auto header : cookie_headers) {
        while (!header.empty()) {
            const auto semicolon = header.find(';');
            const auto pair = trim(header.substr(0, semicolon));
            header = semicolon == std::string_view::npos ? std::string_view{}
                                                         : header.substr(semicolon + 1);
            const auto equals = pair.find('=');
            if (equals == std::string_view::npos || trim(pair.substr(0, equals)) != kSessionCookie)
                continue;
            const auto value = trim(pair.substr(equals + 1));
            if (!value.empty() && value.size() <= 128 &&
                std::all_of(value.begin(), value.end(), base64url_char))
                return std::string(value);
        }
    }
    return {};
}

std::string csrf_token_of(std::string_view session_token) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
    static constexpr std::string_view kLabel = "chatd csrf v1\n";
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(kLabel.data()),
                              kLabel.size());
    crypto_hash_sha256_update(&state, reinterpret_cast<const unsigned char*>(session_token.data()),
                              session_token.size());
    std::array<unsigned char, crypto_hash_sha256_BYTES> hash{};
    crypto_hash_sha256_final(&state, hash.data());
    std::array<char, sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES,
                                               sodium_base64_VARIANT_URLSAFE_NO_PADDING)>
        text{};
    sodium_bin2base64(text.data(), text.size(), hash.data(), hash.size(),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return std::string(text.data());
}

bool is_state_changing(std::string_view method) {
    return method != "GET" && method != "HEAD" && method != "OPTIONS";
}

std::string origin_authority(std::string_view origin) {
    std::string_view rest;
    if (origin.starts_with("http://")) {
        rest = origin.substr(7);
    } else if (origin.starts_with("https://")) {
        rest = origin.substr(8);
    } else {
        return {};
    }
    // An origin is scheme://host[:port], nothing after it.
    if (rest.empty() || rest.find_first_of("/?#@ \t") != std::string_view::npos) return {};
    return lower(rest);
}

bool OriginPolicy::accepts(std::string_view origin) const {
    if (allowed) {
        for (const auto& extra : *allowed) {
            if (lower(extra) == lower(origin)) return true;
        }
    }
    const auto authority = origin_authority(origin);
    return !authority.empty() && authority == lower(trim(host));
}

CsrfVerdict check_csrf(std::string_view origin,
                       std::string_view sec_fetch_site,
                       std::string_view csrf_header,
                       std::string_view session_token,
                       const OriginPolicy& policy) {
    if (!origin.empty()) {
        if (!policy.accepts(origin)) return CsrfVerdict::CrossOrigin;
    } else if (!sec_fetch_site.empty() && sec_fetch_site != "same-origin" &&
               sec_fetch_site != "none") {
        return CsrfVerdict::CrossOrigin;
    }
    if (csrf_header.empty()) return CsrfVerdict::MissingToken;
    const auto expected = csrf_token_of(session_token);
    if (csrf_header.size() != expected.size() ||
        sodium_memcmp(csrf_header.data(), expected.data(), expected.size()) != 0)
        return CsrfVerdict::WrongToken;
    return CsrfVerdict::Allowed;
}

std::string_view csrf_code(CsrfVerdict verdict) {
    switch (verdict) {
        case CsrfVerdict::CrossOrigin:
            return "cross_origin";
        case CsrfVerdict::MissingToken:
            return "csrf_token_missing";
        case CsrfVerdict::WrongToken:
            return "csrf_token_invalid";
        case CsrfVerdict::Allowed:
            break;
    }
    return "ok";
}

}  // namespace chatd::net
