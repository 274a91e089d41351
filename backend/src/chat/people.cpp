#include "chat/people.hpp"

#include <unicode/unistr.h>

#include <algorithm>

#include "chat/error.hpp"
#include "chat/user_names.hpp"
#include "chat/validation.hpp"
#include "store/store.hpp"

namespace chatd::chat {

std::string_view status_name(PersonStatus status) {
    switch (status) {
        case PersonStatus::Online:
            return "online";
        case PersonStatus::Away:
            return "away";
        case PersonStatus::Offline:
            return "offline";
    }
    return "offline";
}

People::People(store::Store& store,
               std::function<std::vector<std::string>()> online_users,
               metrics::Metrics& metrics,
               PeopleOptions options,
               std::function<std::vector<std::string>()> away_users)
    : store_(store),
      online_users_(std::move(online_users)),
      metrics_(metrics),
      options_(options),
      away_users_(std::move(away_users)) {}

std::vector<std::string> People::away_users() const {
    return away_users_ ? away_users_() : std::vector<std::string>{};
}

PersonStatus People::status_of(const std::vector<std::string>& online,
                               const std::vector<std::string>& away,
                               const std::string& name) const {
    if (!std::binary_search(online.begin(), online.end(), name)) return PersonStatus::Offline;
    return std::binary_search(away.begin(), away.end(), name) ? PersonStatus::Away
                                                              : PersonStatus::Online;
}

PeoplePage People::search(std::string_view query,
                          std::string_view after,
                          std::optional<std::int64_t> limit) const {
    if (!valid_utf8(query) || utf8_length(query) > kMaxQueryLength) {
        throw Error(ErrorCode::BadRequest,
                    "q is at most " + std::to_string(kMaxQueryLength) + " characters of UTF-8");
    }
    const auto page_size = limit.value_or(
        static_cast<std::int64_t>(std::min(options_.default_page, options_.max_page)));
    if (page_size < 1 || static_cast<std::size_t>(page_size) > options_.max_page) {
        throw Error(ErrorCode::PageTooLarge, "limit is 1 to " + std::to_string(options_.max_page));
    }
    // Leading and trailing white space is not part of what is searched for.
    const auto first = query.find_first_not_of(" \t");
    const auto trimmed = first == std::string_view::npos
                             ? std::string_view{}
                             : query.substr(first, query.find_last_not_of(" \t") - first + 1);
    // One extra row tells whether another page exists.
    auto found = store_.people(store::PeopleQuery{search_fold(trimmed), std::string(after),
                                                  static_cast<std::size_t>(page_size) + 1});
    PeoplePage page;
    page.has_more = found.size() > static_cast<std::size_t>(page_size);
    if (page.has_more) found.pop_back();
    const auto online = online_users_();
    const auto away = away_users();
    page.people.reserve(found.size());
    for (auto& person : found) {
        const auto status = status_of(online, away, person.name);
        page.people.push_back(PersonCard{std::move(person.name), std::move(person.display_name),
                                         status, person.last_seen_ms});
    }
    return page;
}

PersonCard People::card(std::string_view user_name) const {
    auto person = valid_utf8(user_name) ? store_.find_person(user_name) : std::nullopt;
    if (!person) throw Error(ErrorCode::UserNotFound, "no such user");
    const auto status = status_of(online_users_(), away_users(), person->name);
    return PersonCard{std::move(person->name), std::move(person->display_name), status,
                      person->last_seen_ms};
}

void People::signed_in(std::string_view user_name, std::int64_t now_ms) {
    store_.add_person(user_name, search_fold(user_name), now_ms);
}

PersonCard People::set_display_name(const std::string& user_name,
                                    std::string_view display_name,
                                    std::int64_t now_ms) {
    auto normalized = nfc_name(display_name);
    if (!normalized) {
        throw Error(ErrorCode::InvalidDisplayName, "a display name is UTF-8 text");
    }
    const auto first = normalized->find_first_not_of(' ');
    const std::string trimmed =
        first == std::string::npos
            ? std::string{}
            : normalized->substr(first, normalized->find_last_not_of(' ') - first + 1);
    if (utf8_length(trimmed) > options_.max_display_name_length) {
        throw Error(ErrorCode::DisplayNameTooLong,
                    "a display name has at most " +
                        std::to_string(options_.max_display_name_length) + " characters");
    }
    const auto text = icu::UnicodeString::fromUTF8(
        icu::StringPiece(trimmed.data(), static_cast<int32_t>(trimmed.size())));
    for (int32_t i = 0; i < text.length(); i = text.moveIndex32(i, 1)) {
        const auto c = static_cast<char32_t>(text.char32At(i));
        if (c != U' ' && !allowed_in_user_name(c)) {
            throw Error(ErrorCode::InvalidDisplayName,
                        "a display name may not hold invisible, control or bidi-control "
                        "characters, nor white space other than spaces");
        }
    }
    store_.set_display_name(store::LastSeen{user_name, search_fold(user_name), now_ms}, trimmed,
                            search_fold(trimmed));
    return card(user_name);
}

}  // namespace chatd::chat
