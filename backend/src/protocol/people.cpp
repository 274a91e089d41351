#include "protocol/people.hpp"

#include <boost/json.hpp>

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
