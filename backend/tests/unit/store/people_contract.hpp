#pragma once

// PeopleContract: the people directory of every chatd::store::Store backend (docs/design/
// storage.md "People"): who is listed, prefix search on name and display name folds, paging by
// name, last seen that never moves back, display names. Instantiated beside StoreContract:
//
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, PeopleContract, ::testing::Types<MyFactory>);

#include <string>
#include <vector>

#include "unit/store/store_contract.hpp"

namespace chatd::store::contract {

inline std::vector<std::string> names_of(const std::vector<Person>& people) {
    std::vector<std::string> names;
    for (const auto& person : people) names.push_back(person.name);
    return names;
}

template <typename Factory>
class PeopleContract : public StoreContract<Factory> {
  protected:
    std::vector<std::string> search(std::string prefix_fold,
                                    std::string after = {},
                                    std::size_t limit = 50) {
        return names_of(
            this->store().people(PeopleQuery{std::move(prefix_fold), std::move(after), limit}));
    }
};

TYPED_TEST_SUITE_P(PeopleContract);

TYPED_TEST_P(PeopleContract, AddPersonListsThemOnceAndRefreshesTheirFold) {
    auto& store = this->store();
    EXPECT_THAT(this->search(""), ::testing::IsEmpty());
    store.add_person("Zoe", "zoe", 100);
    store.add_person("alice", "alice", 200);
    store.add_person("alice", "alice", 300);  // idempotent: created_ms stays
    EXPECT_THAT(this->search(""), ::testing::ElementsAre("Zoe", "alice"));  // byte order
    EXPECT_EQ(store.find_person("alice")->created_ms, 200);
    EXPECT_EQ(store.find_person("alice")->last_seen_ms, 0);
    EXPECT_FALSE(store.find_person("bob").has_value());
    // A fold computed differently before (the migration's ASCII lower()) is rewritten.
    store.add_person("Élodie", "élodie-old", 400);
    EXPECT_THAT(this->search("é"), ::testing::ElementsAre("Élodie"));
    store.add_person("Élodie", "élodie", 500);
    EXPECT_THAT(this->search("élo"), ::testing::ElementsAre("Élodie"));
    EXPECT_THAT(this->search("élodie-"), ::testing::IsEmpty());
}

TYPED_TEST_P(PeopleContract, SearchMatchesAPrefixOfTheNameOrDisplayNameFold) {
    auto& store = this->store();
    store.add_person("bob", "bob", 1);
    store.add_person("bobby", "bobby", 1);
    store.add_person("carol", "carol", 1);
    store.add_person("dave", "dave", 1);
    store.set_display_name(LastSeen{"carol", "carol", 2}, "Bo Carol", "bo carol");
    EXPECT_THAT(this->search("bo"), ::testing::ElementsAre("bob", "bobby", "carol"));
    EXPECT_THAT(this->search("bob"), ::testing::ElementsAre("bob", "bobby"));
    EXPECT_THAT(this->search("bo c"), ::testing::ElementsAre("carol"));
    EXPECT_THAT(this->search("ob"), ::testing::IsEmpty());  // a prefix, not a substring
    EXPECT_THAT(this->search("z"), ::testing::IsEmpty());
    // A person matching by both name and display name is listed once.
    store.set_display_name(LastSeen{"bob", "bob", 2}, "Bob B", "bob b");
    EXPECT_THAT(this->search("bob"), ::testing::ElementsAre("bob", "bobby"));
    EXPECT_EQ(store.find_person("bob")->display_name, "Bob B");
    // Cleared: found by name only.
    store.set_display_name(LastSeen{"carol", "carol", 3}, "", "");
    EXPECT_THAT(this->search("bo"), ::testing::ElementsAre("bob", "bobby"));
    EXPECT_EQ(store.find_person("carol")->display_name, "");
}

TYPED_TEST_P(PeopleContract, PagesRunByNameAfterTheCursorAndStopAtTheLimit) {
    auto& store = this->store();
    for (const char* name : {"a1", "a2", "a3", "a4", "b1"}) store.add_person(name, name, 1);
    EXPECT_THAT(this->search("", "", 2), ::testing::ElementsAre("a1", "a2"));
    EXPECT_THAT(this->search("", "a2", 2), ::testing::ElementsAre("a3", "a4"));
    EXPECT_THAT(this->search("", "a4", 2), ::testing::ElementsAre("b1"));
    EXPECT_THAT(this->search("a", "a1", 2), ::testing::ElementsAre("a2", "a3"));
    EXPECT_THAT(this->search("a", "a3", 5), ::testing::ElementsAre("a4"));
    EXPECT_THAT(this->search("a", "a4", 5), ::testing::IsEmpty());
}

TYPED_TEST_P(PeopleContract, LastSeenAddsMissingPeopleAndNeverMovesBack) {
    auto& store = this->store();
    store.add_person("alice", "alice", 1);
    store.record_last_seen({{"alice", "alice", 5000}, {"guest", "guest", 6000}});
    EXPECT_EQ(store.find_person("alice")->last_seen_ms, 5000);
    EXPECT_EQ(store.find_person("guest")->last_seen_ms, 6000);  // an open-mode name, added
    EXPECT_EQ(store.find_person("guest")->created_ms, 6000);
    store.record_last_seen({{"alice", "alice", 4000}});  // an older report from another node
    EXPECT_EQ(store.find_person("alice")->last_seen_ms, 5000);
    store.record_last_seen({{"alice", "alice", 7000}});
    EXPECT_EQ(store.find_person("alice")->last_seen_ms, 7000);
    store.record_last_seen({});
    EXPECT_THAT(this->search(""), ::testing::ElementsAre("alice", "guest"));
}

REGISTER_TYPED_TEST_SUITE_P(PeopleContract,
                            AddPersonListsThemOnceAndRefreshesTheirFold,
                            SearchMatchesAPrefixOfTheNameOrDisplayNameFold,
                            PagesRunByNameAfterTheCursorAndStopAtTheLimit,
                            LastSeenAddsMissingPeopleAndNeverMovesBack);

}  // namespace chatd::store::contract
