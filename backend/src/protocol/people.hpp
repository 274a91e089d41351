#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "chat/people.hpp"

// The people endpoints' requests and answers (docs/protocol.md "People").
namespace chatd::protocol {

struct PeopleQuery {
    std::string q;
    std::string after;
    std::optional<std::int64_t> limit;
};

// GET /api/people?q=&after=&limit=: BadRequest for a limit that is not an integer.
PeopleQuery parse_people_query(const std::unordered_map<std::string, std::string>& query);

// PUT /api/me/profile {"display_name": str}: BadRequest without a string display_name.
std::string parse_display_name(std::string_view body);

std::string person_body(const chat::PersonCard& person);
std::string people_body(const chat::PeoplePage& page);

}  // namespace chatd::protocol
