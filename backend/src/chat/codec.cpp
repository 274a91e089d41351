#include "chat/codec.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <ctime>

#include "chat/validation.hpp"

namespace chatd::chat {
namespace json = boost::json;

namespace {

const json::string* string_field(const json::object& object, std::string_view key) {
    const auto* value = object.if_contains(key);
    return value ? value->if_string() : nullptr;
}

DecodeError bad_request(std::string message, std::string client_msg_id = {}) {
    return DecodeError{"bad_request", std::move(message), std::move(client_msg_id)};
}

json::object message_object(const model::Message& message) {
    return json::object{
        {"id", message.id},
        {"room", message.room},
        {"user_name", message.user_name},
        {"content", message.content},
        {"sent_at", message.sent_at},
        {"ts", message.ts_ms},
        {"client_msg_id", message.client_msg_id},
        {"kind", to_string(message.kind)},
        {"prev_id", message.prev_id},
    };
}

json::array string_array(const std::vector<std::string>& items) {
    json::array out;
    out.reserve(items.size());
    for (const auto& item : items) out.emplace_back(item);
    return out;
}

}  // namespace

DecodeResult decode_client_frame(std::string_view text) {
    boost::system::error_code ec;
    json::value value = json::parse(text, ec);
    if (ec) return DecodeError{"invalid_json", "the frame is not valid JSON", {}};
    const auto* object = value.if_object();
    if (!object) return DecodeError{"invalid_json", "a frame must be a JSON object", {}};
    const auto* type = string_field(*object, "type");
    if (!type) return bad_request("missing string field \"type\"");

    if (*type == "send") {
        const auto* client_msg_id = string_field(*object, "client_msg_id");
        std::string id = client_msg_id ? std::string(*client_msg_id) : std::string();
        // Characters, not bytes (docs/protocol.md); Boost.JSON has checked that it is UTF-8.
        if (id.empty() || utf8_length(id) > 64) {
            return bad_request("\"client_msg_id\" must be a string of 1 to 64 characters", id);
        }
        const auto* room = string_field(*object, "room");
        const auto* content = string_field(*object, "content");
        if (!room) return bad_request("missing string field \"room\"", id);
        if (!content) return bad_request("missing string field \"content\"", id);
        return SendCommand{std::string(*room), std::string(*content), std::move(id)};
    }
    if (*type == "typing") {
        const auto* room = string_field(*object, "room");
        if (!room) return bad_request("missing string field \"room\"");
        return TypingCommand{std::string(*room)};
    }
    if (*type == "ping") return PingCommand{};
    return DecodeError{
        "unknown_type", fmt::format("unknown frame type \"{}\"", std::string_view(*type)), {}};
}

std::string message_json(const model::Message& message) {
    return json::serialize(message_object(message));
}

std::string encode_message(const model::Message& message) {
    return json::serialize(json::object{{"type", "message"}, {"message", message_object(message)}});
}

std::string encode_seed_message(const model::Message& message) {
    return json::serialize(json::object{
        {"content", message.content},
        {"user_name", message.user_name},
        {"sent_at", message.sent_at},
    });
}

std::string encode_ack(const model::Message& message, bool duplicate) {
    return json::serialize(json::object{
        {"type", "ack"},
        {"client_msg_id", message.client_msg_id},
        {"id", message.id},
        {"room", message.room},
        {"ts", message.ts_ms},
        {"sent_at", message.sent_at},
        {"duplicate", duplicate},
    });
}

std::string encode_error(std::string_view code,
                         std::string_view message,
                         std::string_view client_msg_id) {
    json::object frame{{"type", "error"}, {"code", code}, {"message", message}};
    if (!client_msg_id.empty()) frame["client_msg_id"] = client_msg_id;
    return json::serialize(frame);
}

std::string encode_typing(const model::Typing& typing) {
    return json::serialize(
        json::object{{"type", "typing"}, {"room", typing.room}, {"user_name", typing.user_name}});
}

std::string encode_presence(const model::Presence& presence) {
    return json::serialize(json::object{
        {"type", "presence"}, {"user_name", presence.user_name}, {"online", presence.online}});
}

std::string encode_membership(const model::Membership& membership) {
    return json::serialize(json::object{{"type", "membership"},
                                        {"room", membership.room},
                                        {"user_name", membership.user_name},
                                        {"joined", membership.joined}});
}

std::string encode_welcome(std::string_view user_name,
                           const std::vector<std::string>& rooms,
                           const std::vector<std::string>& online) {
    return json::serialize(json::object{{"type", "welcome"},
                                        {"user_name", user_name},
                                        {"rooms", string_array(rooms)},
                                        {"online", string_array(online)}});
}

std::string encode_pong() {
    return R"({"type":"pong"})";
}

std::string_view to_string(model::MessageKind kind) {
    return model::kind_name(kind);
}

std::string format_sent_at(std::int64_t ts_ms) {
    const std::time_t seconds = static_cast<std::time_t>(ts_ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    return fmt::format("{:02}/{:02}/{:04} {:02}:{:02}:{:02}", utc.tm_mday, utc.tm_mon + 1,
                       utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

}  // namespace chatd::chat
