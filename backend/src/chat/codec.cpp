#include "chat/codec.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cstdint>
#include <ctime>
#include <limits>
#include <optional>

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

// A message id a client names: a JSON integer from 1 to 2^63 - 1. nullopt for anything else
// (a fraction, a string, a negative number, zero).
std::optional<model::MessageId> message_id_of(const json::value& value) {
    if (const auto* signed_id = value.if_int64()) {
        if (*signed_id > 0) return *signed_id;
    } else if (const auto* unsigned_id = value.if_uint64()) {
        if (*unsigned_id > 0 && *unsigned_id <= static_cast<std::uint64_t>(
                                                    std::numeric_limits<model::MessageId>::max())) {
            return static_cast<model::MessageId>(*unsigned_id);
        }
    }
    return std::nullopt;
}

// Every frame that stores something names its own key (docs/protocol.md): 1 to 64 characters.
// Empty when the frame has none or an invalid one (then `error` says why).
std::string client_msg_id_of(const json::object& object, std::optional<DecodeError>& error) {
    const auto* client_msg_id = string_field(object, "client_msg_id");
    std::string id = client_msg_id ? std::string(*client_msg_id) : std::string();
    // Characters, not bytes; Boost.JSON has checked that it is UTF-8.
    if (id.empty() || utf8_length(id) > 64) {
        error = bad_request("\"client_msg_id\" must be a string of 1 to 64 characters", id);
    }
    return id;
}

// edit, delete, react, unreact: {"room", "id", "content" (edit) | "emoji" (react, unreact)}.
DecodeResult decode_change(const json::object& object, model::MessageKind kind) {
    std::optional<DecodeError> error;
    auto id = client_msg_id_of(object, error);
    if (error) return *error;
    const auto* room = string_field(object, "room");
    if (!room) return bad_request("missing string field \"room\"", id);
    const auto* target = object.if_contains("id");
    const auto target_id = target ? message_id_of(*target) : std::nullopt;
    if (!target_id) return bad_request("\"id\" must be a message id (a positive integer)", id);
    std::string content;
    if (kind == model::MessageKind::Edit) {
        const auto* text = string_field(object, "content");
        if (!text) return bad_request("missing string field \"content\"", id);
        content = std::string(*text);
    } else if (kind == model::MessageKind::React || kind == model::MessageKind::Unreact) {
        const auto* emoji = string_field(object, "emoji");
        if (!emoji) return bad_request("missing string field \"emoji\"", id);
        content = std::string(*emoji);
    }
    return ChangeCommand{kind, std::string(*room), *target_id, std::move(content), std::move(id)};
}

json::array string_array(const std::vector<std::string>& items) {
    json::array out;
    out.reserve(items.size());
    for (const auto& item : items) out.emplace_back(item);
    return out;
}

json::array reactions_array(const std::vector<model::Reaction>& reactions) {
    json::array out;
    out.reserve(reactions.size());
    for (const auto& reaction : reactions) {
        json::array users;
        users.reserve(reaction.users.size());
        for (const auto& user : reaction.users) users.emplace_back(user);
        out.emplace_back(json::object{{"emoji", reaction.emoji}, {"users", std::move(users)}});
    }
    return out;
}

json::object message_object(const model::Message& message) {
    json::object object{
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
    // The room-event fields only when they are not their defaults, so that a plain message keeps
    // the shape clients have always read.
    if (message.target_id != 0) object["target_id"] = message.target_id;
    if (message.reply_to != 0) object["reply_to"] = message.reply_to;
    if (message.edited_ms != 0) object["edited_ts"] = message.edited_ms;
    if (message.deleted) object["deleted"] = true;
    if (!message.reactions.empty()) object["reactions"] = reactions_array(message.reactions);
    if (message.reply_count != 0) object["reply_count"] = message.reply_count;
    if (message.last_reply_ms != 0) object["last_reply_ts"] = message.last_reply_ms;
    // A tombstone mentions nobody any more.
    if (!message.deleted) {
        if (!message.mentions.empty()) object["mentions"] = string_array(message.mentions);
        if (message.mentions_room) object["mentions_room"] = true;
    }
    return object;
}

// A room's read state as every frame carries it. `object` may hold fields to put first (a
// frame's type).
json::object read_state_object(const model::ReadState& state, json::object object = {}) {
    object["room"] = state.room;
    object["last_read_id"] = state.last_read_id;
    object["unread"] = state.unread;
    if (state.unread_capped) object["unread_capped"] = true;
    object["as_of"] = state.as_of;
    object["mentions"] = state.mentions;
    return object;
}

json::array read_state_array(const std::vector<model::ReadState>& states) {
    json::array out;
    out.reserve(states.size());
    for (const auto& state : states) out.emplace_back(read_state_object(state));
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
        std::optional<DecodeError> error;
        auto id = client_msg_id_of(*object, error);
        if (error) return *error;
        const auto* room = string_field(*object, "room");
        const auto* content = string_field(*object, "content");
        if (!room) return bad_request("missing string field \"room\"", id);
        if (!content) return bad_request("missing string field \"content\"", id);
        model::MessageId reply_to = 0;
        if (const auto* parent = object->if_contains("reply_to"); parent && !parent->is_null()) {
            const auto parent_id = message_id_of(*parent);
            if (!parent_id) {
                return bad_request("\"reply_to\" must be a message id (a positive integer)", id);
            }
            reply_to = *parent_id;
        }
        return SendCommand{std::string(*room), std::string(*content), std::move(id), reply_to};
    }
    if (const auto kind = model::kind_from_name(*type); kind && model::is_change(*kind)) {
        return decode_change(*object, *kind);
    }
    if (*type == "typing" || *type == "typing_stop") {
        const auto* room = string_field(*object, "room");
        if (!room) return bad_request("missing string field \"room\"");
        return TypingCommand{std::string(*room), *type == "typing_stop"};
    }
    if (*type == "ping") return PingCommand{};
    if (*type == "status") {
        const auto* status = string_field(*object, "status");
        if (!status || (*status != "away" && *status != "active")) {
            return bad_request("\"status\" must be \"away\" or \"active\"");
        }
        return StatusCommand{*status == "away"};
    }
    if (*type == "read" || *type == "read_all") {
        std::optional<DecodeError> error;
        auto id = client_msg_id_of(*object, error);
        if (error) return *error;
        if (*type == "read_all") return ReadAllCommand{std::move(id)};
        const auto* room = string_field(*object, "room");
        if (!room) return bad_request("missing string field \"room\"", id);
        const auto* up_to = object->if_contains("id");
        const auto up_to_id = up_to ? message_id_of(*up_to) : std::nullopt;
        if (!up_to_id) return bad_request("\"id\" must be a message id (a positive integer)", id);
        return ReadCommand{std::string(*room), *up_to_id, std::move(id)};
    }
    return DecodeError{
        "unknown_type", fmt::format("unknown frame type \"{}\"", std::string_view(*type)), {}};
}

std::string message_json(const model::Message& message) {
    return json::serialize(message_object(message));
}

std::string read_state_json(const model::ReadState& state) {
    return json::serialize(read_state_object(state));
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
    return json::serialize(json::object{{"type", typing.stopped ? "typing_stop" : "typing"},
                                        {"room", typing.room},
                                        {"user_name", typing.user_name}});
}

std::string encode_presence(const model::Presence& presence) {
    // `online` stays for clients that know nothing of away: an away user is online to them.
    const std::string_view status = !presence.online ? "offline"
                                    : presence.away  ? "away"
                                                     : "online";
    return json::serialize(json::object{{"type", "presence"},
                                        {"user_name", presence.user_name},
                                        {"online", presence.online},
                                        {"status", status}});
}

std::string encode_membership(const model::Membership& membership) {
    return json::serialize(json::object{{"type", "membership"},
                                        {"room", membership.room},
                                        {"user_name", membership.user_name},
                                        {"joined", membership.joined}});
}

std::string encode_profile(const model::ProfileChanged& profile) {
    return json::serialize(json::object{
        {"type", "profile"},
        {"person",
         json::object{{"user_name", profile.user_name}, {"display_name", profile.display_name}}}});
}

std::string encode_welcome(std::string_view user_name,
                           const std::vector<std::string>& rooms,
                           const std::vector<std::string>& online,
                           const std::vector<model::ReadState>& read,
                           const std::vector<std::string>& away,
                           const std::vector<model::RoomNotifyLevel>& notify) {
    // The rooms whose level is not their default (docs/protocol.md "Notification levels").
    json::object levels;
    for (const auto& setting : notify) {
        levels[setting.room] = model::notify_level_name(setting.level);
    }
    return json::serialize(json::object{{"type", "welcome"},
                                        {"user_name", user_name},
                                        {"rooms", string_array(rooms)},
                                        {"online", string_array(online)},
                                        {"away", string_array(away)},
                                        {"read", read_state_array(read)},
                                        {"notify", std::move(levels)}});
}

std::string encode_notify_level(const model::RoomNotifyLevel& setting) {
    return json::serialize(json::object{{"type", "notify"},
                                        {"room", setting.room},
                                        {"level", model::notify_level_name(setting.level)}});
}

std::string notify_level_json(const model::RoomNotifyLevel& setting) {
    return json::serialize(
        json::object{{"room", setting.room}, {"level", model::notify_level_name(setting.level)}});
}

std::string encode_read_state(const model::ReadState& state) {
    return json::serialize(read_state_object(state, json::object{{"type", "read_state"}}));
}

std::string encode_read_ack(std::string_view client_msg_id,
                            const std::vector<model::ReadState>& states) {
    return json::serialize(json::object{{"type", "read_ack"},
                                        {"client_msg_id", client_msg_id},
                                        {"rooms", read_state_array(states)}});
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
