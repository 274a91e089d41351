#include "chat/codec.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <variant>

#ifndef CHATD_PROTOCOL_EXAMPLES
#error "CHATD_PROTOCOL_EXAMPLES must name the protocol/examples directory"
#endif

namespace {

using namespace chatd;
namespace json = boost::json;
using chat::ChangeCommand;
using chat::ClientCommand;
using chat::DecodeError;
using chat::PingCommand;
using chat::SendCommand;
using chat::TypingCommand;

// The text of one golden file in protocol/examples.
std::string example_text(const std::string& name) {
    const auto path = std::filesystem::path(CHATD_PROTOCOL_EXAMPLES) / name;
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open " + path.string());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

json::value example(const std::string& name) {
    return json::parse(example_text(name));
}

// A description of a JSON value's structure: object keys (recursively) and value kinds, not
// values. Integers of either signedness are one kind, so 42 and 42u compare equal.
std::string shape(const json::value& value) {
    switch (value.kind()) {
        case json::kind::null:
            return "null";
        case json::kind::bool_:
            return "bool";
        case json::kind::int64:
        case json::kind::uint64:
            return "integer";
        case json::kind::double_:
            return "double";
        case json::kind::string:
            return "string";
        case json::kind::array: {
            std::string out = "[";
            for (const auto& item : value.get_array()) out += shape(item) + ",";
            return out + "]";
        }
        case json::kind::object: {
            std::map<std::string, std::string> fields;  // sorted: key order does not matter
            for (const auto& [key, item] : value.get_object()) {
                fields[std::string(key)] = shape(item);
            }
            std::string out = "{";
            for (const auto& [key, item] : fields) out += key + ":" + item + ",";
            return out + "}";
        }
    }
    return "?";
}

std::set<std::string> keys_of(const json::value& value) {
    std::set<std::string> keys;
    for (const auto& [key, item] : value.as_object()) keys.emplace(key);
    return keys;
}

DecodeError decode_error(std::string_view text) {
    auto result = chat::decode_client_frame(text);
    if (auto* error = std::get_if<DecodeError>(&result)) return *error;
    ADD_FAILURE() << "decoded without error: " << text;
    return {};
}

ClientCommand decode_command(std::string_view text) {
    auto result = chat::decode_client_frame(text);
    if (auto* command = std::get_if<ClientCommand>(&result)) return *command;
    const auto& error = std::get<DecodeError>(result);
    ADD_FAILURE() << "refused with " << error.code << " (" << error.message << "): " << text;
    return PingCommand{};
}

// The message of server_message.json.
model::Message golden_text_message() {
    return model::Message{42,
                          "general",
                          "alice",
                          "hi everyone",
                          "27/11/2026 21:51:18",
                          1795816278000,
                          "c-1f3a9",
                          model::MessageKind::Text,
                          41};
}

// ---------------------------------------------------------------------------------------------
// Decoding client frames

TEST(CodecDecode, GoldenSendFrameDecodesToSendCommand) {
    const auto command = decode_command(example_text("client_send.json"));
    const auto* send = std::get_if<SendCommand>(&command);
    ASSERT_NE(send, nullptr);
    const auto golden = example("client_send.json").as_object();
    EXPECT_EQ(send->room, golden.at("room").as_string());
    EXPECT_EQ(send->content, golden.at("content").as_string());
    EXPECT_EQ(send->client_msg_id, golden.at("client_msg_id").as_string());
}

TEST(CodecDecode, GoldenTypingFrameDecodesToTypingCommand) {
    const auto command = decode_command(example_text("client_typing.json"));
    const auto* typing = std::get_if<TypingCommand>(&command);
    ASSERT_NE(typing, nullptr);
    EXPECT_EQ(typing->room, example("client_typing.json").at("room").as_string());
}

TEST(CodecDecode, GoldenTypingStopFrameDecodesToAStoppedTypingCommand) {
    const auto command = decode_command(example_text("client_typing_stop.json"));
    const auto* typing = std::get_if<TypingCommand>(&command);
    ASSERT_NE(typing, nullptr);
    EXPECT_EQ(typing->room, example("client_typing_stop.json").at("room").as_string());
    EXPECT_TRUE(typing->stopped);
    const auto started = decode_command(example_text("client_typing.json"));
    EXPECT_FALSE(std::get<TypingCommand>(started).stopped);
}

TEST(CodecDecode, GoldenPingFrameDecodesToPingCommand) {
    const auto command = decode_command(example_text("client_ping.json"));
    EXPECT_TRUE(std::holds_alternative<PingCommand>(command));
}

TEST(CodecDecode, GoldenReplyFrameDecodesToSendCommandWithReplyTo) {
    const auto command = decode_command(example_text("client_send_reply.json"));
    const auto* send = std::get_if<SendCommand>(&command);
    ASSERT_NE(send, nullptr);
    const auto golden = example("client_send_reply.json").as_object();
    EXPECT_EQ(send->content, golden.at("content").as_string());
    EXPECT_EQ(send->client_msg_id, golden.at("client_msg_id").as_string());
    EXPECT_EQ(send->reply_to, golden.at("reply_to").as_int64());
}

TEST(CodecDecode, ASendWithoutReplyToOrWithANullOneIsNotAReply) {
    for (const char* text :
         {R"({"type":"send","room":"general","content":"hi","client_msg_id":"c"})",
          R"({"type":"send","room":"general","content":"hi","client_msg_id":"c",)"
          R"("reply_to":null})"}) {
        const auto command = decode_command(text);
        ASSERT_TRUE(std::holds_alternative<SendCommand>(command)) << text;
        EXPECT_EQ(std::get<SendCommand>(command).reply_to, 0) << text;
    }
}

TEST(CodecDecode, AReplyToThatIsNotAPositiveIntegerIsBadRequestEchoingClientMsgId) {
    for (const char* reply_to :
         {"0", "-1", "1.5", "\"41\"", "[41]", "true", "9223372036854775808", "1e3"}) {
        const auto text =
            std::string(
                R"({"type":"send","room":"general","content":"hi","client_msg_id":"c-8",)") +
            R"("reply_to":)" + reply_to + "}";
        const auto error = decode_error(text);
        EXPECT_EQ(error.code, "bad_request") << text;
        EXPECT_EQ(error.client_msg_id, "c-8") << text;
    }
}

TEST(CodecDecode, TheLargestMessageIdIsAccepted) {
    const auto command = decode_command(
        R"({"type":"delete","room":"general","id":9223372036854775807,"client_msg_id":"c"})");
    ASSERT_TRUE(std::holds_alternative<ChangeCommand>(command));
    EXPECT_EQ(std::get<ChangeCommand>(command).target_id, 9223372036854775807);
}

// Each golden change frame, the kind it decodes to and its `content` (edit: the new content;
// react/unreact: the emoji; delete: nothing).
struct GoldenChange {
    const char* file;
    model::MessageKind kind;
    const char* content_key;  // nullptr: no content
};

TEST(CodecDecode, GoldenChangeFramesDecodeToChangeCommands) {
    for (const auto& golden_change :
         {GoldenChange{"client_edit.json", model::MessageKind::Edit, "content"},
          GoldenChange{"client_delete.json", model::MessageKind::Delete, nullptr},
          GoldenChange{"client_react.json", model::MessageKind::React, "emoji"},
          GoldenChange{"client_unreact.json", model::MessageKind::Unreact, "emoji"}}) {
        const auto command = decode_command(example_text(golden_change.file));
        const auto* change = std::get_if<ChangeCommand>(&command);
        ASSERT_NE(change, nullptr) << golden_change.file;
        const auto golden = example(golden_change.file).as_object();
        EXPECT_EQ(change->kind, golden_change.kind) << golden_change.file;
        EXPECT_EQ(change->room, golden.at("room").as_string()) << golden_change.file;
        EXPECT_EQ(change->target_id, golden.at("id").as_int64()) << golden_change.file;
        EXPECT_EQ(change->client_msg_id, golden.at("client_msg_id").as_string())
            << golden_change.file;
        if (golden_change.content_key) {
            EXPECT_EQ(change->content, golden.at(golden_change.content_key).as_string())
                << golden_change.file;
        } else {
            EXPECT_EQ(change->content, "") << golden_change.file;
        }
    }
}

TEST(CodecDecode, AChangeWithoutAValidClientMsgIdIsBadRequest) {
    for (const char* type : {"edit", "delete", "react", "unreact"}) {
        for (const char* key : {"", R"(,"client_msg_id":"")", R"(,"client_msg_id":5)"}) {
            const auto text = std::string(R"({"type":")") + type +
                              R"(","room":"general","id":41,"content":"x","emoji":"x")" + key + "}";
            const auto error = decode_error(text);
            EXPECT_EQ(error.code, "bad_request") << text;
            EXPECT_TRUE(error.client_msg_id.empty()) << text;
        }
    }
}

TEST(CodecDecode, AChangeWithAMissingOrInvalidIdOrRoomIsBadRequestEchoingClientMsgId) {
    for (const char* type : {"edit", "delete", "react", "unreact"}) {
        for (const char* fields :
             {R"("room":"general")", R"("room":"general","id":0)", R"("room":"general","id":-4)",
              R"("room":"general","id":"41")", R"("room":"general","id":4.5)",
              R"("room":"general","id":null)", R"("id":41)", R"("room":7,"id":41)"}) {
            const auto text = std::string(R"({"type":")") + type + R"(",)" + fields +
                              R"(,"content":"x","emoji":"x","client_msg_id":"c-9"})";
            const auto error = decode_error(text);
            EXPECT_EQ(error.code, "bad_request") << text;
            EXPECT_EQ(error.client_msg_id, "c-9") << text;
        }
    }
}

TEST(CodecDecode, AnEditNeedsContentAndAReactionAnEmoji) {
    for (const char* text :
         {R"({"type":"edit","room":"general","id":41,"client_msg_id":"c-9"})",
          R"({"type":"edit","room":"general","id":41,"content":3,"client_msg_id":"c-9"})",
          R"({"type":"edit","room":"general","id":41,"emoji":"x","client_msg_id":"c-9"})",
          R"({"type":"react","room":"general","id":41,"client_msg_id":"c-9"})",
          R"({"type":"react","room":"general","id":41,"content":"x","client_msg_id":"c-9"})",
          R"({"type":"unreact","room":"general","id":41,"emoji":["x"],"client_msg_id":"c-9"})"}) {
        const auto error = decode_error(text);
        EXPECT_EQ(error.code, "bad_request") << text;
        EXPECT_EQ(error.client_msg_id, "c-9") << text;
    }
}

TEST(CodecDecode, ADeleteIgnoresAnyContentItCarries) {
    const auto command = decode_command(
        R"({"type":"delete","room":"general","id":41,"content":"x","client_msg_id":"c"})");
    ASSERT_TRUE(std::holds_alternative<ChangeCommand>(command));
    EXPECT_EQ(std::get<ChangeCommand>(command).content, "");
}

TEST(CodecDecode, StoredKindsThatAreNotChangesAreNotClientFrames) {
    for (const char* type : {"text", "join", "leave", "message", "ack"}) {
        const auto text = std::string(R"({"type":")") + type +
                          R"(","room":"general","id":41,"content":"x","client_msg_id":"c"})";
        EXPECT_EQ(decode_error(text).code, "unknown_type") << text;
    }
}

TEST(CodecDecode, UnknownExtraFieldsAreIgnored) {
    const auto command = decode_command(R"({"type":"ping","extra":[1,2,3]})");
    EXPECT_TRUE(std::holds_alternative<PingCommand>(command));
}

TEST(CodecDecode, EscapedNonAsciiContentDecodesToUtf8) {
    const auto command = decode_command(
        R"({"type":"send","room":"general","content":"Zo\u00eb \u65e5\u672c \"q\"","client_msg_id":"x"})");
    const auto* send = std::get_if<SendCommand>(&command);
    ASSERT_NE(send, nullptr);
    EXPECT_EQ(send->content, "Zo\xC3\xAB \xE6\x97\xA5\xE6\x9C\xAC \"q\"");
}

TEST(CodecDecode, TextThatIsNotJsonIsInvalidJson) {
    for (const char* text : {"", "hello", "{", R"({"type":"ping",})", "{'type':'ping'}"}) {
        const auto error = decode_error(text);
        EXPECT_EQ(error.code, "invalid_json") << text;
        EXPECT_FALSE(error.message.empty());
        EXPECT_TRUE(error.client_msg_id.empty());
    }
}

TEST(CodecDecode, JsonThatIsNotAnObjectIsInvalidJson) {
    for (const char* text : {"[]", R"([{"type":"ping"}])", "42", R"("ping")", "null", "true"}) {
        EXPECT_EQ(decode_error(text).code, "invalid_json") << text;
    }
}

TEST(CodecDecode, UnknownTypeIsUnknownType) {
    const auto error = decode_error(R"({"type":"shout","room":"general"})");
    EXPECT_EQ(error.code, "unknown_type");
    EXPECT_NE(error.message.find("shout"), std::string::npos) << error.message;
}

TEST(CodecDecode, TypeNamesAreCaseSensitive) {
    EXPECT_EQ(decode_error(R"({"type":"PING"})").code, "unknown_type");
}

TEST(CodecDecode, MissingOrMistypedTypeIsBadRequest) {
    for (const char* text : {"{}", R"({"type":1})", R"({"type":null})", R"({"type":["ping"]})"}) {
        EXPECT_EQ(decode_error(text).code, "bad_request") << text;
    }
}

TEST(CodecDecode, SendWithoutClientMsgIdIsBadRequestWithoutEcho) {
    const auto error = decode_error(R"({"type":"send","room":"general","content":"hi"})");
    EXPECT_EQ(error.code, "bad_request");
    EXPECT_TRUE(error.client_msg_id.empty());
}

TEST(CodecDecode, SendWithNonStringClientMsgIdIsBadRequest) {
    const auto error =
        decode_error(R"({"type":"send","room":"general","content":"hi","client_msg_id":7})");
    EXPECT_EQ(error.code, "bad_request");
    EXPECT_TRUE(error.client_msg_id.empty());
}

TEST(CodecDecode, SendWithEmptyClientMsgIdIsBadRequest) {
    const auto error =
        decode_error(R"({"type":"send","room":"general","content":"hi","client_msg_id":""})");
    EXPECT_EQ(error.code, "bad_request");
}

TEST(CodecDecode, ClientMsgIdOf64CharactersIsAcceptedAnd65IsBadRequestEchoingIt) {
    const std::string id64(64, 'a');
    const std::string id65(65, 'a');
    const auto command = decode_command(
        R"({"type":"send","room":"general","content":"hi","client_msg_id":")" + id64 + "\"}");
    ASSERT_TRUE(std::holds_alternative<SendCommand>(command));
    EXPECT_EQ(std::get<SendCommand>(command).client_msg_id, id64);

    const auto error = decode_error(
        R"({"type":"send","room":"general","content":"hi","client_msg_id":")" + id65 + "\"}");
    EXPECT_EQ(error.code, "bad_request");
    EXPECT_EQ(error.client_msg_id, id65);
}

TEST(CodecDecode, ClientMsgIdLengthIsCountedInCharactersNotBytes) {
    std::string id64;
    for (int i = 0; i < 64; ++i) id64 += "\xC3\xA9";  // 128 bytes
    const auto command = decode_command(
        R"({"type":"send","room":"general","content":"hi","client_msg_id":")" + id64 + "\"}");
    ASSERT_TRUE(std::holds_alternative<SendCommand>(command));
    EXPECT_EQ(std::get<SendCommand>(command).client_msg_id, id64);

    const auto error =
        decode_error(R"({"type":"send","room":"general","content":"hi","client_msg_id":")" + id64 +
                     "\xC3\xA9\"}");
    EXPECT_EQ(error.code, "bad_request");
}

TEST(CodecDecode, InvalidUtf8InsideAStringIsInvalidJson) {
    EXPECT_EQ(decode_error("{\"type\":\"send\",\"room\":\"general\",\"content\":\"\xC3\","
                           "\"client_msg_id\":\"c\"}")
                  .code,
              "invalid_json");
}

TEST(CodecDecode, SendWithMissingOrMistypedRoomIsBadRequestEchoingClientMsgId) {
    for (const char* text : {R"({"type":"send","content":"hi","client_msg_id":"c-9"})",
                             R"({"type":"send","room":3,"content":"hi","client_msg_id":"c-9"})"}) {
        const auto error = decode_error(text);
        EXPECT_EQ(error.code, "bad_request") << text;
        EXPECT_EQ(error.client_msg_id, "c-9") << text;
    }
}

TEST(CodecDecode, SendWithMissingOrMistypedContentIsBadRequestEchoingClientMsgId) {
    for (const char* text :
         {R"({"type":"send","room":"general","client_msg_id":"c-9"})",
          R"({"type":"send","room":"general","content":{"text":"hi"},"client_msg_id":"c-9"})",
          R"({"type":"send","room":"general","content":null,"client_msg_id":"c-9"})"}) {
        const auto error = decode_error(text);
        EXPECT_EQ(error.code, "bad_request") << text;
        EXPECT_EQ(error.client_msg_id, "c-9") << text;
    }
}

TEST(CodecDecode, TypingWithMissingOrMistypedRoomIsBadRequest) {
    EXPECT_EQ(decode_error(R"({"type":"typing"})").code, "bad_request");
    EXPECT_EQ(decode_error(R"({"type":"typing","room":false})").code, "bad_request");
    EXPECT_EQ(decode_error(R"({"type":"typing_stop"})").code, "bad_request");
}

// ---------------------------------------------------------------------------------------------
// Encoding server frames: every encoder matches its golden file's keys and value types.

void expect_matches_golden(const std::string& encoded, const std::string& golden_file) {
    json::value actual;
    ASSERT_NO_THROW(actual = json::parse(encoded)) << encoded;
    const auto golden = example(golden_file);
    ASSERT_TRUE(actual.is_object()) << encoded;
    EXPECT_EQ(keys_of(actual), keys_of(golden)) << golden_file << ": " << encoded;
    EXPECT_EQ(shape(actual), shape(golden)) << golden_file << ": " << encoded;
    EXPECT_EQ(actual.at("type"), golden.at("type")) << golden_file;
}

// The read states of the golden welcome frame.
std::vector<model::ReadState> golden_read_states() {
    return {{"dm:alice:bob", 40, 2, false, 44, 1},
            {"general", 42, 0, false, 42, 0},
            {"rust-fans", 7, 999, true, 3120, 12}};
}

TEST(CodecEncode, WelcomeHasTheGoldenShapeAndValues) {
    const auto encoded = chat::encode_welcome(
        "alice", {"general", "rust-fans", "dm:alice:bob"}, {"alice", "bob"}, golden_read_states(),
        {"bob"},
        {{"dm:alice:bob", model::NotifyLevel::Muted}, {"rust-fans", model::NotifyLevel::All}});
    EXPECT_EQ(json::parse(encoded), example("server_welcome.json"));
    EXPECT_EQ(keys_of(json::parse(encoded)), keys_of(example("server_welcome.json")));
}

TEST(CodecEncode, WelcomeWithNoRoomsStillHasArrays) {
    const auto frame = json::parse(chat::encode_welcome("alice", {}, {}, {}));
    EXPECT_EQ(keys_of(frame), keys_of(example("server_welcome.json")));
    EXPECT_TRUE(frame.at("rooms").is_array());
    EXPECT_TRUE(frame.at("online").is_array());
    EXPECT_TRUE(frame.at("away").is_array());
    EXPECT_TRUE(frame.at("read").is_array());
    EXPECT_TRUE(frame.at("notify").as_object().empty());
}

TEST(CodecEncode, NotifyFrameAndBodyNameTheRoomAndLevel) {
    const auto live = chat::encode_notify_level({"rust-fans", model::NotifyLevel::All});
    expect_matches_golden(live, "server_notify.json");
    EXPECT_EQ(json::parse(live), example("server_notify.json"));
    EXPECT_EQ(json::parse(chat::notify_level_json({"dm:a:b", model::NotifyLevel::Muted})),
              json::parse(R"({"room": "dm:a:b", "level": "muted"})"));
}

TEST(CodecEncode, ReadStateAndReadAckHaveTheGoldenShapeAndValues) {
    const model::ReadState state{"dm:alice:bob", 44, 0, false, 44};
    const auto live = chat::encode_read_state(state);
    expect_matches_golden(live, "server_read_state.json");
    EXPECT_EQ(json::parse(live), example("server_read_state.json"));
    const auto ack = chat::encode_read_ack("r-1", {state});
    EXPECT_EQ(json::parse(ack), example("server_read_ack.json"));
    // unread_capped only when the count stopped at the cap.
    const auto capped = json::parse(chat::encode_read_state({"general", 1, 999, true, 5000}));
    EXPECT_TRUE(capped.at("unread_capped").as_bool());
    EXPECT_EQ(capped.at("unread").as_int64(), 999);
}

TEST(CodecDecode, ReadAndReadAllGoldenFramesDecode) {
    const auto command = decode_command(example_text("client_read.json"));
    const auto* read = std::get_if<chat::ReadCommand>(&command);
    ASSERT_NE(read, nullptr);
    EXPECT_EQ(read->room, "dm:alice:bob");
    EXPECT_EQ(read->up_to, 44);
    EXPECT_EQ(read->client_msg_id, "r-1");
    const auto all = decode_command(example_text("client_read_all.json"));
    const auto* read_all = std::get_if<chat::ReadAllCommand>(&all);
    ASSERT_NE(read_all, nullptr);
    EXPECT_EQ(read_all->client_msg_id, "r-2");
}

TEST(CodecDecode, AReadFrameWithoutAPositiveIdOrARoomIsABadRequestNamingItsKey) {
    for (const char* text : {R"({"type":"read","room":"general","client_msg_id":"r-9"})",
                             R"({"type":"read","room":"general","id":0,"client_msg_id":"r-9"})",
                             R"({"type":"read","room":"general","id":-4,"client_msg_id":"r-9"})",
                             R"({"type":"read","room":"general","id":1.5,"client_msg_id":"r-9"})",
                             R"({"type":"read","room":"general","id":"7","client_msg_id":"r-9"})",
                             R"({"type":"read","id":7,"client_msg_id":"r-9"})"}) {
        const auto error = decode_error(text);
        EXPECT_EQ(error.code, "bad_request") << text;
        EXPECT_EQ(error.client_msg_id, "r-9") << text;
    }
    EXPECT_EQ(decode_error(R"({"type":"read_all"})").code, "bad_request");
    EXPECT_EQ(decode_error(R"({"type":"read","room":"general","id":7})").code, "bad_request");
}

TEST(CodecEncode, AckHasTheGoldenShapeAndValues) {
    const auto encoded = chat::encode_ack(golden_text_message(), false);
    expect_matches_golden(encoded, "server_ack.json");
    EXPECT_EQ(json::parse(encoded), example("server_ack.json"));
}

TEST(CodecEncode, DuplicateAckSaysDuplicateTrue) {
    const auto frame = json::parse(chat::encode_ack(golden_text_message(), true));
    EXPECT_EQ(frame.at("duplicate"), json::value(true));
}

TEST(CodecEncode, TextMessageHasTheGoldenShapeAndValues) {
    const auto encoded = chat::encode_message(golden_text_message());
    expect_matches_golden(encoded, "server_message.json");
    EXPECT_EQ(json::parse(encoded), example("server_message.json"));
}

TEST(CodecEncode, AMentionHasTheGoldenShapeAndValuesAndATombstoneMentionsNobody) {
    auto mention = golden_text_message();
    mention.id = 45;
    mention.room = "rust-fans";
    mention.content = "@bob @room standup in 5, write to carol@example.org if late";
    mention.sent_at = "27/11/2026 21:53:00";
    mention.ts_ms = 1795816380000;
    mention.client_msg_id = "c-9";
    mention.prev_id = 44;
    mention.mentions = {"bob"};
    mention.mentions_room = true;
    const auto encoded = chat::encode_message(mention);
    expect_matches_golden(encoded, "server_message_mention.json");
    EXPECT_EQ(json::parse(encoded), example("server_message_mention.json"));
    mention.deleted = true;
    const auto tombstone = json::parse(chat::encode_message(mention)).at("message").as_object();
    EXPECT_FALSE(tombstone.contains("mentions"));
    EXPECT_FALSE(tombstone.contains("mentions_room"));
}

TEST(CodecEncode, JoinMessageHasTheGoldenShapeAndKindJoin) {
    model::Message join{43,
                        "general",
                        "bob",
                        std::string(chat::kConnectionMessage),
                        "27/11/2026 21:52:03",
                        1795816323000,
                        "",
                        model::MessageKind::Join,
                        42};
    const auto encoded = chat::encode_message(join);
    expect_matches_golden(encoded, "server_message_join.json");
    EXPECT_EQ(json::parse(encoded), example("server_message_join.json"));
}

TEST(CodecEncode, LeaveMessageHasKindLeave) {
    auto leave = golden_text_message();
    leave.kind = model::MessageKind::Leave;
    EXPECT_EQ(json::parse(chat::encode_message(leave)).at("message").at("kind"), "leave");
}

// A message as the golden file holds it, built field by field from the model (not from JSON),
// so that each new field is checked against its golden name and encoding.
model::Message change_of(model::MessageId id,
                         std::string user,
                         std::string content,
                         std::int64_t ts,
                         std::string client_msg_id,
                         model::MessageKind kind,
                         model::MessageId target_id,
                         model::MessageId reply_to = 0) {
    model::Message message{id,
                           "general",
                           std::move(user),
                           std::move(content),
                           chat::format_sent_at(ts),
                           ts,
                           std::move(client_msg_id),
                           kind,
                           id - 1};
    message.target_id = target_id;
    message.reply_to = reply_to;
    return message;
}

TEST(CodecEncode, ChangeAndReplyMessagesHaveTheGoldenShapeAndValues) {
    const std::string thumbs = "\xF0\x9F\x91\x8D";
    struct Case {
        model::Message message;
        const char* file;
    };
    for (const auto& [message, file] :
         {Case{change_of(43, "alice", "hi all", 1795816279000, "c-3", model::MessageKind::Edit, 41),
               "server_message_edit.json"},
          Case{change_of(44, "bob", "yes", 1795816280000, "b-7", model::MessageKind::Text, 0, 41),
               "server_message_reply.json"},
          Case{change_of(45, "bob", thumbs, 1795816281000, "b-8", model::MessageKind::React, 41),
               "server_message_react.json"},
          Case{change_of(46, "bob", thumbs, 1795816282000, "b-9", model::MessageKind::Unreact, 41),
               "server_message_unreact.json"},
          Case{change_of(47, "bob", "", 1795816283000, "b-10", model::MessageKind::Delete, 44, 41),
               "server_message_delete.json"}}) {
        const auto encoded = chat::encode_message(message);
        expect_matches_golden(encoded, file);
        EXPECT_EQ(json::parse(encoded), example(file)) << file;
    }
}

TEST(CodecEncode, AFoldedMessageHasTheGoldenShapeAndValues) {
    auto message =
        change_of(41, "alice", "hi all", 1795816277000, "c-1", model::MessageKind::Text, 0);
    message.edited_ms = 1795816279000;
    message.reactions = {{"\xF0\x9F\x91\x8D", {"bob", "carol"}}, {"\xF0\x9F\x8E\x89", {"alice"}}};
    message.reply_count = 2;
    message.last_reply_ms = 1795816290000;
    const auto encoded = chat::encode_message(message);
    expect_matches_golden(encoded, "server_message_folded.json");
    EXPECT_EQ(json::parse(encoded), example("server_message_folded.json"));
}

TEST(CodecEncode, ADeletedMessageHasTheGoldenShapeAndValues) {
    auto message = change_of(44, "bob", "", 1795816280000, "b-7", model::MessageKind::Text, 0, 41);
    message.deleted = true;
    const auto encoded = chat::encode_message(message);
    expect_matches_golden(encoded, "server_message_deleted.json");
    EXPECT_EQ(json::parse(encoded), example("server_message_deleted.json"));
}

TEST(CodecEncode, APlainMessageCarriesNoneOfTheRoomEventFields) {
    const auto object = json::parse(chat::message_json(golden_text_message()));
    for (const char* key : {"target_id", "reply_to", "edited_ts", "deleted", "reactions",
                            "reply_count", "last_reply_ts"}) {
        EXPECT_FALSE(object.as_object().contains(key)) << key;
    }
}

TEST(CodecEncode, AnAckForAChangeHasTheAckShape) {
    const auto message =
        change_of(43, "alice", "hi all", 1795816279000, "c-3", model::MessageKind::Edit, 41);
    expect_matches_golden(chat::encode_ack(message, false), "server_ack.json");
}

TEST(CodecEncode, MessageJsonIsTheMessageObjectOfAMessageFrame) {
    const auto message = golden_text_message();
    EXPECT_EQ(json::parse(chat::message_json(message)),
              json::parse(chat::encode_message(message)).at("message"));
}

TEST(CodecEncode, TypingHasTheGoldenShapeAndValues) {
    const auto encoded = chat::encode_typing(model::Typing{"general", "bob"});
    expect_matches_golden(encoded, "server_typing.json");
    EXPECT_EQ(json::parse(encoded), example("server_typing.json"));
}

TEST(CodecEncode, TypingStopHasTheGoldenShapeAndValues) {
    const auto encoded = chat::encode_typing(model::Typing{"general", "bob", true});
    expect_matches_golden(encoded, "server_typing_stop.json");
    EXPECT_EQ(json::parse(encoded), example("server_typing_stop.json"));
}

TEST(CodecEncode, PresenceHasTheGoldenShapeAndValues) {
    const auto encoded = chat::encode_presence(model::Presence{"bob", true});
    expect_matches_golden(encoded, "server_presence.json");
    EXPECT_EQ(json::parse(encoded), example("server_presence.json"));
    EXPECT_EQ(json::parse(chat::encode_presence(model::Presence{"bob", false})),
              json::parse(R"({"type":"presence","user_name":"bob","online":false,)"
                          R"("status":"offline"})"));
}

TEST(CodecEncode, AwayPresenceHasTheGoldenShapeAndValues) {
    const auto encoded = chat::encode_presence(model::Presence{"bob", true, true});
    expect_matches_golden(encoded, "server_presence_away.json");
    EXPECT_EQ(json::parse(encoded), example("server_presence_away.json"));
    // `online` stays true: a client that knows nothing of away shows the user online.
    EXPECT_EQ(json::parse(encoded).at("online"), json::value(true));
}

TEST(CodecDecode, StatusGoldenFrameDecodesAndBadStatusesAreBadRequests) {
    const auto command = decode_command(example_text("client_status.json"));
    const auto* status = std::get_if<chat::StatusCommand>(&command);
    ASSERT_NE(status, nullptr);
    EXPECT_TRUE(status->away);
    const auto active = decode_command(R"({"type":"status","status":"active"})");
    ASSERT_NE(std::get_if<chat::StatusCommand>(&active), nullptr);
    EXPECT_FALSE(std::get<chat::StatusCommand>(active).away);
    for (const char* text :
         {R"({"type":"status"})", R"({"type":"status","status":"online"})",
          R"({"type":"status","status":"AWAY"})", R"({"type":"status","status":true})",
          R"({"type":"status","status":null})", R"({"type":"status","status":""})"}) {
        EXPECT_EQ(decode_error(text).code, "bad_request") << text;
    }
}

TEST(CodecEncode, ProfileHasTheGoldenShapeAndValues) {
    const auto encoded = chat::encode_profile(model::ProfileChanged{"bob", "Bob Brown"});
    expect_matches_golden(encoded, "server_profile.json");
    EXPECT_EQ(json::parse(encoded), example("server_profile.json"));
}

TEST(CodecEncode, MembershipHasTheGoldenShapeAndValues) {
    const auto encoded = chat::encode_membership(model::Membership{"rust-fans", "carol", true});
    expect_matches_golden(encoded, "server_membership.json");
    EXPECT_EQ(json::parse(encoded), example("server_membership.json"));
}

TEST(CodecEncode, ErrorWithClientMsgIdHasTheGoldenShapeAndValues) {
    const auto encoded =
        chat::encode_error("message_too_long", "a message has at most 4000 characters", "c-1f3a9");
    expect_matches_golden(encoded, "server_error.json");
    EXPECT_EQ(json::parse(encoded), example("server_error.json"));
}

TEST(CodecEncode, ClientMsgIdReusedErrorHasTheGoldenShapeAndValues) {
    // ChatService::send's refusal of a key that names the user's message in another room.
    const auto encoded = chat::encode_error(
        "client_msg_id_reused",
        "this client_msg_id names your message in another room: use a new one", "c-1f3a9");
    expect_matches_golden(encoded, "server_error_client_msg_id_reused.json");
    EXPECT_EQ(json::parse(encoded), example("server_error_client_msg_id_reused.json"));
}

TEST(CodecEncode, ErrorWithoutClientMsgIdOmitsTheKey) {
    const auto frame = json::parse(chat::encode_error("invalid_json", "not JSON"));
    auto expected = keys_of(example("server_error.json"));
    expected.erase("client_msg_id");
    EXPECT_EQ(keys_of(frame), expected);
}

TEST(CodecEncode, ErrorEscapesQuotesInItsMessage) {
    const auto frame = json::parse(chat::encode_error("unknown_type", R"(unknown "x\y")"));
    EXPECT_EQ(frame.at("message"), R"(unknown "x\y")");
}

TEST(CodecEncode, PongHasTheGoldenShapeAndValues) {
    expect_matches_golden(chat::encode_pong(), "server_pong.json");
    EXPECT_EQ(json::parse(chat::encode_pong()), example("server_pong.json"));
}

TEST(CodecEncode, SeedMessageHasExactlyContentUserNameAndSentAt) {
    const auto frame = json::parse(chat::encode_seed_message(golden_text_message()));
    EXPECT_EQ(keys_of(frame), (std::set<std::string>{"content", "user_name", "sent_at"}));
    EXPECT_EQ(keys_of(frame), keys_of(example("seed_message.json")));
    EXPECT_EQ(shape(frame), shape(example("seed_message.json")));
    EXPECT_EQ(frame, example("seed_message.json"));
}

TEST(CodecEncode, SeedMessageKeepsTheSenderSuppliedSentAtText) {
    auto message = golden_text_message();
    message.sent_at = "whenever, really";
    EXPECT_EQ(json::parse(chat::encode_seed_message(message)).at("sent_at"), "whenever, really");
}

TEST(CodecEncode, EncodedFramesAreValidJsonForNonAsciiAndControlCharacters) {
    auto message = golden_text_message();
    message.content = "Zo\xC3\xAB\n\t\x01 \xE6\x97\xA5\xE6\x9C\xAC \"quoted\" \\";
    const auto frame = json::parse(chat::encode_message(message));
    EXPECT_EQ(frame.at("message").at("content").as_string(), message.content);
}

// ---------------------------------------------------------------------------------------------
// Times and kinds

TEST(CodecFormatSentAt, EpochIsFirstOfJanuary1970) {
    EXPECT_EQ(chat::format_sent_at(0), "01/01/1970 00:00:00");
}

TEST(CodecFormatSentAt, LeapDayIsFormattedAsDayMonthYearInUtc) {
    EXPECT_EQ(chat::format_sent_at(1709214330000), "29/02/2024 13:45:30");
    EXPECT_EQ(chat::format_sent_at(951868799000), "29/02/2000 23:59:59");
}

TEST(CodecFormatSentAt, DayAfterAFebruary28IsMarchFirstInACommonYear) {
    EXPECT_EQ(chat::format_sent_at(1677628800000), "01/03/2023 00:00:00");
}

TEST(CodecFormatSentAt, MillisecondsAreTruncatedNotRounded) {
    EXPECT_EQ(chat::format_sent_at(1795816278999), "27/11/2026 21:51:18");
}

TEST(CodecFormatSentAt, GoldenAckSentAtMatchesItsTs) {
    const auto ack = example("server_ack.json");
    EXPECT_EQ(chat::format_sent_at(ack.at("ts").as_int64()), ack.at("sent_at").as_string());
}

TEST(CodecKind, ConnectionAndDisconnectionMessagesAreJoinAndLeave) {
    EXPECT_EQ(chat::kind_of_content("CONNECTION_MESSAGE"), model::MessageKind::Join);
    EXPECT_EQ(chat::kind_of_content("DISCONNECTION_MESSAGE"), model::MessageKind::Leave);
}

TEST(CodecKind, AnythingElseIsText) {
    for (const char* content : {"hi", "", "connection_message", " CONNECTION_MESSAGE",
                                "DISCONNECTION_MESSAGE ", "CONNECTION_MESSAGES"}) {
        EXPECT_EQ(chat::kind_of_content(content), model::MessageKind::Text) << content;
    }
}

TEST(CodecKind, KindNamesAreTheWireNames) {
    EXPECT_EQ(chat::to_string(model::MessageKind::Text), "text");
    EXPECT_EQ(chat::to_string(model::MessageKind::Join), "join");
    EXPECT_EQ(chat::to_string(model::MessageKind::Leave), "leave");
    EXPECT_EQ(chat::to_string(model::MessageKind::Edit), "edit");
    EXPECT_EQ(chat::to_string(model::MessageKind::Delete), "delete");
    EXPECT_EQ(chat::to_string(model::MessageKind::React), "react");
    EXPECT_EQ(chat::to_string(model::MessageKind::Unreact), "unreact");
}

}  // namespace
