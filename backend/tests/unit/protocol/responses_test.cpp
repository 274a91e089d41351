// The HTTP API's answer bodies (protocol/responses.hpp): exact bytes, key order included, as the
// brief's clients and docs/protocol.md show them.
#include "protocol/responses.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "chat/codec.hpp"
#include "model/message.hpp"

namespace chatd::protocol {
namespace {

TEST(Responses, TheBriefsBodies) {
    EXPECT_EQ(status_body("message sent"), R"({"status":"message sent"})");
    EXPECT_EQ(users_body({"alice", "bob"}), R"({"users":["alice","bob"]})");
    EXPECT_EQ(users_body({}), R"({"users":[]})");
}

TEST(Responses, AnErrorIsItsCodeAndASentence) {
    EXPECT_EQ(error_body("not_found", "no such \"room\""),
              R"({"error":{"code":"not_found","message":"no such \"room\""}})");
}

TEST(Responses, AccountsAndRooms) {
    EXPECT_EQ(session_body(chat::Session{"alice", "tok", 1700000000000}),
              R"({"user_name":"alice","token":"tok","expires_ms":1700000000000})");
    EXPECT_EQ(signed_out_body(2), R"({"signed_out_sessions":2})");
    EXPECT_EQ(profile_body(chat::Profile{"alice", {"general", "rust"}}),
              R"({"user_name":"alice","rooms":["general","rust"]})");
    EXPECT_EQ(rooms_body({{"general", true}, {"rust", false}}),
              R"({"rooms":[{"name":"general","joined":true},{"name":"rust","joined":false}]})");
    EXPECT_EQ(room_body({"rust", false}), R"({"name":"rust","joined":false})");
    EXPECT_EQ(direct_body("dm:alice:bob"), R"({"name":"dm:alice:bob"})");
}

TEST(Responses, ConfigNamesTheAuthModeAndTheLimits) {
    chat::ServiceOptions options;
    options.version = "1.2.3";
    EXPECT_EQ(
        config_body(options),
        R"({"auth":"password","version":"1.2.3","limits":{"max_message_length":4000,)"
        R"("max_frame_bytes":65536,"rate_per_second":2E1,"rate_burst":4E1,)"
        R"("edit_window_seconds":0,"max_reactions_per_message":50,)"
        R"("max_room_mention_members":50,"max_members_page":1000,"max_group_dm_members":8}})");
    options.open_auth = true;
    EXPECT_TRUE(config_body(options).starts_with(R"({"auth":"open","version":"1.2.3",)"));
}

TEST(Responses, AHistoryPageHoldsMessageObjectsAndWhetherMoreExist) {
    model::Message message;
    message.id = 5;
    message.prev_id = 4;
    message.room = "general";
    message.user_name = "alice";
    message.content = "m5";
    message.sent_at = "27/11/2026 21:51:18";
    message.ts_ms = 1;
    message.client_msg_id = "c-5";
    const auto body = history_body(chat::HistoryPage{{message}, true, 9});
    EXPECT_EQ(body,
              R"({"messages":[)" + chat::message_json(message) + R"(],"has_more":true,"as_of":9})");
    EXPECT_NE(body.find(R"("prev_id":4)"), std::string::npos);
    EXPECT_EQ(history_body(chat::HistoryPage{}), R"({"messages":[],"has_more":false,"as_of":0})");
}

TEST(Responses, AFoundMessageIsItsFoldedObjectAndTheIdItReflects) {
    model::Message message;
    message.id = 41;
    message.prev_id = 40;
    message.room = "general";
    message.user_name = "alice";
    message.content = "hi all";
    message.edited_ms = 1795816279000;
    message.reactions = {{"x", {"bob"}}};
    EXPECT_EQ(message_body(chat::FoundMessage{message, 47}),
              R"({"message":)" + chat::message_json(message) + R"(,"as_of":47})");
    EXPECT_NE(chat::message_json(message).find(R"("edited_ts":1795816279000)"), std::string::npos);
}

}  // namespace
}  // namespace chatd::protocol
