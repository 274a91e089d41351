#include "chat/people.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "chat/error.hpp"
#include "delivery/last_seen_writer.hpp"
#include "metrics/metrics.hpp"
#include "store/sqlite_store.hpp"
#include "support/temp_dir.hpp"

namespace chatd::chat {
namespace {

using test_support::TempDir;

class PeopleTest : public ::testing::Test {
  protected:
    TempDir dir_;
    metrics::Metrics metrics_{"test"};
    store::SqliteStore store_{store::SqliteOptions{.path = (dir_.path() / "chat.db").string()},
                              nullptr};
    std::vector<std::string> online_{"bob"};
    People people_{store_, [this] { return online_; }, metrics_,
                   PeopleOptions{.max_page = 3, .default_page = 50, .max_display_name_length = 8}};

    ErrorCode refusal(const std::function<void()>& call) {
        try {
            call();
        } catch (const Error& error) {
            return error.code;
        }
        ADD_FAILURE() << "not refused";
        return ErrorCode::StoreFailed;
    }
};

TEST_F(PeopleTest, PagesAreBoundedByMaxPageAndTheDefaultNeverExceedsIt) {
    for (const char* name : {"alice", "bob", "carol", "dave"}) people_.signed_in(name, 1);
    EXPECT_EQ(refusal([&] { people_.search("", "", 0); }), ErrorCode::PageTooLarge);
    EXPECT_EQ(refusal([&] { people_.search("", "", 4); }), ErrorCode::PageTooLarge);
    const auto first = people_.search("", "", 3);
    ASSERT_EQ(first.people.size(), 3u);
    EXPECT_TRUE(first.has_more);
    EXPECT_EQ(first.people[1].user_name, "bob");
    EXPECT_EQ(first.people[1].status, PersonStatus::Online);
    EXPECT_EQ(first.people[0].status, PersonStatus::Offline);
    const auto rest = people_.search("", "carol", std::nullopt);  // default: min(50, 3)
    ASSERT_EQ(rest.people.size(), 1u);
    EXPECT_FALSE(rest.has_more);
    EXPECT_EQ(rest.people[0].user_name, "dave");
}

TEST_F(PeopleTest, AQueryIsTrimmedFoldedAndAtMost128Characters) {
    people_.signed_in("Élodie", 1);
    EXPECT_EQ(people_.search("  éLO ", "", 3).people.size(), 1u);
    EXPECT_NO_THROW(people_.search(std::string(128, 'x'), "", 3));
    EXPECT_EQ(refusal([&] { people_.search(std::string(129, 'x'), "", 3); }),
              ErrorCode::BadRequest);
    EXPECT_EQ(refusal([&] { people_.search("\xff", "", 3); }), ErrorCode::BadRequest);
    EXPECT_EQ(refusal([&] { people_.card("nobody"); }), ErrorCode::UserNotFound);
}

TEST_F(PeopleTest, DisplayNamesAreNfcTrimmedBoundedAndFreeOfHiddenCharacters) {
    people_.signed_in("carol", 1);
    // "e" + U+0301 is stored as "é"; the spaces around it go.
    EXPECT_EQ(people_.set_display_name("carol", "  Ce\xcc\x81line ", 2).display_name,
              "C\xc3\xa9line");
    EXPECT_EQ(people_.set_display_name("carol", "Ada Love", 3).display_name, "Ada Love");  // 8
    EXPECT_EQ(refusal([&] { people_.set_display_name("carol", "Ada Lovel", 4); }),
              ErrorCode::DisplayNameTooLong);
    for (const char* hidden : {"a\xe2\x80\x8b"
                               "b",
                               "a\xe2\x80\xae"
                               "b",
                               "a\tb", "a\nb", "\xff"}) {
        EXPECT_EQ(refusal([&] { people_.set_display_name("carol", hidden, 5); }),
                  ErrorCode::InvalidDisplayName)
            << hidden;
    }
    EXPECT_EQ(people_.card("carol").display_name, "Ada Love");  // refusals changed nothing
    EXPECT_EQ(people_.set_display_name("carol", "   ", 6).display_name, "");
}

TEST_F(PeopleTest, TheLastSeenWriterWritesEveryPendingCloseAndKeepsTheNewest) {
    people_.signed_in("alice", 1);
    {
        delivery::LastSeenWriter writer(store_, metrics_, std::chrono::hours(1));
        writer.record("alice", 100);
        writer.record("guest", 200);
        writer.record("guest", 150);  // older: the newest stays
    }                                 // the destructor writes what is pending
    EXPECT_EQ(people_.card("alice").last_seen_ms, 100);
    EXPECT_EQ(people_.card("guest").last_seen_ms, 200);
}

}  // namespace
}  // namespace chatd::chat
