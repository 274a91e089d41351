// libFuzzer target: the HTTP request path as far as it runs without a socket. The first line
// of the input is a request target, the rest a body: the target is parsed like
// Server::dispatch does (boost::urls::parse_origin_form, decoded non-empty segments, query
// params), matched against chatd's route table with net::Router, its path parameters are
// validated like the handlers do; the body is parsed with boost::json like parse_body.
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "chat/validation.hpp"
#include "net/router.hpp"

namespace {

using Router = chatd::net::Router<int>;

Router make_router() {
    Router router;
    int id = 0;
    for (const auto* route :
         {"GET /healthz", "GET /readyz", "GET /metrics", "POST /send", "GET /users",
          "GET /api/config", "POST /api/register", "POST /api/login", "POST /api/logout",
          "GET /api/me", "GET /api/rooms", "POST /api/rooms", "POST /api/rooms/{room}/join",
          "POST /api/rooms/{room}/leave", "POST /api/dm/{user_name}",
          "GET /api/rooms/{room}/messages", "GET /api/users/online"}) {
        const std::string_view text(route);
        const auto space = text.find(' ');
        router.add(std::string(text.substr(0, space)), std::string(text.substr(space + 1)), ++id);
    }
    return router;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Router router = make_router();
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto newline = input.find('\n');
    const auto target = input.substr(0, newline);
    const auto body =
        newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);

    if (auto parsed = boost::urls::parse_origin_form(target)) {
        std::vector<std::string> segments;
        for (auto segment : parsed->segments()) {
            if (!segment.empty()) segments.emplace_back(std::move(segment));
        }
        for (auto param : parsed->params()) {
            (void)param.key.size();
            (void)param.value.size();
        }
        for (const auto* method : {"GET", "POST"}) {
            if (auto match = router.match(method, segments)) {
                for (const auto& [key, value] : match->params) {
                    if (key == "room") {
                        (void)chatd::chat::valid_room_name(value);
                        (void)chatd::chat::is_direct_room(value);
                    } else {
                        (void)chatd::chat::valid_user_name(value);
                    }
                }
            }
        }
    }
    boost::system::error_code ec;
    const auto value = boost::json::parse(body, ec);
    if (!ec && value.is_object()) {
        for (const auto& [key, member] : value.get_object()) {
            if (member.is_string()) (void)chatd::chat::valid_user_name(member.get_string());
        }
    }
    return 0;
}
