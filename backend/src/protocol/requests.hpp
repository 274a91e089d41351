#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "model/notify.hpp"

namespace chatd::protocol {

// The JSON bodies and query parameters of the HTTP API, read as net/server.cpp's handlers take
// them. Kept apart from the socket code so that the fuzz targets (backend/fuzz) run exactly this
// code. Each function throws chat::Error (chat/error.hpp) for a request it refuses: InvalidJson,
// BadRequest, InvalidSentAt or InvalidName.

// The body as JSON; InvalidJson when it is not.
boost::json::value parse_json_body(std::string_view body);

// The body as an object; BadRequest for any other JSON value.
const boost::json::object& body_object(const boost::json::value& body);

// A string member; BadRequest when it is not a string, or missing/null and required
// (not required: missing or null is the empty string).
std::string string_member(const boost::json::object& object, std::string_view key, bool required);

// POST /send (the brief's seed API): {"content", "user_name", "sent_at"?}. sent_at is kept as
// sent (the brief's clients format it themselves) when valid_sent_at (chat/validation.hpp)
// accepts it, else InvalidSentAt; a null or missing one means "now".
struct SeedSend {
    std::string content;
    std::string user_name;
    std::optional<std::string> sent_at;
};
// Also refuses an invalid user_name (InvalidName). The content is checked by the service
// (ChatService::post_seed), as for a native send.
SeedSend parse_seed_send(std::string_view body);

// POST /api/register and /api/login: {"user_name", "password"}. The password is absent
// (nullopt) when missing or null; whether it is required is the service's rule.
struct Credentials {
    std::string user_name;
    std::optional<std::string> password;
};
Credentials parse_credentials(std::string_view body);

// POST /api/rooms: {"name"}.
std::string parse_room_name(std::string_view body);

// GET /api/rooms/{room}/messages?before=&after=&limit=: each a non-negative decimal integer
// (BadRequest otherwise); limit defaults to 50.
struct HistoryQuery {
    std::optional<std::int64_t> before;
    std::optional<std::int64_t> after;
    std::int64_t limit = 50;
};
HistoryQuery parse_history_query(const std::unordered_map<std::string, std::string>& query);

// GET /api/rooms/{room}/members?after=&limit=: after is a name (at most 256 bytes of UTF-8,
// default "": from the first), limit a positive decimal integer (default: the page bound).
struct MembersQuery {
    std::string after;
    std::optional<std::int64_t> limit;
};
MembersQuery parse_members_query(const std::unordered_map<std::string, std::string>& query);

// The {id} of /api/rooms/{room}/messages/{id}: a positive decimal integer (BadRequest otherwise).
std::int64_t parse_message_id(std::string_view segment);

// POST /api/rooms/{room}/read: {"id"}, a positive integer (BadRequest otherwise).
std::int64_t parse_read_mark(std::string_view body);

// --- People (docs/protocol.md "People") ---

struct PeopleQuery {
    std::string q;
    std::string after;
    std::optional<std::int64_t> limit;
};

// GET /api/people?q=&after=&limit=: BadRequest for a limit that is not an integer.
PeopleQuery parse_people_query(const std::unordered_map<std::string, std::string>& query);

// PUT /api/me/profile {"display_name": str}: BadRequest without a string display_name.
std::string parse_display_name(std::string_view body);

// POST /api/dm {"users": [str, ...]}: BadRequest unless users is an array of strings (the names
// are checked by ChatService::open_group_direct).
std::vector<std::string> parse_group_direct(std::string_view body);
// PUT /api/rooms/{room}/notify {"level": "all"|"mentions"|"muted"}: InvalidNotifyLevel for a
// missing or other level.
model::NotifyLevel parse_notify_level(std::string_view body);

}  // namespace chatd::protocol
