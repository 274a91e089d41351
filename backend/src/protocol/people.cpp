#include "protocol/people.hpp"

#include <boost/json.hpp>
#include <charconv>

#include "chat/error.hpp"
#include "protocol/requests.hpp"

namespace chatd::protocol {
namespace {

namespace json = boost::json;

json::object person_object(const chat::PersonCard& person) {
    return json::object{{"user_name", person.user_name},
                        {"display_name", person.display_name},
                        {"status", chat::status_name(person.status)},
                        {"last_seen_ms", person.last_seen_ms}};
}

}  // namespace

PeopleQuery parse_people_query(const std::unordered_map<std::string, std::string>& query) {
    PeopleQuery people;
    if (const auto q = query.find("q"); q != query.end()) people.q = q->second;
    if (const auto after = query.find("after"); after != query.end()) people.after = after->second;
    if (const auto limit = query.find("limit"); limit != query.end()) {
        std::int64_t value = 0;
        const auto& text = limit->second;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc{} || end != text.data() + text.size()) {
            throw chat::Error(chat::ErrorCode::BadRequest, "limit must be an integer");
        }
        people.limit = value;
    }
    return people;
}

std::string parse_display_name(std::string_view body) {
    const auto value = parse_json_body(body);
    const auto* name = body_object(value).if_contains("display_name");
    if (name == nullptr || !name->is_string()) {
        throw chat::Error(chat::ErrorCode::BadRequest, "display_name must be a string");
    }
    return std::string(name->get_string());
}

std::string person_body(const chat::PersonCard& person) {
    return json::serialize(person_object(person));
}

std::string people_body(const chat::PeoplePage& page) {
    json::array people;
    people.reserve(page.people.size());
    for (const auto& person : page.people) people.emplace_back(person_object(person));
    return json::serialize(
        json::object{{"people", std::move(people)}, {"has_more", page.has_more}});
}

}  // namespace chatd::protocol
