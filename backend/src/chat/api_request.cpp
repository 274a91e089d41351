#include "chat/api_request.hpp"

#include <boost/json/parse.hpp>
#include <charconv>

#include "chat/service.hpp"
#include "chat/validation.hpp"

namespace chatd::chat {
namespace {

namespace json = boost::json;
using metrics::Limit;

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
        throw ApiError(400, "invalid_json", "the body is not valid JSON", Limit::InvalidJson);
    }
    return value;
}

const json::object& body_object(const json::value& body) {
    if (!body.is_object()) {
        throw ApiError(400, "bad_request", "the body must be a JSON object", Limit::BadRequest);
    }
    return body.get_object();
}

std::string string_member(const json::object& object, std::string_view key, bool required) {
    const auto* value = object.if_contains(key);
    if (!value || value->is_null()) {
        if (required) {
            throw ApiError(400, "bad_request", "missing string field \"" + std::string(key) + "\"",
                           Limit::BadRequest);
        }
        return {};
    }
    if (!value->is_string()) {
        throw ApiError(400, "bad_request", "field \"" + std::string(key) + "\" must be a string",
                       Limit::BadRequest);
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
        if (!valid_sent_at(*send.sent_at)) {
            throw ApiError(400, "invalid_sent_at",
                           "sent_at must be at most " + std::to_string(kMaxSentAtBytes) +
                               " bytes of text without control or bidirectional control "
                               "characters (for example DD/MM/YYYY HH:MM:SS or ISO 8601)",
                           Limit::InvalidSentAt);
        }
    }
    if (!valid_user_name(send.user_name)) {
        throw ApiError(400, "invalid_name", "invalid user_name", Limit::InvalidName);
    }
    return send;
}

HistoryQuery parse_history_query(const std::unordered_map<std::string, std::string>& query) {
    auto number = [&](const char* key) -> std::optional<std::int64_t> {
        auto it = query.find(key);
        if (it == query.end()) return std::nullopt;
        auto value = parse_int(it->second);
        if (!value || *value < 0) {
            throw ApiError(400, "bad_request", std::string(key) + " must be a non-negative integer",
                           Limit::BadRequest);
        }
        return value;
    };
    HistoryQuery history;
    history.before = number("before");
    history.after = number("after");
    history.limit = number("limit").value_or(50);
    return history;
}

}  // namespace chatd::chat
