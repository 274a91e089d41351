#pragma once

#include <string>

#include "chat/people.hpp"

// The people endpoints' answers (docs/protocol.md "People"); their requests are in
// requests.hpp.
namespace chatd::protocol {

std::string person_body(const chat::PersonCard& person);
std::string people_body(const chat::PeoplePage& page);

}  // namespace chatd::protocol
