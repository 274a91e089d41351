#include "net/web_session.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chatd::net {
namespace {

using namespace std::chrono_literals;

const std::string kToken = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde";

TEST(SessionCookie, IsHttpOnlyStrictWholeSiteAndLastsTheSession) {
    EXPECT_EQ(session_cookie(kToken, 3600s, false),
              "chatd_session=" + kToken + "; Path=/; Max-Age=3600; HttpOnly; SameSite=Strict");
    EXPECT_EQ(
        session_cookie(kToken, 60s, true),
        "chatd_session=" + kToken + "; Path=/; Max-Age=60; HttpOnly; SameSite=Strict; Secure");
    EXPECT_EQ(session_cookie(kToken, -5s, false).find("Max-Age=0;") != std::string::npos, true);
}

TEST(SessionCookie, ClearingKeepsTheAttributesWithNoValueAndNoAge) {
    EXPECT_EQ(cleared_session_cookie(false),
              "chatd_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
    EXPECT_EQ(cleared_session_cookie(true),
              "chatd_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict; Secure");
}

TEST(SessionCookie, TheTokenIsFoundAmongOtherCookiesAndHeaders) {
    EXPECT_EQ(session_token_of_cookies({"chatd_session=" + kToken}), kToken);
    EXPECT_EQ(session_token_of_cookies({"chatd_node=abc; chatd_session=" + kToken + "; x=1"}),
              kToken);
    EXPECT_EQ(session_token_of_cookies({"chatd_node=abc", " chatd_session = " + kToken + " "}),
              kToken);
    EXPECT_EQ(session_token_of_cookies({}), "");
    EXPECT_EQ(session_token_of_cookies({"other_session=" + kToken}), "");
    EXPECT_EQ(session_token_of_cookies({"chatd_sessionx=" + kToken}), "");
}

TEST(SessionCookie, MalformedValuesAreIgnoredAndTheFirstWellFormedOneWins) {
    EXPECT_EQ(session_token_of_cookies({"chatd_session="}), "");
    EXPECT_EQ(session_token_of_cookies({"chatd_session=a b"}), "");
    EXPECT_EQ(session_token_of_cookies({"chatd_session=\"quoted\""}), "");
    EXPECT_EQ(session_token_of_cookies({"chatd_session=" + std::string(129, 'a')}), "");
    EXPECT_EQ(session_token_of_cookies({"chatd_session=" + std::string(128, 'a')}),
              std::string(128, 'a'));
    EXPECT_EQ(session_token_of_cookies({"chatd_session=%00; chatd_session=second"}), "second");
    EXPECT_EQ(session_token_of_cookies({"chatd_session=first; chatd_session=second"}), "first");
}

TEST(CsrfToken, IsDerivedStableAndDistinctPerSession) {
    const auto csrf = csrf_token_of(kToken);
    EXPECT_EQ(csrf.size(), 43u);
    EXPECT_EQ(csrf, csrf_token_of(kToken));
    EXPECT_NE(csrf, csrf_token_of(kToken + "x"));
    EXPECT_EQ(csrf.find(kToken), std::string::npos);
}

TEST(StateChanging, EverythingButGetHeadAndOptions) {
    EXPECT_FALSE(is_state_changing("GET"));
    EXPECT_FALSE(is_state_changing("HEAD"));
    EXPECT_FALSE(is_state_changing("OPTIONS"));
    EXPECT_TRUE(is_state_changing("POST"));
    EXPECT_TRUE(is_state_changing("DELETE"));
    EXPECT_TRUE(is_state_changing("PUT"));
    EXPECT_TRUE(is_state_changing("PATCH"));
}

TEST(Origins, AnOriginIsAcceptedWhenItNamesTheHostOrIsListed) {
    const std::vector<std::string> allowed{"https://app.example"};
    const OriginPolicy policy{"chat.example:8080", &allowed};
    EXPECT_TRUE(policy.accepts("http://chat.example:8080"));
    EXPECT_TRUE(policy.accepts("https://CHAT.example:8080"));
    EXPECT_TRUE(policy.accepts("https://app.example"));
    EXPECT_FALSE(policy.accepts("https://chat.example"));  // another port
    EXPECT_FALSE(policy.accepts("http://chat.example:8080.evil.example"));
    EXPECT_FALSE(policy.accepts("https://app.example:444"));
    EXPECT_FALSE(policy.accepts("null"));
    EXPECT_FALSE(policy.accepts(""));
    EXPECT_FALSE(policy.accepts("http://chat.example:8080/path"));
    EXPECT_FALSE(policy.accepts("http://user@chat.example:8080"));
    EXPECT_FALSE(policy.accepts("ws://chat.example:8080"));
    const OriginPolicy no_host{"", nullptr};
    EXPECT_FALSE(no_host.accepts("http://"));
}

TEST(Csrf, TheRightHeaderFromTheSameSiteIsAllowed) {
    const OriginPolicy policy{"chat.example", nullptr};
    const auto csrf = csrf_token_of(kToken);
    EXPECT_EQ(check_csrf("https://chat.example", "same-origin", csrf, kToken, policy),
              CsrfVerdict::Allowed);
    EXPECT_EQ(check_csrf("", "", csrf, kToken, policy), CsrfVerdict::Allowed);  // no browser hints
    EXPECT_EQ(check_csrf("", "same-origin", csrf, kToken, policy), CsrfVerdict::Allowed);
}

TEST(Csrf, AnotherSiteIsRefusedEvenWithTheRightHeader) {
    const OriginPolicy policy{"chat.example", nullptr};
    const auto csrf = csrf_token_of(kToken);
    EXPECT_EQ(check_csrf("https://evil.example", "cross-site", csrf, kToken, policy),
              CsrfVerdict::CrossOrigin);
    EXPECT_EQ(check_csrf("null", "", csrf, kToken, policy), CsrfVerdict::CrossOrigin);
    EXPECT_EQ(check_csrf("", "cross-site", csrf, kToken, policy), CsrfVerdict::CrossOrigin);
    EXPECT_EQ(check_csrf("", "same-site", csrf, kToken, policy), CsrfVerdict::CrossOrigin);
    const std::vector<std::string> allowed{"https://app.example"};
    EXPECT_EQ(check_csrf("https://app.example", "cross-site", csrf, kToken,
                         OriginPolicy{"chat.example", &allowed}),
              CsrfVerdict::Allowed);
}

TEST(Csrf, AMissingOrWrongHeaderIsRefused) {
    const OriginPolicy policy{"chat.example", nullptr};
    const auto csrf = csrf_token_of(kToken);
    EXPECT_EQ(check_csrf("https://chat.example", "same-origin", "", kToken, policy),
              CsrfVerdict::MissingToken);
    EXPECT_EQ(
        check_csrf("https://chat.example", "same-origin", csrf_token_of("other"), kToken, policy),
        CsrfVerdict::WrongToken);
    EXPECT_EQ(check_csrf("https://chat.example", "same-origin", csrf.substr(1), kToken, policy),
              CsrfVerdict::WrongToken);
    EXPECT_EQ(check_csrf("https://chat.example", "same-origin", kToken, kToken, policy),
              CsrfVerdict::WrongToken);
    EXPECT_EQ(csrf_code(CsrfVerdict::CrossOrigin), "cross_origin");
    EXPECT_EQ(csrf_code(CsrfVerdict::MissingToken), "csrf_token_missing");
    EXPECT_EQ(csrf_code(CsrfVerdict::WrongToken), "csrf_token_invalid");
}

}  // namespace
}  // namespace chatd::net
