// The HTTP API's body and query readers (protocol/requests.hpp), which net/server.cpp's handlers
// and the fuzz targets fuzz_seed_api and fuzz_http_request call.
#include "protocol/requests.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "chat/error.hpp"

namespace chatd::protocol {
namespace {

using chat::Error;
using chat::ErrorCode;

// The error code a refused body gets, or "" when it is accepted.
template <class Read>
std::string refusal(Read read) {
    try {
        read();
    } catch (const Error& error) {
        return std::string(chat::code_name(error.code));
    }
    return "";
}

TEST(SeedSendBody, TheBriefsThreeFieldsAreReadAsSent) {
    const auto send = parse_seed_send(
        R"({"content":"hi \u00e9","user_name":"alice","sent_at":"27/11/2026 21:51:18"})");
    EXPECT_EQ(send.content, "hi \xc3\xa9");
    EXPECT_EQ(send.user_name, "alice");
    EXPECT_EQ(send.sent_at, "27/11/2026 21:51:18");
}

TEST(SeedSendBody, AMissingOrNullSentAtMeansNow) {
    EXPECT_FALSE(parse_seed_send(R"({"content":"a","user_name":"bob"})").sent_at);
    EXPECT_FALSE(parse_seed_send(R"({"content":"a","user_name":"bob","sent_at":null})").sent_at);
}

std::string seed_with_sent_at(const std::string& sent_at_json) {
    return R"({"content":"a","user_name":"alice","sent_at":)" + sent_at_json + "}";
}

// 32 two-byte characters (U+00E9) as JSON escapes: 64 bytes once decoded.
std::string accents_json() {
    std::string out;
    for (int i = 0; i < 32; ++i) out += "\\u00e9";
    return out;
}

TEST(SeedSendBody, SentAtUpTo64BytesOfTextIsKeptVerbatim) {
    const std::vector<std::string> accepted{
        "27/11/2026 21:51:18", "2026-11-27T21:51:18Z",    "2026-11-27T21:51:18.123456789+05:30", "",
        std::string(64, 'x'),  "x'; DROP TABLE users; --"};
    for (const auto& sent_at : accepted) {
        EXPECT_EQ(parse_seed_send(seed_with_sent_at('"' + sent_at + '"')).sent_at, sent_at);
    }
    EXPECT_EQ(parse_seed_send(seed_with_sent_at('"' + accents_json() + '"')).sent_at->size(), 64u);
}

TEST(SeedSendBody, SentAtPast64BytesOrWithControlCharactersIsRefused) {
    const std::vector<std::string> refused{
        '"' + std::string(65, 'x') + '"',
        '"' + accents_json() + "x\"",
        R"("a\nb")",
        R"("\u0000")",
        R"("\t1")",
        R"("\u007f")",
        R"("\u0085")",
        R"("\u202e1")",
        R"("\u2066")",
        R"("\u200f")",
    };
    for (const auto& json : refused) {
        EXPECT_EQ(refusal([&] { parse_seed_send(seed_with_sent_at(json)); }), "invalid_sent_at")
            << json;
    }
    try {
        parse_seed_send(seed_with_sent_at('"' + std::string(65, 'x') + '"'));
        FAIL() << "accepted";
    } catch (const Error& error) {
        EXPECT_EQ(error.code, ErrorCode::InvalidSentAt);
        EXPECT_NE(std::string(error.what()).find("sent_at"), std::string::npos);
    }
}

TEST(SeedSendBody, RefusesWhatIsNotAnObjectWithStringFieldsAndAValidName) {
    EXPECT_EQ(refusal([] { parse_seed_send(R"({"content": "oops", )"); }), "invalid_json");
    EXPECT_EQ(refusal([] { parse_seed_send(R"(["content"])"); }), "bad_request");
    EXPECT_EQ(refusal([] { parse_seed_send(R"({"user_name":"alice"})"); }), "bad_request");
    EXPECT_EQ(refusal([] { parse_seed_send(R"({"content":1,"user_name":"alice"})"); }),
              "bad_request");
    EXPECT_EQ(refusal([] { parse_seed_send(R"({"content":"a","user_name":"al","sent_at":7})"); }),
              "bad_request");
    EXPECT_EQ(refusal([] { parse_seed_send(R"({"content":"a","user_name":"bad name!"})"); }),
              "invalid_name");
    // Boost.JSON refuses invalid UTF-8 inside strings: nothing invalid is stored or relayed.
    EXPECT_EQ(refusal([] { parse_seed_send("{\"content\":\"\xff\",\"user_name\":\"alice\"}"); }),
              "invalid_json");
}

TEST(HistoryQuery, DefaultsAndNonNegativeIntegers) {
    const auto none = parse_history_query({});
    EXPECT_FALSE(none.before);
    EXPECT_FALSE(none.after);
    EXPECT_EQ(none.limit, 50);
    const auto some = parse_history_query({{"before", "10"}, {"after", "0"}, {"limit", "500"}});
    EXPECT_EQ(some.before, 10);
    EXPECT_EQ(some.after, 0);
    EXPECT_EQ(some.limit, 500);
    for (const auto* bad : {"-1", "", "1x", " 1", "99999999999999999999"}) {
        EXPECT_EQ(refusal([&] { parse_history_query({{"limit", bad}}); }), "bad_request") << bad;
    }
}

TEST(MembersQuery, ANameToStartAfterAndAPositiveLimit) {
    const auto none = parse_members_query({});
    EXPECT_EQ(none.after, "");
    EXPECT_FALSE(none.limit);
    const auto some = parse_members_query({{"after", "\xc3\xa9lodie"}, {"limit", "1"}});
    EXPECT_EQ(some.after, "\xc3\xa9lodie");
    EXPECT_EQ(some.limit, 1);
    EXPECT_EQ(parse_members_query({{"after", std::string(256, 'a')}}).after.size(), 256u);
    for (const auto* bad : {"0", "-1", "", "1x", "99999999999999999999"}) {
        EXPECT_EQ(refusal([&] { parse_members_query({{"limit", bad}}); }), "bad_request") << bad;
    }
    EXPECT_EQ(refusal([] {
                  parse_members_query({{"after", std::string(257, 'a')}});
              }),
              "bad_request");
    EXPECT_EQ(refusal([] { parse_members_query({{"after", "\xff"}}); }), "bad_request");
}

TEST(NotifyLevelBody, OneOfTheThreeLevelsAndNothingElse) {
    EXPECT_EQ(parse_notify_level(R"({"level":"all"})"), model::NotifyLevel::All);
    EXPECT_EQ(parse_notify_level(R"({"level":"mentions","x":1})"), model::NotifyLevel::Mentions);
    EXPECT_EQ(parse_notify_level(R"({"level":"muted"})"), model::NotifyLevel::Muted);
    for (const auto* bad : {R"({})", R"({"level":null})", R"({"level":1})", R"({"level":"MUTED"})",
                            R"({"level":" all"})", R"({"level":"none"})", R"({"level":["all"]})"}) {
        EXPECT_EQ(refusal([&] { parse_notify_level(bad); }), "invalid_notify_level") << bad;
    }
    EXPECT_EQ(refusal([] { parse_notify_level("[]"); }), "bad_request");
    EXPECT_EQ(refusal([] { parse_notify_level("{"); }), "invalid_json");
}

TEST(MessageId, APositiveDecimalIntegerAndNothingElse) {
    EXPECT_EQ(parse_message_id("41"), 41);
    EXPECT_EQ(parse_message_id("9223372036854775807"), 9223372036854775807);
    for (const auto* bad :
         {"0", "-1", "", "4.1", "41x", "+41", " 41", "9223372036854775808", "abc"}) {
        EXPECT_EQ(refusal([&] { parse_message_id(bad); }), "bad_request") << bad;
    }
}

TEST(StringMember, OptionalMembersMayBeMissingOrNull) {
    const auto value = parse_json_body(R"({"password":null})");
    EXPECT_EQ(string_member(body_object(value), "password", false), "");
    EXPECT_EQ(string_member(body_object(value), "user_name", false), "");
    EXPECT_EQ(refusal([&] { string_member(body_object(value), "password", true); }), "bad_request");
}

TEST(Credentials, ANameIsRequiredAndAPasswordIsAStringWhenGiven) {
    const auto both = parse_credentials(R"({"user_name":"alice","password":"pw"})");
    EXPECT_EQ(both.user_name, "alice");
    EXPECT_EQ(both.password, "pw");
    EXPECT_FALSE(parse_credentials(R"({"user_name":"alice"})").password);
    EXPECT_FALSE(parse_credentials(R"({"user_name":"alice","password":null})").password);
    EXPECT_EQ(parse_credentials(R"({"user_name":"alice","password":""})").password, "");
    EXPECT_EQ(refusal([] { parse_credentials(R"({"password":"pw"})"); }), "bad_request");
    EXPECT_EQ(refusal([] { parse_credentials(R"({"user_name":"a","password":5})"); }),
              "bad_request");
    EXPECT_EQ(refusal([] { parse_credentials("nope"); }), "invalid_json");
}

TEST(RoomName, TheNameMemberIsRequired) {
    EXPECT_EQ(parse_room_name(R"({"name":"rust"})"), "rust");
    EXPECT_EQ(refusal([] { parse_room_name(R"({})"); }), "bad_request");
    EXPECT_EQ(refusal([] { parse_room_name(R"([])"); }), "bad_request");
}

TEST(GroupDirect, UsersIsAnArrayOfStrings) {
    EXPECT_EQ(parse_group_direct(R"({"users":["bob","carol"]})"),
              (std::vector<std::string>{"bob", "carol"}));
    EXPECT_TRUE(parse_group_direct(R"({"users":[]})").empty());
    EXPECT_EQ(refusal([] { parse_group_direct(R"({})"); }), "bad_request");
    EXPECT_EQ(refusal([] { parse_group_direct(R"({"users":"bob"})"); }), "bad_request");
    EXPECT_EQ(refusal([] { parse_group_direct(R"({"users":["bob",7]})"); }), "bad_request");
    EXPECT_EQ(refusal([] { parse_group_direct("[1"); }), "invalid_json");
}

}  // namespace
}  // namespace chatd::protocol
