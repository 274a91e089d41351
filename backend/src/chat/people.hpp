#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "metrics/metrics.hpp"

namespace chatd::store {
class Store;
}

namespace chatd::chat {

enum class PersonStatus { Online, Away, Offline };
std::string_view status_name(PersonStatus status);

// One person as the directory and the profile card show them.
struct PersonCard {
    std::string user_name;
    std::string display_name;  // empty: none set
    PersonStatus status = PersonStatus::Offline;
    std::int64_t last_seen_ms = 0;  // when a connection of theirs last closed; 0: never yet
    bool operator==(const PersonCard&) const = default;
};

struct PeoplePage {
    std::vector<PersonCard> people;
    bool has_more = false;  // another page follows the last person's name
};

struct PeopleOptions {
    std::size_t max_page = 100;                // --max-people-page
    std::size_t default_page = 50;             // a page without `limit`
    std::size_t max_display_name_length = 64;  // code points, --max-display-name-length
};

// The people directory (docs/protocol.md "People"): who exists, their display names, status and
// last seen. Who is online comes from `online_users` (this node's users and the other nodes',
// sorted), who of them is away from `away_users` (sorted). Blocking (the store); thread-safe.
class People {
  public:
    // The longest search, in code points: longer than any name or display name can match.
    static constexpr std::size_t kMaxQueryLength = 128;

    People(store::Store& store,
           std::function<std::vector<std::string>()> online_users,
           metrics::Metrics& metrics,
           PeopleOptions options,
           std::function<std::vector<std::string>()> away_users = {});

    // People whose name or display name starts with `query` ignoring case (search_fold), by
    // name, after the name `after`. Throws Error: BadRequest (a query too long), PageTooLarge.
    PeoplePage search(std::string_view query,
                      std::string_view after,
                      std::optional<std::int64_t> limit) const;
    // UserNotFound when the name is not in the directory.
    PersonCard card(std::string_view user_name) const;
    // Lists the user (idempotent): at registration and every sign-in.
    void signed_in(std::string_view user_name, std::int64_t now_ms);
    // Sets (empty or only spaces: clears) the user's display name, stored in NFC without the
    // spaces around it. Throws Error: DisplayNameTooLong past max_display_name_length code
    // points, InvalidDisplayName for invalid UTF-8 or a character no user name may hold other
    // than the space (user_names.hpp: invisible, bidi-control, control, format, line breaks).
    PersonCard set_display_name(const std::string& user_name,
                                std::string_view display_name,
                                std::int64_t now_ms);

  private:
    PersonStatus status_of(const std::vector<std::string>& online,
                           const std::vector<std::string>& away,
                           const std::string& name) const;
    std::vector<std::string> away_users() const;

    store::Store& store_;
    std::function<std::vector<std::string>()> online_users_;
    metrics::Metrics& metrics_;
    PeopleOptions options_;
    std::function<std::vector<std::string>()> away_users_;
};

}  // namespace chatd::chat
