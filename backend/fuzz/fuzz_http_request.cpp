// libFuzzer target: the HTTP request path as far as it runs without a socket. The first line
// of the input is "METHOD target" or just a target (then GET and POST are both tried), the
// rest is the body. The target is parsed like Server::dispatch does
// (boost::urls::parse_origin_form, decoded non-empty segments, query params into a map),
// matched against chatd's route table with net::Router; the matched endpoint's path
// parameters are validated like its handler does, and its query and JSON body are read with
// the same functions the handler calls (protocol/requests.hpp). Every endpoint is reached: the
// seed corpus (backend/fuzz/corpus/http_request) has a request for each, and http_request.dict
// holds the route segments and body keys.
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chat/error.hpp"
#include "chat/validation.hpp"
#include "net/router.hpp"
#include "protocol/requests.hpp"

namespace {

namespace chat = chatd::chat;
namespace protocol = chatd::protocol;
namespace model = chatd::model;

// What a handler reads besides the path (net/server.cpp, Server::Impl::add_routes).
enum class Reads {
    Nothing,
    SeedSend,
    Credentials,
    LoginCredentials,
    RoomName,
    HistoryQuery,
    PeopleQuery,
    DisplayName,
    MembersQuery,
    GroupDirect,
    NotifyLevel,
};

struct Endpoint {
    const char* route;
    Reads reads;
};

// chatd's route table, in the order add_routes() adds it.
constexpr Endpoint kEndpoints[] = {
    {"GET /healthz", Reads::Nothing},
    {"GET /readyz", Reads::Nothing},
    {"GET /metrics", Reads::Nothing},
    {"POST /send", Reads::SeedSend},
    {"GET /users", Reads::Nothing},
    {"GET /api/config", Reads::Nothing},
    {"POST /api/register", Reads::Credentials},
    {"POST /api/login", Reads::LoginCredentials},
    {"POST /api/logout", Reads::Nothing},
    {"GET /api/me", Reads::Nothing},
    {"GET /api/rooms", Reads::Nothing},
    {"POST /api/rooms", Reads::RoomName},
    {"POST /api/rooms/{room}/join", Reads::Nothing},
    {"POST /api/rooms/{room}/leave", Reads::Nothing},
    {"POST /api/dm/{user_name}", Reads::Nothing},
    {"POST /api/dm", Reads::GroupDirect},
    {"GET /api/rooms/{room}/members", Reads::MembersQuery},
    {"GET /api/rooms/{room}/messages", Reads::HistoryQuery},
    {"PUT /api/rooms/{room}/notify", Reads::NotifyLevel},
    {"GET /api/users/online", Reads::Nothing},
    {"GET /api/people", Reads::PeopleQuery},
    {"PUT /api/me/profile", Reads::DisplayName},
    {"GET /api/people/{user_name}", Reads::Nothing},
};

using Router = chatd::net::Router<Reads>;

Router make_router() {
    Router router;
    for (const auto& endpoint : kEndpoints) {
        const std::string_view text(endpoint.route);
        const auto space = text.find(' ');
        router.add(std::string(text.substr(0, space)), std::string(text.substr(space + 1)),
                   endpoint.reads);
    }
    return router;
}

void read_request(Reads reads,
                  const std::unordered_map<std::string, std::string>& query,
                  std::string_view body) {
    switch (reads) {
        case Reads::Nothing:
            return;
        case Reads::SeedSend: {
            const auto send = protocol::parse_seed_send(body);
            if (!chat::valid_user_name(send.user_name)) std::abort();
            return;
        }
        case Reads::Credentials:
        case Reads::LoginCredentials: {
            const auto credentials = protocol::parse_credentials(body);
            (void)chat::valid_user_name(credentials.user_name);
            return;
        }
        case Reads::RoomName: {
            (void)chat::valid_room_name(protocol::parse_room_name(body));
            return;
        }
        case Reads::HistoryQuery: {
            const auto history = protocol::parse_history_query(query);
            if ((history.before && *history.before < 0) || (history.after && *history.after < 0) ||
                history.limit < 0) {
                std::abort();
            }
            return;
        }
        case Reads::PeopleQuery: {
            const auto people = protocol::parse_people_query(query);
            (void)chat::valid_utf8(people.q);
            return;
        }
        case Reads::DisplayName: {
            (void)chat::utf8_length(protocol::parse_display_name(body));
            return;
        }
        case Reads::GroupDirect: {
            for (const auto& user : protocol::parse_group_direct(body)) {
                (void)chat::valid_user_name(user);
            }
            return;
        }
        case Reads::NotifyLevel: {
            // A level that parses is one of the three, and says so under its own name.
            const auto level = protocol::parse_notify_level(body);
            if (model::parse_notify_level(model::notify_level_name(level)) != level) std::abort();
            return;
        }
        case Reads::MembersQuery: {
            const auto members = protocol::parse_members_query(query);
            if (members.after.size() > 256 || !chat::valid_utf8(members.after) ||
                (members.limit && *members.limit < 1)) {
                std::abort();
            }
            return;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Router router = make_router();
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto newline = input.find('\n');
    auto target = input.substr(0, newline);
    const auto body =
        newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);
    std::vector<std::string_view> methods{"GET", "POST", "PUT"};
    if (const auto space = target.find(' '); space != std::string_view::npos) {
        methods = {target.substr(0, space)};
        target.remove_prefix(space + 1);
    }

    auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed) return 0;
    std::vector<std::string> segments;
    for (auto segment : parsed->segments()) {
        if (!segment.empty()) segments.emplace_back(std::move(segment));
    }
    std::unordered_map<std::string, std::string> query;
    for (auto param : parsed->params()) query[param.key] = param.value;
    for (const auto method : methods) {
        auto match = router.match(method, segments);
        if (!match || !match->handler) continue;
        for (const auto& [key, value] : match->params) {
            if (key == "room") {
                (void)chat::valid_room_name(value);
                (void)chat::is_direct_room(value);
            } else {
                (void)chat::valid_user_name(value);
            }
        }
        try {
            read_request(*match->handler, query, body);
        } catch (const chat::Error& error) {
            // The readers refuse only with the codes HTTP answers 400.
            using enum chat::ErrorCode;
            if (error.code != InvalidJson && error.code != BadRequest &&
                error.code != InvalidSentAt && error.code != InvalidName &&
                error.code != InvalidNotifyLevel) {
                std::abort();
            }
        }
    }
    return 0;
}
