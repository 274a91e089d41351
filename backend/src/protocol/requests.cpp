#include "protocol/requests.hpp"

#include <boost/json/parse.hpp>
#include <charconv>

#include "chat/error.hpp"
#include "chat/validation.hpp"

namespace chatd::protocol {
namespace {

namespace json = boost::json;
using chat::Error;
using chat::ErrorCode;

std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

json::value parse_json_body(std::string_view body) {
    boost::system::error_code ec;
    auto value = json::parse(body, ec);
    if (ec) {
        throw Error(ErrorCode::InvalidJson, "the body is not valid JSON");
    }
    return value;
}

const json::object& body_object(const json::value& body) {
    if (!body.is_object()) {
        throw Error(ErrorCode::BadRequest, "the body must be a JSON object");
    }
    return body.get_object();
}

std::string string_member(const json::object& object, std::string_view key, bool required) {
    const auto* value = object.if_contains(key);
    if (!value || value->is_null()) {
        if (required) {
            throw Error(ErrorCode::BadRequest, "missing string field \"" + std::string(key) + "\"");
        }
        return {};
    }
    if (!value->is_string()) {
        throw Error(ErrorCode::BadRequest, "field \"" + std::string(key) + "\" must be a string");
    }
    return std::string(value->get_string());
}

SeedSend parse_seed_send(std::string_view body) {
    const auto value = parse_json_body(body);
    const auto& object = body_object(value);
    SeedSend send{string_member(object, "content", true), string_member(object, "user_name", true),
                  std::nullopt};
    if (object.contains("sent_at") && !object.at("sent_at").is_null()) {
        send.sent_at = string_member(object, "sent_at", true);
        if (!chat::valid_sent_at(*send.sent_at)) {
            throw Error(ErrorCode::InvalidSentAt,
                        "sent_at must be at most " + std::to_string(chat::kMaxSentAtBytes) +
                            " bytes of text without control or bidirectional control "
                            "characters (for example DD/MM/YYYY HH:MM:SS or ISO 8601)");
        }
    }
    if (!chat::valid_user_name(send.user_name)) {
        throw Error(ErrorCode::InvalidName, "invalid user_name");
    }
    return send;
}

Credentials parse_credentials(std::string_view body) {
    const auto value = parse_json_body(body);
    const auto& object = body_object(value);
    Credentials credentials{string_member(object, "user_name", true), std::nullopt};
    if (const auto* password = object.if_contains("password"); password && !password->is_null()) {
        credentials.password = string_member(object, "password", true);
    }
    return credentials;
}

std::string parse_room_name(std::string_view body) {
    const auto value = parse_json_body(body);
    return string_member(body_object(value), "name", true);
}

HistoryQuery parse_history_query(const std::unordered_map<std::string, std::string>& query) {
    auto number = [&](const char* key) -> std::optional<std::int64_t> {
        auto it = query.find(key);
        if (it == query.end()) return std::nullopt;
        auto value = parse_int(it->second);
        if (!value || *value < 0) {
            throw Error(ErrorCode::BadRequest,
                        std::string(key) + " must be a non-negative integer");
        }
        return value;
    };
    HistoryQuery history;
    history.before = number("before");
    history.after = number("after");
    history.limit = number("limit").value_or(50);
    return history;
}

MembersQuery parse_members_query(const std::unordered_map<std::string, std::string>& query) {
    MembersQuery members;
    if (auto it = query.find("after"); it != query.end()) {
        if (it->second.size() > 256 || !chat::valid_utf8(it->second)) {
            throw Error(ErrorCode::BadRequest, "after must be a name (UTF-8, at most 256 bytes)");
        }
        members.after = it->second;
    }
    if (auto it = query.find("limit"); it != query.end()) {
        members.limit = parse_int(it->second);
        if (!members.limit || *members.limit < 1) {
            throw Error(ErrorCode::BadRequest, "limit must be a positive integer");
        }
    }
    return members;
}

std::int64_t parse_message_id(std::string_view segment) {
    const auto id = parse_int(segment);
    if (!id || *id < 1) throw Error(ErrorCode::BadRequest, "a message id is a positive integer");
    return *id;
}

std::int64_t parse_read_mark(std::string_view body) {
    const auto value = parse_json_body(body);
    const auto* id = body_object(value).if_contains("id");
    if (id != nullptr) {
        if (const auto* signed_id = id->if_int64(); signed_id && *signed_id > 0) return *signed_id;
        if (const auto* unsigned_id = id->if_uint64();
            unsigned_id && *unsigned_id <= static_cast<std::uint64_t>(INT64_MAX)) {
            return static_cast<std::int64_t>(*unsigned_id);
        }
    }
    throw Error(ErrorCode::BadRequest, "\"id\" must be a message id (a positive integer)");
}

PeopleQuery parse_people_query(const std::unordered_map<std::string, std::string>& query) {
    PeopleQuery people;
    if (const auto q = query.find("q"); q != query.end()) people.q = q->second;
    if (const auto after = query.find("after"); after != query.end()) people.after = after->second;
    if (const auto limit = query.find("limit"); limit != query.end()) {
        std::int64_t value = 0;
        const auto& text = limit->second;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size()) {
            throw Error(ErrorCode::BadRequest, "limit must be an integer");
        }
        people.limit = value;
    }
    return people;
}

std::string parse_display_name(std::string_view body) {
    const auto value = parse_json_body(body);
    const auto* name = body_object(value).if_contains("display_name");
    if (name == nullptr || !name->is_string()) {
        throw Error(ErrorCode::BadRequest, "display_name must be a string");
    }
    return std::string(name->get_string());
}

std::vector<std::string> parse_group_direct(std::string_view body) {
    const auto value = parse_json_body(body);
    const auto* users = body_object(value).if_contains("users");
    if (users == nullptr || !users->is_array()) {
        throw Error(ErrorCode::BadRequest, "users must be an array of user names");
    }
    std::vector<std::string> names;
    names.reserve(users->get_array().size());
    for (const auto& user : users->get_array()) {
        if (!user.is_string()) throw Error(ErrorCode::BadRequest, "users must be user names");
        names.emplace_back(user.get_string());
    }
    return names;
}

model::NotifyLevel parse_notify_level(std::string_view body) {
    const auto value = parse_json_body(body);
    const auto* level = body_object(value).if_contains("level");
    std::optional<model::NotifyLevel> parsed;
    if (level != nullptr && level->is_string())
        parsed = model::parse_notify_level(level->get_string());
    if (!parsed) throw Error(ErrorCode::InvalidNotifyLevel, "level is one of all, mentions, muted");
    return *parsed;
}

}  // namespace chatd::protocol
