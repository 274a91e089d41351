#pragma once

// The web client's session cookie and its CSRF and Origin rules (docs/security.md "Staying
// signed in"). Free of Beast: the decisions are plain functions of header values, unit-tested
// in tests/unit/net/web_session_test.cpp.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::net {

inline constexpr std::string_view kSessionCookie = "chatd_session";
inline constexpr std::string_view kCsrfHeader = "X-CSRF-Token";

// `Set-Cookie` value carrying a session token: HttpOnly (no script reads it), SameSite=Strict
// (no other site's page sends it), Path=/, Max-Age the session's remaining lifetime, Secure when
// the request came over HTTPS.
std::string session_cookie(std::string_view token, std::chrono::seconds max_age, bool secure);

// `Set-Cookie` value that removes the session cookie (Max-Age=0, same attributes).
std::string cleared_session_cookie(bool secure);

// The session token in the `Cookie` header values, or empty. A malformed or repeated cookie of
// that name yields the first well-formed one; a token holds only base64url characters.
std::string session_token_of_cookies(const std::vector<std::string_view>& cookie_headers);

// The CSRF token of a session: base64url (no padding) of SHA-256 over a fixed label and the
// session token. It is derived, so nothing is stored; it cannot be turned back into the token.
std::string csrf_token_of(std::string_view session_token);

// Whether a method changes state (everything but GET, HEAD, OPTIONS).
bool is_state_changing(std::string_view method);

// The host (and port) part of an Origin header value such as "https://chat.example:8443",
// lower-cased; empty when it is not an http(s) origin ("null" included).
std::string origin_authority(std::string_view origin);

// The origins a cookie-authenticated browser request may come from: the server's own (its
// `Host`, any scheme: a TLS-terminating proxy may not say which it served) and --allowed-origins.
struct OriginPolicy {
    std::string_view host;                      // the request's Host header
    const std::vector<std::string>* allowed{};  // --allowed-origins, exact "scheme://host[:port]"
    bool accepts(std::string_view origin) const;
};

enum class CsrfVerdict {
    Allowed,
    CrossOrigin,   // Origin names another site, or Sec-Fetch-Site says cross-site / same-site
    MissingToken,  // no X-CSRF-Token header
    WrongToken,    // X-CSRF-Token is not the session's
};

// A state-changing request authenticated by the cookie: its Origin (when sent) must be
// accepted, its Sec-Fetch-Site (when sent, and Origin absent) must be same-origin, and its
// X-CSRF-Token must equal the session's (compared in constant time).
CsrfVerdict check_csrf(std::string_view origin,
                       std::string_view sec_fetch_site,
                       std::string_view csrf_header,
                       std::string_view session_token,
                       const OriginPolicy& policy);

std::string_view csrf_code(CsrfVerdict verdict);

}  // namespace chatd::net
