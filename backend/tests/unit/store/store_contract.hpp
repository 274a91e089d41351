#pragma once

// Behaviour every chatd::store::Store backend must have, the group-commit writer's included. A
// backend's test file defines a factory and instantiates the suite:
//
//   struct MyFactory {
//       // A fresh, empty, migrated store on the first call; the same database reopened on
//       // later ones.
//       std::unique_ptr<chatd::store::Store> create(const StoreSetup& setup);
//       // From now on, a transaction inserting a message with this content fails as a whole
//       // with an error that says "poisoned message" (a database trigger).
//       void poison(const std::string& content);
//       // With no store open: takes the database back to schema version 6 (before room events),
//       // keeping its rows, ids and id sequence, then deletes the row `deleted` (0: none).
//       void revert_to_version_6(chatd::model::MessageId deleted);
//       // The indexes on messages and reactions, and how many times migration 7 is recorded.
//       std::vector<std::string> room_log_indexes();
//       int times_applied(int version);
//   };  // destroyed after the store: it may remove what it created
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, StoreContract, ::testing::Types<MyFactory>);
//   INSTANTIATE_TYPED_TEST_SUITE_P(My, RoomLogContract, ::testing::Types<MyFactory>);
//
// RoomLogContract: the room events (edits, deletes, reactions, replies) as rows of the room's
// log, the rules the store checks when appending them, the folded state pages read, and the
// migration that brings a database from before room events to them.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "metrics/metrics.hpp"
#include "store/store.hpp"

namespace chatd::store::contract {

using namespace std::chrono_literals;

// What a test may choose about the store it opens.
struct StoreSetup {
    metrics::Metrics* metrics = nullptr;
    std::size_t max_batch = 1024;  // appends per group commit
};

inline NewMessage new_message(std::string room,
                              std::string user,
                              std::string content,
                              std::string client_msg_id = {}) {
    NewMessage message;
    message.room = std::move(room);
    message.user_name = std::move(user);
    message.content = std::move(content);
    message.sent_at = "01/02/2024 03:04:05";
    message.ts_ms = 1'706'756'645'000;
    message.client_msg_id = std::move(client_msg_id);
    return message;
}

// Appends and waits for the callback.
inline AppendResult append_and_wait(Store& store, NewMessage message) {
    std::promise<AppendResult> result;
    auto future = result.get_future();
    store.append(std::move(message), [&result](AppendResult r) { result.set_value(std::move(r)); });
    return future.get();
}

// Collects append results in callback order; safe to read after Store::flush.
class Recorder {
  public:
    std::function<void(AppendResult)> callback(std::size_t tag) {
        return [this, tag](AppendResult result) {
            std::lock_guard lock(mutex_);
            results_.push_back({tag, std::move(result)});
        };
    }
    // (tag, result) pairs in the order the callbacks ran.
    std::vector<std::pair<std::size_t, AppendResult>> results() const {
        std::lock_guard lock(mutex_);
        return results_;
    }
    // The result of the append tagged `tag`.
    AppendResult of(std::size_t tag) const {
        std::lock_guard lock(mutex_);
        for (const auto& [t, result] : results_) {
            if (t == tag) return result;
        }
        ADD_FAILURE() << "no callback for tag " << tag;
        return {};
    }

  private:
    mutable std::mutex mutex_;
    std::vector<std::pair<std::size_t, AppendResult>> results_;
};

// Holds the store's writer inside a callback so that the appends queued meanwhile are taken
// together (one group commit, batch size permitting). Callbacks must not block in production;
// here it is the only way to make a batch deterministic without sleeping.
class WriterGate {
  public:
    explicit WriterGate(Store& store) {
        auto entered = std::make_shared<std::promise<void>>();
        auto entered_future = entered->get_future();
        store.append(new_message("general", "gatekeeper", "gate"),
                     [entered, opened = open_.get_future().share()](AppendResult) {
                         entered->set_value();
                         opened.wait();
                     });
        entered_future.wait();
    }
    ~WriterGate() { open(); }
    WriterGate(const WriterGate&) = delete;
    WriterGate& operator=(const WriterGate&) = delete;

    void open() {
        if (!opened_) {
            opened_ = true;
            open_.set_value();
        }
    }

  private:
    std::promise<void> open_;
    bool opened_ = false;
};

// History queries. (Designated initializers would trip -Wmissing-field-initializers on the
// optional cursors.)
inline HistoryQuery newest(std::string room, int limit = 50) {
    HistoryQuery query;
    query.room = std::move(room);
    query.limit = limit;
    return query;
}

inline HistoryQuery page_before(std::string room,
                                std::optional<model::MessageId> before,
                                int limit = 50) {
    auto query = newest(std::move(room), limit);
    query.before = before;
    return query;
}

inline HistoryQuery page_after(std::string room, model::MessageId after, int limit = 50) {
    auto query = newest(std::move(room), limit);
    query.after = after;
    return query;
}

inline HistoryQuery page_between(std::string room,
                                 model::MessageId before,
                                 model::MessageId after) {
    auto query = page_before(std::move(room), before);
    query.after = after;
    return query;
}

inline std::vector<std::string> contents_of(const std::vector<model::Message>& messages) {
    std::vector<std::string> contents;
    for (const auto& message : messages) contents.push_back(message.content);
    return contents;
}

inline std::vector<std::string> names_of(const std::vector<Room>& rooms) {
    std::vector<std::string> names;
    for (const auto& room : rooms) names.push_back(room.name);
    return names;
}

inline Room make_room(std::string name, bool direct = false) {
    return Room{std::move(name), direct, "alice", 1000};
}

template <typename Factory>
class StoreContract : public ::testing::Test {
  protected:
    Store& store() { return *store_; }

    // Appends `count` messages "<prefix>0".. to `room` and waits for all of them.
    std::vector<AppendResult> fill(const std::string& room,
                                   int count,
                                   const std::string& prefix = "m") {
        Recorder recorder;
        for (int i = 0; i < count; ++i) {
            store().append(new_message(room, "alice", prefix + std::to_string(i)),
                           recorder.callback(static_cast<std::size_t>(i)));
        }
        store().flush();
        std::vector<AppendResult> results;
        for (auto& [tag, result] : recorder.results()) results.push_back(std::move(result));
        return results;
    }

    // Closes the store (which commits what is queued) and opens the same database again.
    void reopen(const StoreSetup& setup) {
        store_.reset();
        store_ = factory_.create(setup);
    }

    Factory factory_;
    std::unique_ptr<Store> store_ = factory_.create(StoreSetup{});
};

TYPED_TEST_SUITE_P(StoreContract);

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// --- append ------------------------------------------------------------------------------------

TYPED_TEST_P(StoreContract, AppendStoresTheMessageWithEveryField) {
    auto message = new_message("general", "alice", "hello", "c-1");
    message.kind = model::MessageKind::Text;
    const auto result = append_and_wait(this->store(), message);

    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_FALSE(result.duplicate);
    EXPECT_GT(result.message.id, 0);
    const auto stored = this->store().history(newest("general"));
    ASSERT_EQ(stored.size(), 1u);
    for (const auto& m : {result.message, stored[0]}) {
        EXPECT_EQ(m.id, result.message.id);
        EXPECT_EQ(m.room, "general");
        EXPECT_EQ(m.user_name, "alice");
        EXPECT_EQ(m.content, "hello");
        EXPECT_EQ(m.sent_at, "01/02/2024 03:04:05");
        EXPECT_EQ(m.ts_ms, 1'706'756'645'000);
        EXPECT_EQ(m.client_msg_id, "c-1");
        EXPECT_EQ(m.kind, model::MessageKind::Text);
    }
}

TYPED_TEST_P(StoreContract, AppendKeepsTheMessageKindAndArbitraryText) {
    auto join = new_message("general", "alice", "");
    join.kind = model::MessageKind::Join;
    auto leave = new_message("general", "alice", "emoji \xF0\x9F\x98\x80, 'quotes' \"and\" ?1 %s");
    leave.kind = model::MessageKind::Leave;
    ASSERT_TRUE(append_and_wait(this->store(), join).ok);
    ASSERT_TRUE(append_and_wait(this->store(), leave).ok);

    const auto stored = this->store().history(newest("general"));
    ASSERT_EQ(stored.size(), 2u);
    EXPECT_EQ(stored[0].kind, model::MessageKind::Join);
    EXPECT_EQ(stored[0].content, "");
    EXPECT_EQ(stored[1].kind, model::MessageKind::Leave);
    EXPECT_EQ(stored[1].content, leave.content);
}

TYPED_TEST_P(StoreContract, AppendAssignsIncreasingIdsWithinARoom) {
    const auto results = this->fill("general", 20);
    ASSERT_EQ(results.size(), 20u);
    for (std::size_t i = 0; i < results.size(); ++i) {
        ASSERT_TRUE(results[i].ok) << results[i].error;
        EXPECT_EQ(results[i].message.content, "m" + std::to_string(i));
        if (i > 0) {
            EXPECT_GT(results[i].message.id, results[i - 1].message.id);
        }
    }
}

TYPED_TEST_P(StoreContract, IdsIncreaseInAppendOrderAcrossRooms) {
    ASSERT_TRUE(this->store().create_room(make_room("second")));
    Recorder recorder;
    for (std::size_t i = 0; i < 10; ++i) {
        this->store().append(new_message(i % 2 == 0 ? "general" : "second", "alice", "x"),
                             recorder.callback(i));
    }
    this->store().flush();
    for (std::size_t i = 1; i < 10; ++i) {
        EXPECT_GT(recorder.of(i).message.id, recorder.of(i - 1).message.id);
    }
}

TYPED_TEST_P(StoreContract, CallbacksRunInIdOrder) {
    ASSERT_TRUE(this->store().create_room(make_room("second")));
    Recorder recorder;
    {
        WriterGate gate(this->store());
        for (std::size_t i = 0; i < 50; ++i) {
            this->store().append(new_message(i % 3 == 0 ? "second" : "general", "alice", "x"),
                                 recorder.callback(i));
        }
    }
    this->store().flush();
    const auto results = recorder.results();
    ASSERT_EQ(results.size(), 50u);
    for (std::size_t i = 0; i < results.size(); ++i) {
        EXPECT_EQ(results[i].first, i);
        if (i > 0) {
            EXPECT_GT(results[i].second.message.id, results[i - 1].second.message.id);
        }
    }
}

TYPED_TEST_P(StoreContract, DuplicateClientMsgIdReturnsTheFirstStoredMessage) {
    const auto first = append_and_wait(this->store(), new_message("general", "alice", "a", "k"));
    const auto again =
        append_and_wait(this->store(), new_message("general", "alice", "changed", "k"));

    ASSERT_TRUE(first.ok);
    ASSERT_TRUE(again.ok) << again.error;
    EXPECT_FALSE(first.duplicate);
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.message.id, first.message.id);
    EXPECT_EQ(again.message.content, "a");
    EXPECT_EQ(this->store().history(newest("general")).size(), 1u);
}

// The key is the user's, across rooms: the service refuses a reuse in another room by the room of
// the message returned here (client_msg_id_reused), so that message must be the first one, with
// its own room, alone or within one batch.
TYPED_TEST_P(StoreContract, AClientMsgIdReusedInAnotherRoomReturnsTheFirstMessageWithItsRoom) {
    ASSERT_TRUE(this->store().create_room(make_room("second")));
    const auto first = append_and_wait(this->store(), new_message("general", "alice", "a", "k"));
    const auto reused = append_and_wait(this->store(), new_message("second", "alice", "b", "k"));
    Recorder recorder;
    {
        WriterGate gate(this->store());
        this->store().append(new_message("second", "alice", "c", "j"), recorder.callback(0));
        this->store().append(new_message("general", "alice", "d", "j"), recorder.callback(1));
    }
    this->store().flush();

    ASSERT_TRUE(first.ok && reused.ok) << reused.error;
    EXPECT_TRUE(reused.duplicate);
    EXPECT_EQ(reused.message.id, first.message.id);
    EXPECT_EQ(reused.message.room, "general");
    const auto batch_first = recorder.of(0);
    const auto batch_reused = recorder.of(1);
    ASSERT_TRUE(batch_first.ok && batch_reused.ok);
    EXPECT_FALSE(batch_first.duplicate);
    EXPECT_TRUE(batch_reused.duplicate);
    EXPECT_EQ(batch_reused.message.room, "second");
    EXPECT_EQ(contents_of(this->store().history(newest("second"))),
              (std::vector<std::string>{"c"}));
}

TYPED_TEST_P(StoreContract, DuplicateClientMsgIdWithinOneBatchIsDetected) {
    Recorder recorder;
    {
        WriterGate gate(this->store());
        this->store().append(new_message("general", "alice", "a", "k"), recorder.callback(0));
        this->store().append(new_message("general", "bob", "b"), recorder.callback(1));
        this->store().append(new_message("general", "alice", "a", "k"), recorder.callback(2));
    }
    this->store().flush();

    const auto first = recorder.of(0);
    const auto again = recorder.of(2);
    ASSERT_TRUE(first.ok && again.ok);
    EXPECT_FALSE(first.duplicate);
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.message.id, first.message.id);
    EXPECT_EQ(contents_of(this->store().history(newest("general"))),
              (std::vector<std::string>{"gate", "a", "b"}));
}

TYPED_TEST_P(StoreContract, DuplicateClientMsgIdFromTwoThreadsStoresOneMessage) {
    for (int round = 0; round < 20; ++round) {
        const auto key = "k" + std::to_string(round);
        std::promise<void> go;
        auto start = go.get_future().share();
        std::vector<std::future<AppendResult>> results;
        for (int t = 0; t < 2; ++t) {
            results.push_back(std::async(std::launch::async, [&, start] {
                start.wait();
                return append_and_wait(this->store(), new_message("general", "alice", "x", key));
            }));
        }
        go.set_value();
        const auto a = results[0].get();
        const auto b = results[1].get();
        ASSERT_TRUE(a.ok && b.ok);
        EXPECT_EQ(a.message.id, b.message.id);
        EXPECT_NE(a.duplicate, b.duplicate);
    }
    EXPECT_EQ(this->store().history(newest("general")).size(), 20u);
}

TYPED_TEST_P(StoreContract, SameClientMsgIdFromAnotherUserIsNotADuplicate) {
    const auto alice = append_and_wait(this->store(), new_message("general", "alice", "a", "k"));
    const auto bob = append_and_wait(this->store(), new_message("general", "bob", "b", "k"));
    ASSERT_TRUE(alice.ok && bob.ok);
    EXPECT_FALSE(bob.duplicate);
    EXPECT_NE(alice.message.id, bob.message.id);
}

TYPED_TEST_P(StoreContract, EmptyClientMsgIdNeverDeduplicates) {
    const auto first = append_and_wait(this->store(), new_message("general", "alice", "a"));
    const auto second = append_and_wait(this->store(), new_message("general", "alice", "a"));
    ASSERT_TRUE(first.ok && second.ok);
    EXPECT_FALSE(second.duplicate);
    EXPECT_NE(first.message.id, second.message.id);
}

TYPED_TEST_P(StoreContract, AppendToAMissingRoomFailsWithoutAffectingTheRestOfTheBatch) {
    Recorder recorder;
    {
        WriterGate gate(this->store());
        this->store().append(new_message("general", "alice", "before"), recorder.callback(0));
        this->store().append(new_message("nowhere", "alice", "lost", "k"), recorder.callback(1));
        this->store().append(new_message("general", "alice", "after"), recorder.callback(2));
    }
    this->store().flush();

    const auto missing = recorder.of(1);
    EXPECT_FALSE(missing.ok);
    EXPECT_FALSE(missing.error.empty());
    EXPECT_TRUE(recorder.of(0).ok);
    EXPECT_TRUE(recorder.of(2).ok);
    EXPECT_EQ(contents_of(this->store().history(newest("general"))),
              (std::vector<std::string>{"gate", "before", "after"}));
    EXPECT_THAT(this->store().history(newest("nowhere")), IsEmpty());
    // The failed message did not take its client_msg_id.
    ASSERT_TRUE(this->store().create_room(make_room("nowhere")));
    const auto retried = append_and_wait(this->store(), new_message("nowhere", "alice", "x", "k"));
    EXPECT_TRUE(retried.ok);
    EXPECT_FALSE(retried.duplicate);
}

TYPED_TEST_P(StoreContract, FlushWaitsForEveryQueuedCallback) {
    std::atomic<int> done = 0;
    for (int i = 0; i < 100; ++i) {
        this->store().append(new_message("general", "alice", "x"),
                             [&done](AppendResult) { done.fetch_add(1); });
    }
    this->store().flush();
    EXPECT_EQ(done.load(), 100);
}

TYPED_TEST_P(StoreContract, FlushReturnsAtOnceWhenNothingIsQueued) {
    this->store().flush();
    this->store().flush();
    SUCCEED();
}

// --- history -----------------------------------------------------------------------------------

TYPED_TEST_P(StoreContract, HistoryWithoutCursorReturnsTheNewestMessagesAscending) {
    this->fill("general", 10);
    const auto messages = this->store().history(newest("general", 3));
    EXPECT_EQ(contents_of(messages), (std::vector<std::string>{"m7", "m8", "m9"}));
}

TYPED_TEST_P(StoreContract, HistoryBeforeReturnsTheNewestOlderMessagesAscending) {
    const auto results = this->fill("general", 10);
    const auto messages = this->store().history(page_before("general", results[6].message.id, 3));
    EXPECT_EQ(contents_of(messages), (std::vector<std::string>{"m3", "m4", "m5"}));
    EXPECT_THAT(this->store().history(page_before("general", results[0].message.id)), IsEmpty());
}

TYPED_TEST_P(StoreContract, HistoryAfterReturnsTheOldestNewerMessagesAscending) {
    const auto results = this->fill("general", 10);
    const auto messages = this->store().history(page_after("general", results[2].message.id, 3));
    EXPECT_EQ(contents_of(messages), (std::vector<std::string>{"m3", "m4", "m5"}));
    EXPECT_THAT(this->store().history(page_after("general", results[9].message.id)), IsEmpty());
}

TYPED_TEST_P(StoreContract, HistoryPagesBackwardsWithoutGapsOrRepeats) {
    this->fill("general", 25);
    std::vector<std::string> seen;
    std::optional<model::MessageId> before;
    for (;;) {
        const auto page = this->store().history(page_before("general", before, 7));
        if (page.empty()) break;
        const auto contents = contents_of(page);
        seen.insert(seen.begin(), contents.begin(), contents.end());
        before = page.front().id;
    }
    ASSERT_EQ(seen.size(), 25u);
    for (int i = 0; i < 25; ++i)
        EXPECT_EQ(seen[static_cast<std::size_t>(i)], "m" + std::to_string(i));
}

TYPED_TEST_P(StoreContract, HistoryOnlyReturnsMessagesOfTheRequestedRoom) {
    ASSERT_TRUE(this->store().create_room(make_room("second")));
    this->fill("general", 3, "g");
    this->fill("second", 2, "s");
    EXPECT_EQ(contents_of(this->store().history(newest("second"))),
              (std::vector<std::string>{"s0", "s1"}));
    EXPECT_THAT(this->store().history(newest("unknown")), IsEmpty());
}

TYPED_TEST_P(StoreContract, HistoryClampsTheLimitToBetweenOneAndAThousand) {
    this->fill("general", 1005);
    EXPECT_EQ(this->store().history(newest("general", 0)).size(), 1u);
    EXPECT_EQ(this->store().history(newest("general", -7)).size(), 1u);
    EXPECT_EQ(this->store().history(newest("general", 5000)).size(), 1000u);
    const auto latest = this->store().history(newest("general", 0));
    EXPECT_EQ(contents_of(latest), (std::vector<std::string>{"m1004"}));
}

TYPED_TEST_P(StoreContract, HistoryRejectsBeforeAndAfterTogether) {
    EXPECT_THROW(this->store().history(page_between("general", 5, 1)), std::invalid_argument);
}

// --- users and sessions ------------------------------------------------------------------------

TYPED_TEST_P(StoreContract, CreatedUserCanBeFound) {
    ASSERT_TRUE(this->store().create_user({"alice", "$argon2id$hash", 1234}));
    const auto user = this->store().find_user("alice");
    ASSERT_TRUE(user.has_value());
    EXPECT_EQ(user->name, "alice");
    EXPECT_EQ(user->password_hash, "$argon2id$hash");
    EXPECT_EQ(user->created_ms, 1234);
}

TYPED_TEST_P(StoreContract, CreateUserReturnsFalseAndKeepsTheFirstWhenTheNameIsTaken) {
    ASSERT_TRUE(this->store().create_user({"alice", "first", 1}));
    EXPECT_FALSE(this->store().create_user({"alice", "second", 2}));
    EXPECT_EQ(this->store().find_user("alice")->password_hash, "first");
}

TYPED_TEST_P(StoreContract, FindUserReturnsNothingForAnUnknownName) {
    ASSERT_TRUE(this->store().create_user({"alice", "", 1}));
    EXPECT_FALSE(this->store().find_user("bob").has_value());
    EXPECT_FALSE(this->store().find_user("").has_value());
}

TYPED_TEST_P(StoreContract, CreatedSessionCanBeFoundUntilItExpires) {
    this->store().create_session({"hash-1", "alice", 5000});
    const auto session = this->store().find_session("hash-1", 4999);
    ASSERT_TRUE(session.has_value());
    EXPECT_EQ(session->token_hash, "hash-1");
    EXPECT_EQ(session->user_name, "alice");
    EXPECT_EQ(session->expires_ms, 5000);
    EXPECT_FALSE(this->store().find_session("hash-1", 5000).has_value());
    EXPECT_FALSE(this->store().find_session("hash-1", 9000).has_value());
}

TYPED_TEST_P(StoreContract, FindSessionReturnsNothingForAnUnknownToken) {
    this->store().create_session({"hash-1", "alice", 5000});
    EXPECT_FALSE(this->store().find_session("hash-2", 0).has_value());
}

TYPED_TEST_P(StoreContract, DeletedSessionIsGoneAndDeletingAnUnknownOneIsHarmless) {
    this->store().create_session({"hash-1", "alice", 5000});
    this->store().create_session({"hash-2", "alice", 5000});
    this->store().delete_session("hash-1");
    this->store().delete_session("never-existed");
    EXPECT_FALSE(this->store().find_session("hash-1", 0).has_value());
    EXPECT_TRUE(this->store().find_session("hash-2", 0).has_value());
}

TYPED_TEST_P(StoreContract, SessionDetailsAreStoredAndListedNewestFirstForTheUserOnly) {
    auto& store = this->store();
    store.create_session({"h-old", "alice", 9000, "id-old", 100, 150, "Firefox", "10.0.0.1"});
    store.create_session({"h-new", "alice", 9000, "id-new", 200, 200, "Chromium", "10.0.0.2"});
    store.create_session({"h-gone", "alice", 1000, "id-gone", 300, 300, "", ""});
    store.create_session({"h-bob", "bob", 9000, "id-bob", 400, 400, "curl", "10.0.0.3"});
    const auto found = store.find_session("h-old", 0);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->public_id, "id-old");
    EXPECT_EQ(found->created_ms, 100);
    EXPECT_EQ(found->last_used_ms, 150);
    EXPECT_EQ(found->user_agent, "Firefox");
    EXPECT_EQ(found->address, "10.0.0.1");
    const auto listed = store.user_sessions("alice", 1000);
    ASSERT_EQ(listed.size(), 2u);  // the expired one is not listed
    EXPECT_EQ(listed[0].public_id, "id-new");
    EXPECT_EQ(listed[0].token_hash, "h-new");
    EXPECT_EQ(listed[0].user_agent, "Chromium");
    EXPECT_EQ(listed[1].public_id, "id-old");
    EXPECT_TRUE(store.user_sessions("carol", 0).empty());
}

TYPED_TEST_P(StoreContract, DeleteSessionByIdEndsOnlyThatUsersSessionByThatId) {
    auto& store = this->store();
    store.create_session({"h-a", "alice", 9000, "id-a", 1, 1, "", ""});
    store.create_session({"h-b", "bob", 9000, "id-b", 1, 1, "", ""});
    EXPECT_FALSE(store.delete_session_by_id("alice", "id-b").has_value());  // bob's
    EXPECT_TRUE(store.find_session("h-b", 0).has_value());
    EXPECT_FALSE(store.delete_session_by_id("alice", "no-such-id").has_value());
    EXPECT_FALSE(store.delete_session_by_id("alice", "").has_value());
    EXPECT_EQ(store.delete_session_by_id("alice", "id-a"), std::optional<std::string>("h-a"));
    EXPECT_FALSE(store.find_session("h-a", 0).has_value());
    EXPECT_FALSE(store.delete_session_by_id("alice", "id-a").has_value());
}

TYPED_TEST_P(StoreContract, TouchSessionOnlyMovesTheLastUseForward) {
    auto& store = this->store();
    store.create_session({"h-a", "alice", 9000, "id-a", 100, 100, "", ""});
    store.create_session({"h-b", "alice", 9000, "id-b", 100, 100, "", ""});
    store.touch_session("h-a", 500);
    EXPECT_EQ(store.find_session("h-a", 0)->last_used_ms, 500);
    store.touch_session("h-a", 300);
    EXPECT_EQ(store.find_session("h-a", 0)->last_used_ms, 500);
    EXPECT_EQ(store.find_session("h-b", 0)->last_used_ms, 100);
    store.touch_session("never-existed", 900);
}

TYPED_TEST_P(StoreContract, SessionsWithoutAPublicIdDoNotCollide) {
    this->store().create_session({"h-1", "alice", 5000});
    this->store().create_session({"h-2", "alice", 5000});
    EXPECT_EQ(this->store().user_sessions("alice", 0).size(), 2u);
}

TYPED_TEST_P(StoreContract, TrimSessionsKeepsTheNewestOfThatUserOnly) {
    this->store().create_session({"a1", "alice", 1000});
    this->store().create_session({"a2", "alice", 2000});
    this->store().create_session({"a3", "alice", 3000});
    this->store().create_session({"b1", "bob", 500});
    EXPECT_THAT(this->store().trim_sessions("alice", 3), IsEmpty());  // at the limit
    auto dropped = this->store().trim_sessions("alice", 2);           // past it
    EXPECT_THAT(dropped, ElementsAre("a1"));
    EXPECT_FALSE(this->store().find_session("a1", 0).has_value());
    EXPECT_TRUE(this->store().find_session("a2", 0).has_value());
    EXPECT_TRUE(this->store().find_session("a3", 0).has_value());
    EXPECT_TRUE(this->store().find_session("b1", 0).has_value());
    dropped = this->store().trim_sessions("alice", 0);
    std::sort(dropped.begin(), dropped.end());
    EXPECT_THAT(dropped, ElementsAre("a2", "a3"));
}

TYPED_TEST_P(StoreContract, DeleteUserSessionsDeletesEveryOneOfThatUser) {
    this->store().create_session({"a1", "alice", 1000});
    this->store().create_session({"a2", "alice", 2000});
    this->store().create_session({"b1", "bob", 500});
    auto deleted = this->store().delete_user_sessions("alice");
    std::sort(deleted.begin(), deleted.end());
    EXPECT_THAT(deleted, ElementsAre("a1", "a2"));
    EXPECT_FALSE(this->store().find_session("a2", 0).has_value());
    EXPECT_TRUE(this->store().find_session("b1", 0).has_value());
    EXPECT_THAT(this->store().delete_user_sessions("nobody"), IsEmpty());
}

TYPED_TEST_P(StoreContract, PurgeExpiredSessionsDeletesThoseExpiredAtThatTime) {
    this->store().create_session({"s1", "alice", 1000});
    this->store().create_session({"s2", "alice", 2000});
    this->store().create_session({"s3", "bob", 2001});
    EXPECT_EQ(this->store().purge_expired_sessions(999), 0u);
    EXPECT_EQ(this->store().purge_expired_sessions(2000), 2u);  // expires_ms 2000: expired at 2000
    EXPECT_TRUE(this->store().find_session("s3", 0).has_value());
    EXPECT_THAT(this->store().delete_user_sessions("alice"), IsEmpty());
}

// --- user name keys (look-alike names) --------------------------------------------------------

TYPED_TEST_P(StoreContract, CreateUserRefusesANameKeyAnotherUserHoldsAndStoresNothing) {
    ASSERT_TRUE(this->store().create_user({"alice", "h", 1, "alice"}));
    EXPECT_EQ(this->store().find_user("alice")->name_key, "alice");
    EXPECT_FALSE(this->store().create_user({"Alice", "h", 2, "alice"}));
    EXPECT_FALSE(this->store().find_user("Alice").has_value());
    // A taken name claims no key either: the key stays free for its look-alikes' owner.
    EXPECT_FALSE(this->store().create_user({"alice", "h", 3, "other"}));
    EXPECT_TRUE(this->store().create_user({"bob", "h", 4, "other"}));
    // No key: nothing claimed, nothing refused for it.
    EXPECT_TRUE(this->store().create_user({"carol", "", 5}));
    EXPECT_TRUE(this->store().create_user({"dave", "", 6}));
}

TYPED_TEST_P(StoreContract, ConcurrentRegistrationsOfOneNameKeyStoreOneUser) {
    constexpr int kThreads = 8;
    std::atomic<int> created{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i) {
        threads.emplace_back([&, i] {
            if (this->store().create_user({"alice" + std::to_string(i), "h", i, "key"})) ++created;
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(created.load(), 1);
    int stored = 0;
    for (int i = 0; i < kThreads; ++i) {
        stored += this->store().find_user("alice" + std::to_string(i)).has_value() ? 1 : 0;
    }
    EXPECT_EQ(stored, 1);
}

TYPED_TEST_P(StoreContract, BackfilledNameKeysKeepAnExistingClashAndRefuseNewLookAlikes) {
    // Users from before keys existed: no key.
    ASSERT_TRUE(this->store().create_user({"mallory", "h", 1}));
    ASSERT_TRUE(this->store().create_user({"Mallory", "h", 2}));
    ASSERT_TRUE(this->store().create_user({"zed", "h", 3, "zed"}));
    EXPECT_THAT(this->store().users_without_name_key(10), ElementsAre("Mallory", "mallory"));
    EXPECT_THAT(this->store().users_without_name_key(1), ElementsAre("Mallory"));
    EXPECT_TRUE(this->store().set_name_key("Mallory", "mallory"));
    EXPECT_FALSE(this->store().set_name_key("mallory", "mallory"));  // held by Mallory
    EXPECT_TRUE(this->store().set_name_key("Mallory", "mallory"));   // idempotent
    EXPECT_THAT(this->store().users_without_name_key(10), IsEmpty());
    EXPECT_EQ(this->store().find_user("mallory")->name_key, "mallory");
    EXPECT_EQ(this->store().find_user("Mallory")->password_hash, "h");
    EXPECT_FALSE(this->store().create_user({"MALLORY", "h", 4, "mallory"}));
}

// --- failed sign-ins -----------------------------------------------------------------------------

TYPED_TEST_P(StoreContract, LoginFailuresCountPerKeyAndRestartAfterTheForgetTime) {
    const std::vector<std::string> keys{"pair:a x", "address:a"};
    EXPECT_EQ(this->store().login_failures(keys)[0].failures, 0);
    auto counts = this->store().add_login_failure(keys, 1000, 0);
    ASSERT_EQ(counts.size(), 2u);
    EXPECT_EQ(counts[0].failures, 1);
    EXPECT_EQ(counts[0].last_failure_ms, 1000);
    counts = this->store().add_login_failure({"pair:a x"}, 2000, 0);
    EXPECT_EQ(counts[0].failures, 2);
    const auto read = this->store().login_failures({"address:a", "pair:a x", "unknown"});
    EXPECT_EQ(read[0].failures, 1);
    EXPECT_EQ(read[1].failures, 2);
    EXPECT_EQ(read[1].last_failure_ms, 2000);
    EXPECT_EQ(read[2].failures, 0);
    // Last failure at 2000, before the forget time 2001: counting starts again.
    counts = this->store().add_login_failure({"pair:a x"}, 9000, 2001);
    EXPECT_EQ(counts[0].failures, 1);
    EXPECT_EQ(counts[0].last_failure_ms, 9000);
    // At the forget time exactly, it is remembered.
    counts = this->store().add_login_failure({"pair:a x"}, 9500, 9000);
    EXPECT_EQ(counts[0].failures, 2);
}

TYPED_TEST_P(StoreContract, ClearAndPurgeLoginFailures) {
    this->store().add_login_failure({"k1"}, 100, 0);
    this->store().add_login_failure({"k2"}, 200, 0);
    this->store().add_login_failure({"k3"}, 300, 0);
    this->store().clear_login_failures({"k1", "never"});
    EXPECT_EQ(this->store().login_failures({"k1"})[0].failures, 0);
    EXPECT_EQ(this->store().purge_login_failures(300), 1u);  // k2 only: k3's is not before 300
    const auto left = this->store().login_failures({"k2", "k3"});
    EXPECT_EQ(left[0].failures, 0);
    EXPECT_EQ(left[1].failures, 1);
    EXPECT_EQ(this->store().purge_login_failures(0), 0u);
}

// --- rooms and members -------------------------------------------------------------------------

TYPED_TEST_P(StoreContract, GeneralRoomExistsInAFreshStore) {
    const auto general = this->store().find_room(model::kGeneralRoom);
    ASSERT_TRUE(general.has_value());
    EXPECT_FALSE(general->direct);
    EXPECT_THAT(names_of(this->store().list_public_rooms()), ElementsAre("general"));
}

TYPED_TEST_P(StoreContract, CreatedRoomCanBeFound) {
    ASSERT_TRUE(this->store().create_room({"dev", false, "alice", 42}));
    ASSERT_TRUE(this->store().create_room({"alice|bob", true, "alice", 43}));
    const auto dev = this->store().find_room("dev");
    ASSERT_TRUE(dev.has_value());
    EXPECT_EQ(dev->name, "dev");
    EXPECT_FALSE(dev->direct);
    EXPECT_EQ(dev->created_by, "alice");
    EXPECT_EQ(dev->created_ms, 42);
    const auto direct = this->store().find_room("alice|bob");
    ASSERT_TRUE(direct.has_value());
    EXPECT_TRUE(direct->direct);
    EXPECT_FALSE(this->store().find_room("nope").has_value());
}

TYPED_TEST_P(StoreContract, CreateRoomReturnsFalseAndKeepsTheFirstWhenTheNameIsTaken) {
    ASSERT_TRUE(this->store().create_room({"dev", false, "alice", 1}));
    EXPECT_FALSE(this->store().create_room({"dev", true, "bob", 2}));
    EXPECT_FALSE(this->store().create_room({"general", false, "bob", 2}));
    EXPECT_EQ(this->store().find_room("dev")->created_by, "alice");
}

TYPED_TEST_P(StoreContract, ListPublicRoomsIsSortedByNameAndExcludesDirectRooms) {
    ASSERT_TRUE(this->store().create_room(make_room("zeta")));
    ASSERT_TRUE(this->store().create_room(make_room("alpha")));
    ASSERT_TRUE(this->store().create_room(make_room("alice|bob", true)));
    EXPECT_THAT(names_of(this->store().list_public_rooms()),
                ElementsAre("alpha", "general", "zeta"));
}

TYPED_TEST_P(StoreContract, AddMemberIsIdempotent) {
    this->store().add_member("general", "alice");
    this->store().add_member("general", "alice");
    EXPECT_TRUE(this->store().is_member("general", "alice"));
    EXPECT_THAT(this->store().members_of("general"), ElementsAre("alice"));
}

TYPED_TEST_P(StoreContract, RemoveMemberRemovesOnlyThatMembership) {
    ASSERT_TRUE(this->store().create_room(make_room("dev")));
    this->store().add_member("general", "alice");
    this->store().add_member("dev", "alice");
    this->store().add_member("general", "bob");
    this->store().remove_member("general", "alice");
    this->store().remove_member("general", "nobody");

    EXPECT_FALSE(this->store().is_member("general", "alice"));
    EXPECT_TRUE(this->store().is_member("dev", "alice"));
    EXPECT_TRUE(this->store().is_member("general", "bob"));
}

TYPED_TEST_P(StoreContract, IsMemberIsFalseForAnUnknownRoomOrUser) {
    this->store().add_member("general", "alice");
    EXPECT_FALSE(this->store().is_member("general", "bob"));
    EXPECT_FALSE(this->store().is_member("nowhere", "alice"));
}

TYPED_TEST_P(StoreContract, RoomsOfListsEveryRoomOfTheUserByNameDirectOnesIncluded) {
    ASSERT_TRUE(this->store().create_room(make_room("zeta")));
    ASSERT_TRUE(this->store().create_room(make_room("alice|bob", true)));
    ASSERT_TRUE(this->store().create_room(make_room("other")));
    this->store().add_member("zeta", "alice");
    this->store().add_member("general", "alice");
    this->store().add_member("alice|bob", "alice");
    this->store().add_member("other", "bob");
    EXPECT_THAT(this->store().rooms_of("alice"), ElementsAre("alice|bob", "general", "zeta"));
    EXPECT_THAT(this->store().rooms_of("carol"), IsEmpty());
}

TYPED_TEST_P(StoreContract, MembersOfListsTheMembersByName) {
    this->store().add_member("general", "carol");
    this->store().add_member("general", "alice");
    this->store().add_member("general", "bob");
    EXPECT_THAT(this->store().members_of("general"), ElementsAre("alice", "bob", "carol"));
    EXPECT_THAT(this->store().members_of("nowhere"), IsEmpty());
}

TYPED_TEST_P(StoreContract, RoomMembersPagesTheNamesWithAReadMarkInByteOrder) {
    ASSERT_TRUE(this->store().create_room(make_room("dev")));
    for (const char* user : {"dave", "Zoe", "alice", "\xc3\xa9lodie", "bob"}) {
        this->store().add_member("dev", user);
    }
    this->store().add_member("general", "carol");
    this->store().remove_member("dev", "dave");

    EXPECT_THAT(this->store().room_members("dev", "", 10),
                ElementsAre("Zoe", "alice", "bob", "\xc3\xa9lodie"));
    EXPECT_THAT(this->store().room_members("dev", "", 2), ElementsAre("Zoe", "alice"));
    EXPECT_THAT(this->store().room_members("dev", "alice", 2), ElementsAre("bob", "\xc3\xa9lodie"));
    EXPECT_THAT(this->store().room_members("dev", "\xc3\xa9lodie", 2), IsEmpty());
    EXPECT_THAT(this->store().room_members("dev", "", 0), IsEmpty());
    EXPECT_THAT(this->store().room_members("nowhere", "", 10), IsEmpty());
}

TYPED_TEST_P(StoreContract, RoomMembersOfGeneralAreTheUsersWhoReadIt) {
    EXPECT_THAT(this->store().room_members("general", "", 10), IsEmpty());
    this->store().read_states("bob", {"general"}, 999);
    this->store().read_states("alice", {"general"}, 999);
    EXPECT_THAT(this->store().room_members("general", "", 10), ElementsAre("alice", "bob"));
}

// A group conversation of eight people with the longest names (32 characters of two bytes each)
// is a direct room of over 500 bytes: kept, listed for its members only and readable like any.
TYPED_TEST_P(StoreContract, AGroupConversationWithTheLongestNamesIsAnUnlistedRoomLikeAnyOther) {
    std::vector<std::string> people;
    std::string room = "dm";
    for (char first = 'a'; first < 'a' + 8; ++first) {
        std::string name(1, first);
        for (int i = 1; i < 32; ++i) name += "\xc3\xa9";
        people.push_back(name);
        room += ":" + name;
    }
    ASSERT_TRUE(this->store().create_room(make_room(room, true)));
    for (const auto& person : people) this->store().add_member(room, person);
    EXPECT_TRUE(this->store().find_room(room)->direct);
    EXPECT_THAT(names_of(this->store().list_public_rooms()), ElementsAre("general"));
    EXPECT_THAT(this->store().rooms_of(people.back()), ElementsAre(room));
    EXPECT_EQ(this->store().room_members(room, "", 10), people);
    EXPECT_FALSE(this->store().is_member(room, "alice"));

    const auto stored = append_and_wait(this->store(), new_message(room, people[0], "hi all"));
    ASSERT_TRUE(stored.ok) << stored.error;
    const auto states = this->store().read_states(people[1], {room}, 999);
    ASSERT_EQ(states.size(), 1u);
    EXPECT_EQ(states[0].room, room);
}

// --- prev_id: the per-room chain -----------------------------------------------------------------

// Every stored message names its room's previous id; a room's messages in id order form one
// chain from kNoPreviousMessage. `messages` is one room's full history in id order.
inline void expect_one_chain(const std::vector<model::Message>& messages) {
    model::MessageId previous = model::kNoPreviousMessage;
    for (const auto& message : messages) {
        EXPECT_EQ(message.prev_id, previous) << "message " << message.id;
        previous = message.id;
    }
}

TYPED_TEST_P(StoreContract, EachMessageNamesThePreviousMessageOfItsRoom) {
    ASSERT_TRUE(this->store().create_room(make_room("second")));
    Recorder recorder;
    for (std::size_t i = 0; i < 9; ++i) {
        this->store().append(new_message(i % 3 == 0 ? "second" : "general", "alice", "x"),
                             recorder.callback(i));
    }
    this->store().flush();
    // Appended one by one or in batches, the callbacks carry the chain the history shows.
    EXPECT_EQ(recorder.of(0).message.prev_id, model::kNoPreviousMessage);
    EXPECT_EQ(recorder.of(1).message.prev_id, model::kNoPreviousMessage);
    EXPECT_EQ(recorder.of(2).message.prev_id, recorder.of(1).message.id);
    EXPECT_EQ(recorder.of(3).message.prev_id, recorder.of(0).message.id);
    EXPECT_EQ(recorder.of(4).message.prev_id, recorder.of(2).message.id);
    EXPECT_EQ(recorder.of(6).message.prev_id, recorder.of(3).message.id);
    for (const char* room : {"general", "second"}) {
        const auto stored = this->store().history(newest(room));
        expect_one_chain(stored);
        for (const auto& message : stored) {
            bool found = false;
            for (const auto& [tag, result] : recorder.results()) {
                if (result.message.id != message.id) continue;
                found = true;
                EXPECT_EQ(result.message.prev_id, message.prev_id) << message.id;
            }
            EXPECT_TRUE(found) << message.id;
        }
    }
}

TYPED_TEST_P(StoreContract, OneBatchChainsItsMessagesAcrossRooms) {
    ASSERT_TRUE(this->store().create_room(make_room("second")));
    Recorder recorder;
    {
        WriterGate gate(this->store());  // its own message is general's first
        for (std::size_t i = 0; i < 30; ++i) {
            this->store().append(new_message(i % 4 == 0 ? "second" : "general", "alice", "x"),
                                 recorder.callback(i));
        }
    }
    this->store().flush();
    for (const char* room : {"general", "second"}) {
        const auto stored = this->store().history(newest(room));
        expect_one_chain(stored);
        model::MessageId previous = stored.front().id;
        for (const auto& [tag, result] : recorder.results()) {
            if (result.message.room != room || result.message.id == stored.front().id) continue;
            EXPECT_EQ(result.message.prev_id, previous) << "message " << result.message.id;
            previous = result.message.id;
        }
    }
}

// A large batch with a duplicate (of a message of the same batch and of an earlier one) and a
// message to a missing room among its fresh messages: those fail or deduplicate alone, every
// other message is stored once, with its callback's id and prev_id, and the chains continue
// into the next batch.
TYPED_TEST_P(StoreContract, DuplicatesAndFailuresInsideALargeBatchLeaveTheRestAndTheChainsExact) {
    ASSERT_TRUE(this->store().create_room(make_room("second")));
    const auto earlier =
        append_and_wait(this->store(), new_message("second", "alice", "earlier", "old"));
    ASSERT_TRUE(earlier.ok);
    auto room_of = [](std::size_t i) { return i % 3 == 0 ? "second" : "general"; };
    Recorder recorder;
    constexpr std::size_t kBatch = 100;
    {
        WriterGate gate(this->store());
        for (std::size_t i = 0; i < kBatch; ++i) {
            auto message =
                new_message(room_of(i), "alice", "m" + std::to_string(i), "k" + std::to_string(i));
            if (i == 40) message.client_msg_id = "k7";   // a duplicate within the batch
            if (i == 41) message.client_msg_id = "old";  // a duplicate of an earlier batch
            if (i == 70) message.room = "nowhere";
            this->store().append(std::move(message), recorder.callback(i));
        }
    }
    const auto next = append_and_wait(this->store(), new_message("general", "alice", "next"));
    ASSERT_TRUE(next.ok);

    EXPECT_TRUE(recorder.of(40).duplicate);
    EXPECT_EQ(recorder.of(40).message.id, recorder.of(7).message.id);
    EXPECT_EQ(recorder.of(40).message.content, "m7");
    EXPECT_TRUE(recorder.of(41).duplicate);
    EXPECT_EQ(recorder.of(41).message.id, earlier.message.id);
    EXPECT_FALSE(recorder.of(70).ok);
    model::MessageId previous_id = 0;
    for (const auto& [tag, result] : recorder.results()) {
        if (tag == 40 || tag == 41 || tag == 70) continue;
        ASSERT_TRUE(result.ok) << tag << ": " << result.error;
        EXPECT_FALSE(result.duplicate) << tag;
        EXPECT_GT(result.message.id, previous_id) << tag;
        previous_id = result.message.id;
        EXPECT_EQ(result.message.room, room_of(tag));
        EXPECT_EQ(result.message.content, "m" + std::to_string(tag));
        EXPECT_EQ(result.message.client_msg_id, "k" + std::to_string(tag));
    }
    for (const char* room : {"general", "second"}) {
        const auto stored = this->store().history(newest(room, 1000));
        expect_one_chain(stored);
        for (const auto& message : stored) {
            for (const auto& [tag, result] : recorder.results()) {
                if (tag != 40 && tag != 41 && result.message.id == message.id) {
                    EXPECT_EQ(result.message.prev_id, message.prev_id) << message.id;
                    EXPECT_EQ(result.message.content, message.content);
                }
            }
        }
    }
    // gate + 63 of the batch + next in general; earlier + 34 of the batch in second.
    EXPECT_EQ(this->store().history(newest("general", 1000)).size(), 65u);
    EXPECT_EQ(this->store().history(newest("second", 1000)).size(), 35u);
}

TYPED_TEST_P(StoreContract, HistoryPagesCarryThePrevIdOfTheirFirstMessage) {
    const auto results = this->fill("general", 10);
    const auto after = this->store().history(page_after("general", results[3].message.id, 3));
    ASSERT_EQ(after.size(), 3u);
    EXPECT_EQ(after[0].prev_id, results[3].message.id);
    const auto before = this->store().history(page_before("general", results[8].message.id, 2));
    ASSERT_EQ(before.size(), 2u);
    EXPECT_EQ(before[0].prev_id, results[5].message.id);
    expect_one_chain(this->store().history(newest("general")));
}

TYPED_TEST_P(StoreContract, ADuplicateAndTheOutboxReturnTheStoredPrevId) {
    const auto before = append_and_wait(this->store(), new_message("general", "bob", "b"));
    auto keyed = new_message("general", "alice", "a", "k");
    keyed.origin_node = "node-a";
    const auto first = append_and_wait(this->store(), keyed);
    ASSERT_TRUE(append_and_wait(this->store(), new_message("general", "bob", "c")).ok);
    const auto again = append_and_wait(this->store(), keyed);

    ASSERT_TRUE(again.duplicate);
    EXPECT_EQ(first.message.prev_id, before.message.id);
    EXPECT_EQ(again.message.prev_id, before.message.id);
    const auto pending = this->store().unpublished("node-a", 10);
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].prev_id, before.message.id);
}

TYPED_TEST_P(StoreContract, AFailedAppendLeavesNoLinkInTheChain) {
    Recorder recorder;
    {
        WriterGate gate(this->store());
        this->store().append(new_message("general", "alice", "before"), recorder.callback(0));
        this->store().append(new_message("nowhere", "alice", "lost"), recorder.callback(1));
        this->store().append(new_message("general", "alice", "after"), recorder.callback(2));
    }
    this->store().flush();
    ASSERT_FALSE(recorder.of(1).ok);
    EXPECT_EQ(recorder.of(2).message.prev_id, recorder.of(0).message.id);
    expect_one_chain(this->store().history(newest("general")));
}

TYPED_TEST_P(StoreContract, ChainsStayExactUnderConcurrentAppends) {
    ASSERT_TRUE(this->store().create_room(make_room("second")));
    constexpr int kThreads = 4;
    constexpr int kPerThread = 100;
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t) {
        writers.emplace_back([this, t] {
            for (int i = 0; i < kPerThread; ++i) {
                this->store().append(
                    new_message((i + t) % 2 == 0 ? "general" : "second", "alice", "x"), {});
            }
        });
    }
    for (auto& writer : writers) writer.join();
    this->store().flush();
    std::size_t total = 0;
    for (const char* room : {"general", "second"}) {
        const auto stored = this->store().history(newest(room, 1000));
        total += stored.size();
        expect_one_chain(stored);
    }
    EXPECT_EQ(total, static_cast<std::size_t>(kThreads * kPerThread));
}

// --- concurrency -------------------------------------------------------------------------------

TYPED_TEST_P(StoreContract, EveryMethodMayBeCalledFromManyThreadsAtOnce) {
    constexpr int kThreads = 6;
    constexpr int kRounds = 30;
    std::vector<std::future<void>> workers;
    for (int t = 0; t < kThreads; ++t) {
        workers.push_back(std::async(std::launch::async, [this, t] {
            const auto user = "user" + std::to_string(t);
            const auto own_room = "room" + std::to_string(t);
            EXPECT_TRUE(this->store().create_user({user, "", 1}));
            EXPECT_TRUE(this->store().create_room(make_room(own_room)));
            for (int i = 0; i < kRounds; ++i) {
                this->store().add_member(own_room, user);
                this->store().create_session({user + "-" + std::to_string(i), user, 10});
                this->store().append(new_message(own_room, user, std::to_string(i)),
                                     [](AppendResult) {});
                EXPECT_TRUE(this->store().is_member(own_room, user));
                EXPECT_TRUE(this->store().find_user(user).has_value());
                EXPECT_TRUE(
                    this->store().find_session(user + "-" + std::to_string(i), 0).has_value());
                EXPECT_LE(this->store().history(newest(own_room)).size(),
                          static_cast<std::size_t>(i + 1));
                EXPECT_THAT(this->store().rooms_of(user), ElementsAre(own_room));
            }
            this->store().flush();
            EXPECT_EQ(this->store().history(newest(own_room)).size(),
                      static_cast<std::size_t>(kRounds));
        }));
    }
    for (auto& worker : workers) worker.get();
    EXPECT_EQ(this->store().list_public_rooms().size(), static_cast<std::size_t>(kThreads + 1));
}

TYPED_TEST_P(StoreContract, MessagesWithoutOriginAreNeverInTheOutbox) {
    ASSERT_TRUE(append_and_wait(this->store(), new_message("general", "alice", "a")).ok);
    EXPECT_TRUE(this->store().unpublished("", 10).empty());
    EXPECT_TRUE(this->store().unpublished("node-a", 10).empty());
}

TYPED_TEST_P(StoreContract, OutboxHoldsEachNodesUnpublishedMessagesOldestFirst) {
    std::vector<model::MessageId> ids;
    for (const char* node : {"node-a", "node-b", "node-a", "node-a"}) {
        auto message = new_message("general", "alice", node);
        message.origin_node = node;
        const auto result = append_and_wait(this->store(), message);
        ASSERT_TRUE(result.ok);
        ids.push_back(result.message.id);
    }
    const auto pending = this->store().unpublished("node-a", 10);
    ASSERT_EQ(pending.size(), 3u);
    EXPECT_EQ(pending[0].id, ids[0]);
    EXPECT_EQ(pending[1].id, ids[2]);
    EXPECT_EQ(pending[2].id, ids[3]);
    EXPECT_EQ(pending[0].content, "node-a");
    EXPECT_EQ(this->store().unpublished("node-a", 2).size(), 2u);
    EXPECT_EQ(this->store().unpublished("node-b", 10).size(), 1u);
}

TYPED_TEST_P(StoreContract, MarkPublishedEmptiesTheOutboxIdempotently) {
    std::vector<model::MessageId> ids;
    for (int i = 0; i < 3; ++i) {
        auto message = new_message("general", "alice", std::to_string(i));
        message.origin_node = "node-a";
        ids.push_back(append_and_wait(this->store(), message).message.id);
    }
    this->store().mark_published({ids[0], ids[2], 999999});
    const auto pending = this->store().unpublished("node-a", 10);
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].id, ids[1]);
    this->store().mark_published({ids[1], ids[1]});
    this->store().mark_published({});
    EXPECT_TRUE(this->store().unpublished("node-a", 10).empty());
    EXPECT_EQ(this->store().history(newest("general")).size(), 3u);
}

// --- the group-commit writer -------------------------------------------------------------------

TYPED_TEST_P(StoreContract, GroupCommitTakesEverythingQueuedAsOneTransaction) {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 500;
    metrics::Metrics metrics("test");
    this->reopen({.metrics = &metrics, .max_batch = 1024});
    ASSERT_TRUE(this->store().create_room(make_room("red")));
    ASSERT_TRUE(this->store().create_room(make_room("blue")));

    struct Acked {
        int thread;
        AppendResult result;
    };
    std::vector<Acked> acked;  // appended to on the writer thread only, read after flush
    {
        WriterGate gate(this->store());
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                const std::string room = t % 2 == 0 ? "red" : "blue";
                for (int i = 0; i < kPerThread; ++i) {
                    this->store().append(
                        new_message(room, "user" + std::to_string(t), std::to_string(i)),
                        [&acked, t](AppendResult result) {
                            acked.push_back({t, std::move(result)});
                        });
                }
            });
        }
        for (auto& thread : threads) thread.join();
    }  // the gate opens: 2000 appends are queued
    this->store().flush();

    ASSERT_EQ(acked.size(), static_cast<std::size_t>(kThreads * kPerThread));
    std::map<int, model::MessageId> last_of_thread;
    for (std::size_t i = 0; i < acked.size(); ++i) {
        ASSERT_TRUE(acked[i].result.ok) << acked[i].result.error;
        if (i > 0) {
            EXPECT_GT(acked[i].result.message.id, acked[i - 1].result.message.id);
        }
        auto& last = last_of_thread[acked[i].thread];
        EXPECT_GT(acked[i].result.message.id, last);  // each thread's appends keep their order
        last = acked[i].result.message.id;
    }
    for (const char* room : {"red", "blue"}) {
        EXPECT_EQ(this->store().history(newest(room, 1000)).size(), 1000u);
    }
    // The gate's lone commit, then 2000 queued appends in batches of at most max_batch (1024).
    const auto batches = metrics.store_batch_size.Collect().histogram;
    EXPECT_EQ(batches.sample_count, 3u);
    EXPECT_EQ(batches.sample_sum, 2001.0);
    EXPECT_EQ(metrics.store_commit_seconds.Collect().histogram.sample_count, 3u);
    EXPECT_EQ(metrics.messages_stored.Value(), 2001.0);
    EXPECT_EQ(metrics.store_errors.Value(), 0.0);
}

TYPED_TEST_P(StoreContract, MaxBatchBoundsEveryGroupCommit) {
    metrics::Metrics metrics("test");
    this->reopen({.metrics = &metrics, .max_batch = 10});
    {
        WriterGate gate(this->store());
        for (int i = 0; i < 95; ++i)
            this->store().append(new_message("general", "a", "x"), nullptr);
    }
    this->store().flush();
    const auto batches = metrics.store_batch_size.Collect().histogram;
    EXPECT_EQ(batches.sample_count, 11u);  // the gate, 9 full batches, 5 left over
    EXPECT_EQ(batches.sample_sum, 96.0);
}

TYPED_TEST_P(StoreContract, CallbacksRunInIdOrderAcrossBatches) {
    metrics::Metrics metrics("test");
    this->reopen({.metrics = &metrics, .max_batch = 7});
    ASSERT_TRUE(this->store().create_room(make_room("second")));
    Recorder recorder;
    {
        WriterGate gate(this->store());
        for (std::size_t i = 0; i < 50; ++i) {
            this->store().append(new_message(i % 3 == 0 ? "second" : "general", "alice", "x"),
                                 recorder.callback(i));
        }
    }
    for (std::size_t i = 50; i < 60; ++i) {  // while the writer commits the first ones
        this->store().append(new_message("general", "alice", "y"), recorder.callback(i));
    }
    this->store().flush();

    const auto results = recorder.results();
    ASSERT_EQ(results.size(), 60u);
    for (std::size_t i = 0; i < results.size(); ++i) {
        EXPECT_EQ(results[i].first, i);
        ASSERT_TRUE(results[i].second.ok) << results[i].second.error;
        if (i > 0) {
            EXPECT_GT(results[i].second.message.id, results[i - 1].second.message.id);
        }
    }
    // The gate, then at least 50 / 7 rounded up batches.
    EXPECT_GE(metrics.store_batch_size.Collect().histogram.sample_count, 9u);
}

TYPED_TEST_P(StoreContract, FlushWaitsForTheAppendsQueuedBeforeIt) {
    std::atomic<int> done = 0;
    WriterGate gate(this->store());
    for (int i = 0; i < 20; ++i) {
        this->store().append(new_message("general", "alice", "x"), [&done](AppendResult result) {
            if (result.ok) done.fetch_add(1);
        });
    }
    auto flushed = std::async(std::launch::async, [this] { this->store().flush(); });
    EXPECT_EQ(flushed.wait_for(100ms), std::future_status::timeout);  // the writer is held
    EXPECT_EQ(done.load(), 0);
    gate.open();
    flushed.get();
    EXPECT_EQ(done.load(), 20);
}

TYPED_TEST_P(StoreContract, FlushFromAnAppendCallbackThrowsInsteadOfDeadlocking) {
    std::promise<bool> threw;
    this->store().append(new_message("general", "alice", "x"), [&](AppendResult) {
        try {
            this->store().flush();
            threw.set_value(false);
        } catch (const std::logic_error&) {
            threw.set_value(true);
        }
    });
    EXPECT_TRUE(threw.get_future().get());
}

// A transaction that fails as a whole stores nothing; each of its appends is retried in a
// transaction of its own, so only the one that broke it fails, and the chains stay exact.
TYPED_TEST_P(StoreContract, AFailedBatchIsRetriedOneByOneAndOnlyTheBadAppendFails) {
    metrics::Metrics metrics("test");
    this->reopen({.metrics = &metrics, .max_batch = 1024});
    this->factory_.poison("poison");
    Recorder recorder;
    {
        WriterGate gate(this->store());
        // "a" and "a2" are inserted before the poison rolls the transaction back.
        this->store().append(new_message("general", "alice", "a"), recorder.callback(0));
        this->store().append(new_message("general", "alice", "a2"), recorder.callback(1));
        this->store().append(new_message("general", "alice", "poison"), recorder.callback(2));
        this->store().append(new_message("general", "alice", "b"), recorder.callback(3));
    }
    this->store().flush();

    const auto results = recorder.results();
    ASSERT_EQ(results.size(), 4u);
    for (std::size_t i = 0; i < results.size(); ++i) EXPECT_EQ(results[i].first, i);
    EXPECT_TRUE(recorder.of(0).ok);
    EXPECT_TRUE(recorder.of(1).ok);
    EXPECT_FALSE(recorder.of(2).ok);
    EXPECT_THAT(recorder.of(2).error, ::testing::HasSubstr("poisoned message"));
    EXPECT_TRUE(recorder.of(3).ok);
    EXPECT_LT(recorder.of(0).message.id, recorder.of(3).message.id);
    const auto stored = this->store().history(newest("general"));
    EXPECT_EQ(contents_of(stored), (std::vector<std::string>{"gate", "a", "a2", "b"}));
    // The rolled-back attempt left nothing behind in the prev_id chain either.
    expect_one_chain(stored);
    ASSERT_EQ(stored.size(), 4u);
    EXPECT_EQ(recorder.of(0).message.prev_id, stored[0].id);
    EXPECT_EQ(recorder.of(1).message.prev_id, stored[1].id);
    EXPECT_EQ(recorder.of(3).message.prev_id, stored[2].id);
    // One commit each for the gate and the batch (its retries included); one failed append.
    EXPECT_EQ(metrics.store_batch_size.Collect().histogram.sample_count, 2u);
    EXPECT_EQ(metrics.messages_stored.Value(), 4.0);
    EXPECT_EQ(metrics.store_errors.Value(), 1.0);
}

TYPED_TEST_P(StoreContract, CountsFailedAppendsAsStoreErrors) {
    metrics::Metrics metrics("test");
    this->reopen({.metrics = &metrics, .max_batch = 1024});
    const auto result = append_and_wait(this->store(), new_message("nowhere", "alice", "x"));
    EXPECT_FALSE(result.ok);
    EXPECT_THAT(result.error, ::testing::HasSubstr("nowhere"));
    EXPECT_EQ(metrics.store_errors.Value(), 1.0);
    EXPECT_EQ(metrics.messages_stored.Value(), 0.0);
    EXPECT_THROW(this->store().add_member("nowhere", "alice"), StoreError);
    EXPECT_EQ(metrics.store_errors.Value(), 2.0);
}

TYPED_TEST_P(StoreContract, AThrowingCallbackIsCountedAndDoesNotStopTheWriter) {
    metrics::Metrics metrics("test");
    this->reopen({.metrics = &metrics, .max_batch = 1024});
    Recorder recorder;
    {
        WriterGate gate(this->store());  // one batch: the others' callbacks still run
        this->store().append(new_message("general", "alice", "a"), recorder.callback(0));
        this->store().append(new_message("general", "alice", "b"),
                             [](AppendResult) { throw std::runtime_error("callback failed"); });
        this->store().append(new_message("general", "alice", "c"), [](AppendResult) { throw 42; });
        this->store().append(new_message("general", "alice", "d"), recorder.callback(3));
    }
    EXPECT_TRUE(append_and_wait(this->store(), new_message("general", "alice", "e")).ok);
    EXPECT_TRUE(recorder.of(0).ok);
    EXPECT_TRUE(recorder.of(3).ok);
    EXPECT_EQ(metrics.store_callback_failures.Value(), 2.0);
    EXPECT_EQ(contents_of(this->store().history(newest("general"))),
              (std::vector<std::string>{"gate", "a", "b", "c", "d", "e"}));
}

TYPED_TEST_P(StoreContract, ClosingCommitsQueuedAppendsAndRunsTheirCallbacks) {
    std::atomic<int> callbacks = 0;
    for (int i = 0; i < 300; ++i) {
        this->store().append(new_message("general", "alice", "x"), [&](AppendResult result) {
            if (result.ok) callbacks.fetch_add(1);
        });
    }
    this->reopen({});
    EXPECT_EQ(callbacks.load(), 300);
    EXPECT_EQ(this->store().history(newest("general", 1000)).size(), 300u);
}

REGISTER_TYPED_TEST_SUITE_P(StoreContract,
                            GroupCommitTakesEverythingQueuedAsOneTransaction,
                            MaxBatchBoundsEveryGroupCommit,
                            CallbacksRunInIdOrderAcrossBatches,
                            FlushWaitsForTheAppendsQueuedBeforeIt,
                            FlushFromAnAppendCallbackThrowsInsteadOfDeadlocking,
                            AFailedBatchIsRetriedOneByOneAndOnlyTheBadAppendFails,
                            CountsFailedAppendsAsStoreErrors,
                            AThrowingCallbackIsCountedAndDoesNotStopTheWriter,
                            ClosingCommitsQueuedAppendsAndRunsTheirCallbacks,
                            AClientMsgIdReusedInAnotherRoomReturnsTheFirstMessageWithItsRoom,
                            EachMessageNamesThePreviousMessageOfItsRoom,
                            OneBatchChainsItsMessagesAcrossRooms,
                            DuplicatesAndFailuresInsideALargeBatchLeaveTheRestAndTheChainsExact,
                            HistoryPagesCarryThePrevIdOfTheirFirstMessage,
                            ADuplicateAndTheOutboxReturnTheStoredPrevId,
                            AFailedAppendLeavesNoLinkInTheChain,
                            ChainsStayExactUnderConcurrentAppends,
                            MessagesWithoutOriginAreNeverInTheOutbox,
                            OutboxHoldsEachNodesUnpublishedMessagesOldestFirst,
                            MarkPublishedEmptiesTheOutboxIdempotently,
                            AppendStoresTheMessageWithEveryField,
                            AppendKeepsTheMessageKindAndArbitraryText,
                            AppendAssignsIncreasingIdsWithinARoom,
                            IdsIncreaseInAppendOrderAcrossRooms,
                            CallbacksRunInIdOrder,
                            DuplicateClientMsgIdReturnsTheFirstStoredMessage,
                            DuplicateClientMsgIdWithinOneBatchIsDetected,
                            DuplicateClientMsgIdFromTwoThreadsStoresOneMessage,
                            SameClientMsgIdFromAnotherUserIsNotADuplicate,
                            EmptyClientMsgIdNeverDeduplicates,
                            AppendToAMissingRoomFailsWithoutAffectingTheRestOfTheBatch,
                            FlushWaitsForEveryQueuedCallback,
                            FlushReturnsAtOnceWhenNothingIsQueued,
                            HistoryWithoutCursorReturnsTheNewestMessagesAscending,
                            HistoryBeforeReturnsTheNewestOlderMessagesAscending,
                            HistoryAfterReturnsTheOldestNewerMessagesAscending,
                            HistoryPagesBackwardsWithoutGapsOrRepeats,
                            HistoryOnlyReturnsMessagesOfTheRequestedRoom,
                            HistoryClampsTheLimitToBetweenOneAndAThousand,
                            HistoryRejectsBeforeAndAfterTogether,
                            CreatedUserCanBeFound,
                            CreateUserReturnsFalseAndKeepsTheFirstWhenTheNameIsTaken,
                            FindUserReturnsNothingForAnUnknownName,
                            CreatedSessionCanBeFoundUntilItExpires,
                            FindSessionReturnsNothingForAnUnknownToken,
                            DeletedSessionIsGoneAndDeletingAnUnknownOneIsHarmless,
                            TrimSessionsKeepsTheNewestOfThatUserOnly,
                            SessionDetailsAreStoredAndListedNewestFirstForTheUserOnly,
                            DeleteSessionByIdEndsOnlyThatUsersSessionByThatId,
                            TouchSessionOnlyMovesTheLastUseForward,
                            SessionsWithoutAPublicIdDoNotCollide,
                            DeleteUserSessionsDeletesEveryOneOfThatUser,
                            PurgeExpiredSessionsDeletesThoseExpiredAtThatTime,
                            CreateUserRefusesANameKeyAnotherUserHoldsAndStoresNothing,
                            ConcurrentRegistrationsOfOneNameKeyStoreOneUser,
                            BackfilledNameKeysKeepAnExistingClashAndRefuseNewLookAlikes,
                            LoginFailuresCountPerKeyAndRestartAfterTheForgetTime,
                            ClearAndPurgeLoginFailures,
                            GeneralRoomExistsInAFreshStore,
                            CreatedRoomCanBeFound,
                            CreateRoomReturnsFalseAndKeepsTheFirstWhenTheNameIsTaken,
                            ListPublicRoomsIsSortedByNameAndExcludesDirectRooms,
                            AddMemberIsIdempotent,
                            RemoveMemberRemovesOnlyThatMembership,
                            IsMemberIsFalseForAnUnknownRoomOrUser,
                            RoomsOfListsEveryRoomOfTheUserByNameDirectOnesIncluded,
                            MembersOfListsTheMembersByName,
                            RoomMembersPagesTheNamesWithAReadMarkInByteOrder,
                            RoomMembersOfGeneralAreTheUsersWhoReadIt,
                            AGroupConversationWithTheLongestNamesIsAnUnlistedRoomLikeAnyOther,
                            EveryMethodMayBeCalledFromManyThreadsAtOnce);

// ---------------------------------------------------------------------------------------------
// The room log: changes and replies (docs/design/storage.md "Room events").

using model::MessageKind;

inline NewMessage change(MessageKind kind,
                         std::string user,
                         model::MessageId target,
                         std::string content = {},
                         std::string client_msg_id = {}) {
    auto message =
        new_message("general", std::move(user), std::move(content), std::move(client_msg_id));
    message.kind = kind;
    message.target_id = target;
    return message;
}

inline NewMessage reply(std::string user, model::MessageId to, std::string content) {
    auto message = new_message("general", std::move(user), std::move(content));
    message.reply_to = to;
    return message;
}

inline NewMessage at(NewMessage message, std::int64_t ts_ms) {
    message.ts_ms = ts_ms;
    return message;
}

template <typename Factory>
class RoomLogContract : public StoreContract<Factory> {
  public:
    // Appends and expects it stored; returns its id.
    model::MessageId stored(NewMessage message) {
        const auto result = append_and_wait(this->store(), std::move(message));
        EXPECT_TRUE(result.ok) << result.error;
        EXPECT_FALSE(result.duplicate);
        return result.message.id;
    }
    Refusal refusal(NewMessage message) {
        const auto result = append_and_wait(this->store(), std::move(message));
        EXPECT_FALSE(result.ok && result.refusal != Refusal::None);
        return result.ok ? Refusal::None : result.refusal;
    }
};

TYPED_TEST_SUITE_P(RoomLogContract);

TYPED_TEST_P(RoomLogContract, AChangeRowIsStoredInTheRoomsChainWithItsTarget) {
    const auto text = this->stored(new_message("general", "alice", "hello"));
    const auto result =
        append_and_wait(this->store(), change(MessageKind::Edit, "alice", text, "hello all", "c1"));
    ASSERT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.refusal, Refusal::None);
    EXPECT_EQ(result.message.kind, MessageKind::Edit);
    EXPECT_EQ(result.message.target_id, text);
    EXPECT_EQ(result.message.prev_id, text);
    EXPECT_EQ(result.message.content, "hello all");
    EXPECT_EQ(result.message.user_name, "alice");
    EXPECT_EQ(result.message.client_msg_id, "c1");
    EXPECT_EQ(result.message.reply_to, 0);
    // The live form of a stored row: no folded state.
    EXPECT_EQ(result.message.edited_ms, 0);
    EXPECT_FALSE(result.message.deleted);
}

TYPED_TEST_P(RoomLogContract, ChangesAndRepliesOfAnythingButATextMessageOfTheRoomAreNotFound) {
    ASSERT_TRUE(this->store().create_room(make_room("other")));
    const auto text = this->stored(new_message("general", "alice", "hello"));
    const auto elsewhere = this->stored(new_message("other", "alice", "there"));
    auto join = new_message("general", "alice", "CONNECTION_MESSAGE");
    join.kind = MessageKind::Join;
    const auto notice = this->stored(join);
    const auto edit = this->stored(change(MessageKind::Edit, "alice", text, "hello all"));
    for (const model::MessageId target :
         {model::MessageId{0}, elsewhere, notice, edit, model::MessageId{edit + 1000}}) {
        SCOPED_TRACE(target);
        EXPECT_EQ(this->refusal(change(MessageKind::Edit, "alice", target, "x")),
                  Refusal::MessageNotFound);
        EXPECT_EQ(this->refusal(change(MessageKind::Delete, "alice", target)),
                  Refusal::MessageNotFound);
        EXPECT_EQ(this->refusal(change(MessageKind::React, "alice", target, "👍")),
                  Refusal::MessageNotFound);
        EXPECT_EQ(this->refusal(change(MessageKind::Unreact, "alice", target, "👍")),
                  Refusal::MessageNotFound);
        if (target != 0) {
            EXPECT_EQ(this->refusal(reply("alice", target, "re")), Refusal::MessageNotFound);
        }
    }
    // Nothing was stored: the next message follows the edit in the chain.
    const auto next = append_and_wait(this->store(), new_message("general", "alice", "next"));
    EXPECT_EQ(next.message.prev_id, edit);
}

TYPED_TEST_P(RoomLogContract, OnlyTheAuthorMayEditOrDeleteAndAnyoneMayReact) {
    const auto text = this->stored(new_message("general", "alice", "hello"));
    EXPECT_EQ(this->refusal(change(MessageKind::Edit, "bob", text, "mine now")),
              Refusal::NotAuthor);
    EXPECT_EQ(this->refusal(change(MessageKind::Delete, "bob", text)), Refusal::NotAuthor);
    EXPECT_EQ(this->refusal(change(MessageKind::React, "bob", text, "👍")), Refusal::None);
    EXPECT_EQ(this->refusal(change(MessageKind::Unreact, "bob", text, "👍")), Refusal::None);
    EXPECT_EQ(this->refusal(reply("bob", text, "re")), Refusal::None);
}

TYPED_TEST_P(RoomLogContract, TheEditWindowClosesOneMillisecondPastItsLength) {
    const std::int64_t sent = 1'000'000;
    const auto text = this->stored(at(new_message("general", "alice", "hello"), sent));
    auto edit = [&](MessageKind kind, std::int64_t ts_ms, std::int64_t window) {
        auto message = at(change(kind, "alice", text, kind == MessageKind::Edit ? "e" : ""), ts_ms);
        message.edit_window_ms = window;
        return message;
    };
    EXPECT_EQ(this->refusal(edit(MessageKind::Edit, sent + 60'001, 60'000)),
              Refusal::EditWindowClosed);
    EXPECT_EQ(this->refusal(edit(MessageKind::Delete, sent + 60'001, 60'000)),
              Refusal::EditWindowClosed);
    EXPECT_EQ(this->refusal(edit(MessageKind::Edit, sent + 60'000, 60'000)), Refusal::None);
    // 0: no window at all.
    EXPECT_EQ(this->refusal(edit(MessageKind::Edit, sent + 10'000'000'000, 0)), Refusal::None);
    EXPECT_EQ(this->refusal(edit(MessageKind::Delete, sent + 60'000, 60'000)), Refusal::None);
}

TYPED_TEST_P(RoomLogContract, NothingChangesOrAnswersADeletedMessage) {
    const auto text = this->stored(new_message("general", "alice", "hello"));
    this->stored(change(MessageKind::Delete, "alice", text));
    EXPECT_EQ(this->refusal(change(MessageKind::Edit, "alice", text, "back")),
              Refusal::MessageDeleted);
    EXPECT_EQ(this->refusal(change(MessageKind::Delete, "alice", text)), Refusal::MessageDeleted);
    EXPECT_EQ(this->refusal(change(MessageKind::React, "bob", text, "👍")), Refusal::MessageDeleted);
    EXPECT_EQ(this->refusal(change(MessageKind::Unreact, "bob", text, "👍")),
              Refusal::MessageDeleted);
    EXPECT_EQ(this->refusal(reply("bob", text, "re")), Refusal::MessageDeleted);
    // Someone else's message, deleted: still "deleted" rather than "not yours".
    EXPECT_EQ(this->refusal(change(MessageKind::Edit, "bob", text, "x")), Refusal::MessageDeleted);
}

TYPED_TEST_P(RoomLogContract, ANewEmojiPastMaxReactionsIsRefusedButKnownOnesStillCount) {
    const auto text = this->stored(new_message("general", "alice", "hello"));
    auto react = [&](std::string user, std::string emoji) {
        auto message = change(MessageKind::React, std::move(user), text, std::move(emoji));
        message.max_reactions = 2;
        return message;
    };
    EXPECT_EQ(this->refusal(react("alice", "👍")), Refusal::None);
    EXPECT_EQ(this->refusal(react("alice", "🎉")), Refusal::None);  // at the limit
    EXPECT_EQ(this->refusal(react("bob", "❤️")), Refusal::TooManyReactions);
    EXPECT_EQ(this->refusal(react("bob", "👍")), Refusal::None);    // a known emoji
    EXPECT_EQ(this->refusal(react("alice", "👍")), Refusal::None);  // a repeat: idempotent
    // Once an emoji is gone, another fits.
    auto unreact = change(MessageKind::Unreact, "alice", text, "🎉");
    EXPECT_EQ(this->refusal(unreact), Refusal::None);
    EXPECT_EQ(this->refusal(react("bob", "❤️")), Refusal::None);
}

TYPED_TEST_P(RoomLogContract, AReplyToAReplyJoinsItsThreadAndChangesCarryTheTargetsThread) {
    const auto root = this->stored(new_message("general", "alice", "root"));
    const auto first = append_and_wait(this->store(), reply("bob", root, "first"));
    ASSERT_TRUE(first.ok);
    EXPECT_EQ(first.message.reply_to, root);
    const auto nested = append_and_wait(this->store(), reply("carol", first.message.id, "nested"));
    ASSERT_TRUE(nested.ok);
    EXPECT_EQ(nested.message.reply_to, root);
    const auto edit =
        append_and_wait(this->store(), change(MessageKind::Edit, "bob", first.message.id, "1st"));
    EXPECT_EQ(edit.message.reply_to, root);
    const auto react = append_and_wait(this->store(), change(MessageKind::React, "bob", root, "👍"));
    EXPECT_EQ(react.message.reply_to, 0);
    // Fields a kind does not have are not stored.
    auto notice = new_message("general", "alice", "CONNECTION_MESSAGE");
    notice.kind = MessageKind::Join;
    notice.reply_to = root;
    notice.target_id = root;
    const auto join = append_and_wait(this->store(), notice);
    ASSERT_TRUE(join.ok);
    EXPECT_EQ(join.message.reply_to, 0);
    EXPECT_EQ(join.message.target_id, 0);
    auto text = new_message("general", "alice", "plain");
    text.target_id = root;
    EXPECT_EQ(append_and_wait(this->store(), text).message.target_id, 0);
    const auto deletion = append_and_wait(
        this->store(), change(MessageKind::Delete, "bob", first.message.id, "ignored"));
    ASSERT_TRUE(deletion.ok);
    EXPECT_EQ(deletion.message.content, "");
    EXPECT_EQ(deletion.message.reply_to, root);
}

TYPED_TEST_P(RoomLogContract, ARetriedChangeReturnsItsFirstRowEvenWhenTheRulesWouldNowRefuseIt) {
    const auto text = this->stored(new_message("general", "alice", "hello"));
    const auto first =
        append_and_wait(this->store(), change(MessageKind::Delete, "alice", text, "", "d1"));
    ASSERT_TRUE(first.ok);
    const auto again =
        append_and_wait(this->store(), change(MessageKind::Delete, "alice", text, "", "d1"));
    ASSERT_TRUE(again.ok);
    EXPECT_TRUE(again.duplicate);
    EXPECT_EQ(again.message.id, first.message.id);
    EXPECT_EQ(again.message.kind, MessageKind::Delete);
    EXPECT_EQ(again.message.target_id, text);
    // Another key is another change: refused now.
    EXPECT_EQ(this->refusal(change(MessageKind::Delete, "alice", text, "", "d2")),
              Refusal::MessageDeleted);
}

TYPED_TEST_P(RoomLogContract, ABatchMixingRefusedAndAcceptedAppendsStoresTheAcceptedOnes) {
    metrics::Metrics metrics("test");
    this->reopen({.metrics = &metrics, .max_batch = 1024});
    const auto text = this->stored(new_message("general", "alice", "hello"));
    Recorder recorder;
    {
        WriterGate gate(this->store());
        this->store().append(new_message("general", "alice", "a"), recorder.callback(0));
        this->store().append(change(MessageKind::Edit, "bob", text, "x"), recorder.callback(1));
        this->store().append(change(MessageKind::Edit, "alice", text, "hi"), recorder.callback(2));
        this->store().append(new_message("general", "alice", "b"), recorder.callback(3));
        this->store().append(new_message("general", "alice", "c"), recorder.callback(4));
        this->store().append(change(MessageKind::Delete, "alice", text), recorder.callback(5));
        this->store().append(change(MessageKind::React, "bob", text, "👍"), recorder.callback(6));
        this->store().append(new_message("general", "alice", "d"), recorder.callback(7));
    }
    this->store().flush();
    ASSERT_EQ(recorder.results().size(), 8u);
    for (std::size_t tag : {0, 2, 3, 4, 5, 7}) {
        EXPECT_TRUE(recorder.of(tag).ok) << tag << ": " << recorder.of(tag).error;
    }
    EXPECT_EQ(recorder.of(1).refusal, Refusal::NotAuthor);
    EXPECT_FALSE(recorder.of(1).ok);
    // Deleted by an earlier append of the same batch.
    EXPECT_EQ(recorder.of(6).refusal, Refusal::MessageDeleted);
    // The chain links the stored rows only, in append order.
    EXPECT_EQ(recorder.of(2).message.prev_id, recorder.of(0).message.id);
    EXPECT_EQ(recorder.of(3).message.prev_id, recorder.of(2).message.id);
    EXPECT_EQ(recorder.of(5).message.prev_id, recorder.of(4).message.id);
    EXPECT_EQ(recorder.of(7).message.prev_id, recorder.of(5).message.id);
    // One commit for the batch, no retry; refusals are no store errors.
    EXPECT_EQ(metrics.store_batch_size.Collect().histogram.sample_count, 3u);
    EXPECT_EQ(metrics.store_errors.Value(), 0.0);
    EXPECT_EQ(metrics.messages_stored.Value(), 8.0);
}

TYPED_TEST_P(RoomLogContract, AChangeMayTargetAMessageOfItsOwnBatch) {
    const auto before = this->stored(new_message("general", "alice", "a"));
    Recorder recorder;
    {
        // The gate is before + 1, so "b" will be before + 2 (ids without gaps: nothing fails).
        WriterGate gate(this->store());
        this->store().append(new_message("general", "alice", "b"), recorder.callback(0));
        this->store().append(change(MessageKind::Edit, "alice", before + 2, "b2"),
                             recorder.callback(1));
        this->store().append(change(MessageKind::React, "bob", before + 2, "👍"),
                             recorder.callback(2));
    }
    this->store().flush();
    ASSERT_EQ(recorder.of(0).message.id, before + 2);
    EXPECT_TRUE(recorder.of(1).ok) << recorder.of(1).error;
    EXPECT_EQ(recorder.of(1).refusal, Refusal::None);
    EXPECT_TRUE(recorder.of(2).ok) << recorder.of(2).error;
}

// A room where every kind of change happened, for the folding tests.
struct Scene {
    model::MessageId a = 0, b = 0, edit = 0, reply1 = 0, reply2 = 0, last = 0;
    std::int64_t edit_ts = 0, reply2_ts = 0;
};

template <typename Contract>
Scene build_scene(Contract& test) {
    Scene scene;
    scene.a = test.stored(at(new_message("general", "alice", "hello"), 1000));
    scene.b = test.stored(at(new_message("general", "bob", "hi"), 2000));
    scene.edit_ts = 3000;
    scene.edit = test.stored(at(change(MessageKind::Edit, "alice", scene.a, "hello all"), 3000));
    test.stored(change(MessageKind::React, "bob", scene.a, "👍"));
    test.stored(change(MessageKind::React, "alice", scene.a, "🎉"));
    test.stored(change(MessageKind::React, "carol", scene.a, "👍"));
    test.stored(change(MessageKind::React, "dave", scene.a, "🎉"));
    test.stored(change(MessageKind::Unreact, "dave", scene.a, "🎉"));
    test.stored(change(MessageKind::React, "bob", scene.b, "❤️"));
    scene.reply1 = test.stored(at(reply("bob", scene.a, "first"), 4000));
    scene.reply2_ts = 5000;
    scene.reply2 = test.stored(at(reply("carol", scene.reply1, "second"), 5000));
    test.stored(change(MessageKind::React, "alice", scene.reply1, "👀"));
    scene.last = test.stored(change(MessageKind::Delete, "bob", scene.reply1));
    return scene;
}

inline std::vector<model::Reaction> reactions(
    std::initializer_list<std::pair<std::string, std::vector<std::string>>> list) {
    std::vector<model::Reaction> out;
    for (const auto& [emoji, users] : list) out.push_back(model::Reaction{emoji, users});
    return out;
}

TYPED_TEST_P(RoomLogContract, PagesReturnVisibleMessagesFoldedWithTheRoomsAsOf) {
    const auto scene = build_scene(*this);
    for (const auto& page : {this->store().page(newest("general")),
                             this->store().page(page_before("general", scene.last + 1))}) {
        ASSERT_EQ(page.messages.size(), 4u);
        EXPECT_EQ(page.as_of, scene.last);
        const auto& a = page.messages[0];
        EXPECT_EQ(a.id, scene.a);
        EXPECT_EQ(a.content, "hello all");
        EXPECT_EQ(a.edited_ms, scene.edit_ts);
        EXPECT_FALSE(a.deleted);
        EXPECT_EQ(a.reactions, reactions({{"👍", {"bob", "carol"}}, {"🎉", {"alice"}}}));
        EXPECT_EQ(a.reply_count, 1);  // reply1 is deleted
        EXPECT_EQ(a.last_reply_ms, scene.reply2_ts);
        EXPECT_EQ(page.messages[1].id, scene.b);
        EXPECT_EQ(page.messages[1].edited_ms, 0);
        EXPECT_EQ(page.messages[1].reactions, reactions({{"❤️", {"bob"}}}));
        const auto& reply1 = page.messages[2];
        EXPECT_EQ(reply1.id, scene.reply1);
        EXPECT_TRUE(reply1.deleted);
        EXPECT_EQ(reply1.content, "");
        EXPECT_TRUE(reply1.reactions.empty());
        EXPECT_EQ(reply1.reply_to, scene.a);
        EXPECT_EQ(page.messages[3].reply_to, scene.a);
        EXPECT_EQ(page.messages[3].content, "second");
        // Visible rows keep their place in the chain of every row.
        EXPECT_EQ(page.messages[1].prev_id, scene.a);
        EXPECT_EQ(page.messages[2].prev_id, scene.reply1 - 1);
    }
    // A page of fewer messages than the room's changes still says as_of = the room's newest id.
    const auto older = this->store().page(page_before("general", scene.reply1, 1));
    ASSERT_EQ(older.messages.size(), 1u);
    EXPECT_EQ(older.messages[0].id, scene.b);
    EXPECT_EQ(older.as_of, scene.last);
    EXPECT_EQ(this->store().page(newest("nowhere")).as_of, 0);
}

TYPED_TEST_P(RoomLogContract, FindMessageReturnsOneVisibleMessageOfTheRoomFolded) {
    const auto scene = build_scene(*this);
    const auto found = this->store().find_message("general", scene.a);
    ASSERT_TRUE(found.has_value());
    ASSERT_EQ(found->messages.size(), 1u);
    EXPECT_EQ(found->as_of, scene.last);
    EXPECT_EQ(found->messages[0].content, "hello all");
    EXPECT_EQ(found->messages[0].reactions, reactions({{"👍", {"bob", "carol"}}, {"🎉", {"alice"}}}));
    EXPECT_EQ(found->messages[0].reply_count, 1);
    EXPECT_TRUE(this->store().find_message("general", scene.reply1)->messages[0].deleted);
    EXPECT_FALSE(this->store().find_message("general", scene.edit).has_value());  // a change
    EXPECT_FALSE(this->store().find_message("other", scene.a).has_value());
    EXPECT_FALSE(this->store().find_message("general", scene.last + 100).has_value());
}

TYPED_TEST_P(RoomLogContract, AfterPagesReturnEveryRowChangesAsStoredInOrder) {
    const auto scene = build_scene(*this);
    const auto page = this->store().page(page_after("general", scene.b));
    EXPECT_EQ(page.as_of, scene.last);
    ASSERT_EQ(page.messages.size(), static_cast<std::size_t>(scene.last - scene.b));
    for (std::size_t i = 0; i < page.messages.size(); ++i) {
        EXPECT_EQ(page.messages[i].id, scene.b + 1 + static_cast<model::MessageId>(i));
        EXPECT_EQ(page.messages[i].prev_id, page.messages[i].id - 1);
    }
    EXPECT_EQ(page.messages[0].kind, MessageKind::Edit);
    EXPECT_EQ(page.messages[0].target_id, scene.a);
    EXPECT_EQ(page.messages[0].content, "hello all");
    EXPECT_EQ(page.messages[1].kind, MessageKind::React);
    EXPECT_EQ(page.messages[1].content, "👍");
    EXPECT_EQ(page.messages[1].user_name, "bob");
    EXPECT_TRUE(page.messages[1].reactions.empty());
    EXPECT_EQ(page.messages[5].kind, MessageKind::Unreact);
    EXPECT_EQ(page.messages.back().kind, MessageKind::Delete);
    EXPECT_EQ(page.messages.back().reply_to, scene.a);
    // The visible rows among them come folded.
    const auto reply2 = std::find_if(page.messages.begin(), page.messages.end(),
                                     [&](const auto& m) { return m.id == scene.reply2; });
    ASSERT_NE(reply2, page.messages.end());
    EXPECT_EQ(reply2->reply_to, scene.a);
    const auto limited = this->store().page(page_after("general", scene.b, 2));
    ASSERT_EQ(limited.messages.size(), 2u);
    EXPECT_EQ(limited.as_of, scene.last);
}

TYPED_TEST_P(RoomLogContract, ADeletedMessagesTextIsGoneFromEveryRow) {
    const auto text = this->stored(new_message("general", "alice", "secret one"));
    this->stored(change(MessageKind::Edit, "alice", text, "secret two"));
    this->stored(change(MessageKind::Edit, "alice", text, "secret three"));
    this->stored(change(MessageKind::React, "bob", text, "👍"));
    this->stored(change(MessageKind::Delete, "alice", text, "secret four"));
    const auto everything = this->store().page(page_after("general", 0, 1000));
    ASSERT_EQ(everything.messages.size(), 5u);
    for (const auto& row : everything.messages) {
        EXPECT_THAT(row.content, ::testing::Not(::testing::HasSubstr("secret"))) << row.id;
    }
    const auto found = this->store().find_message("general", text);
    ASSERT_TRUE(found.has_value());
    EXPECT_TRUE(found->messages[0].deleted);
    EXPECT_EQ(found->messages[0].content, "");
    EXPECT_TRUE(found->messages[0].reactions.empty());
    EXPECT_EQ(found->messages[0].edited_ms, everything.messages[2].ts_ms);
}

TYPED_TEST_P(RoomLogContract, ThreadsPageTheirRepliesFolded) {
    const auto root = this->stored(new_message("general", "alice", "root"));
    const auto other = this->stored(new_message("general", "alice", "other root"));
    std::vector<model::MessageId> replies;
    for (int i = 0; i < 5; ++i) {
        // Every other one answers the previous reply: it still joins the root's thread.
        const auto to = (i % 2 == 1) ? replies.back() : root;
        replies.push_back(this->stored(reply("bob", to, "r" + std::to_string(i))));
        this->stored(reply("carol", other, "elsewhere"));
    }
    this->stored(change(MessageKind::Delete, "bob", replies[1]));
    const auto last = this->stored(change(MessageKind::React, "alice", replies[4], "👍"));

    const auto newest_two = this->store().thread(newest("general", 2), root);
    EXPECT_EQ(contents_of(newest_two.messages), (std::vector<std::string>{"r3", "r4"}));
    EXPECT_EQ(newest_two.as_of, last);
    EXPECT_EQ(newest_two.messages[1].reactions, reactions({{"👍", {"alice"}}}));
    const auto before = this->store().thread(page_before("general", replies[3], 2), root);
    ASSERT_EQ(before.messages.size(), 2u);
    EXPECT_EQ(before.messages[0].id, replies[1]);
    EXPECT_TRUE(before.messages[0].deleted);
    EXPECT_EQ(before.messages[1].content, "r2");
    const auto after = this->store().thread(page_after("general", replies[0], 3), root);
    EXPECT_EQ(contents_of(after.messages), (std::vector<std::string>{"", "r2", "r3"}));
    EXPECT_EQ(this->store().thread(newest("general"), root).messages.size(), 5u);
    EXPECT_EQ(this->store().thread(newest("general"), other).messages.size(), 5u);
    EXPECT_TRUE(this->store().thread(newest("general"), replies[0]).messages.empty());
    EXPECT_TRUE(this->store().thread(newest("other"), root).messages.empty());
    const auto root_now = this->store().find_message("general", root);
    EXPECT_EQ(root_now->messages[0].reply_count, 4);
}

TYPED_TEST_P(RoomLogContract, TheOutboxHoldsChangeRowsAndStoredRowsWithoutFoldedState) {
    auto on_node = [](NewMessage message) {
        message.origin_node = "node-a";
        return message;
    };
    const auto text = this->stored(on_node(new_message("general", "alice", "hello")));
    const auto replied = this->stored(on_node(reply("bob", text, "re")));
    const auto edit = this->stored(on_node(change(MessageKind::Edit, "alice", text, "hello!")));
    const auto react = this->stored(on_node(change(MessageKind::React, "bob", text, "👍")));
    const auto outbox = this->store().unpublished("node-a", 10);
    ASSERT_EQ(outbox.size(), 4u);
    EXPECT_EQ(outbox[0].id, text);
    // Without the counted state, so a client applies the changes and replies that follow it
    // exactly once; with what its content already reflects: a republished row says it is edited.
    EXPECT_EQ(outbox[0].reply_count, 0);
    EXPECT_TRUE(outbox[0].reactions.empty());
    EXPECT_EQ(outbox[0].content, "hello!");
    EXPECT_GT(outbox[0].edited_ms, 0);
    EXPECT_EQ(outbox[1].id, replied);
    EXPECT_EQ(outbox[1].reply_to, text);
    EXPECT_EQ(outbox[2].id, edit);
    EXPECT_EQ(outbox[2].kind, MessageKind::Edit);
    EXPECT_EQ(outbox[2].target_id, text);
    EXPECT_EQ(outbox[3].id, react);
    EXPECT_EQ(outbox[3].content, "👍");
    this->store().mark_published({text, replied, edit, react});
    EXPECT_TRUE(this->store().unpublished("node-a", 10).empty());
}

// Two writers (a second store on the same database: another process or node) race an edit and
// a delete of the same message: one order wins, and the state agrees with it.
TYPED_TEST_P(RoomLogContract, AnEditAndADeleteRacingHaveExactlyOneOutcome) {
    auto second = this->factory_.create(StoreSetup{});
    constexpr int kRounds = 20;
    for (int round = 0; round < kRounds; ++round) {
        SCOPED_TRACE(round);
        const auto text = this->stored(new_message("general", "alice", "draft"));
        std::promise<void> go;
        auto start = go.get_future().share();
        auto edit = std::async(std::launch::async, [&] {
            start.wait();
            return append_and_wait(this->store(),
                                   change(MessageKind::Edit, "alice", text, "edited"));
        });
        auto deletion = std::async(std::launch::async, [&] {
            start.wait();
            return append_and_wait(*second, change(MessageKind::Delete, "alice", text));
        });
        go.set_value();
        const auto edited = edit.get();
        const auto deleted = deletion.get();
        ASSERT_TRUE(deleted.ok) << deleted.error;
        if (edited.ok) {
            EXPECT_LT(edited.message.id, deleted.message.id);  // the edit came first
        } else {
            EXPECT_EQ(edited.refusal, Refusal::MessageDeleted);
        }
        const auto found = this->store().find_message("general", text);
        ASSERT_TRUE(found.has_value());
        EXPECT_TRUE(found->messages[0].deleted);
        EXPECT_EQ(found->messages[0].content, "");
        for (const auto& row : this->store().page(page_after("general", text)).messages) {
            EXPECT_EQ(row.content, "") << row.id;
        }
    }
}

// last_reply_ms is the thread's last activity: deleting its newest reply, or every reply, takes
// the count down and leaves the time (docs/protocol.md, folded fields).
TYPED_TEST_P(RoomLogContract, DeletedRepliesLeaveTheThreadsLastActivity) {
    const auto root = this->stored(at(new_message("general", "alice", "root"), 1000));
    const auto first = this->stored(at(reply("bob", root, "one"), 2000));
    const auto newest_reply = this->stored(at(reply("bob", root, "two"), 3000));
    auto root_now = [&] {
        auto found = this->store().find_message("general", root);
        EXPECT_TRUE(found.has_value());
        return found ? found->messages.at(0) : model::Message{};
    };
    this->stored(change(MessageKind::Delete, "bob", newest_reply));
    EXPECT_EQ(root_now().reply_count, 1);
    EXPECT_EQ(root_now().last_reply_ms, 3000);
    this->stored(change(MessageKind::Delete, "bob", first));
    EXPECT_EQ(root_now().reply_count, 0);
    EXPECT_EQ(root_now().last_reply_ms, 3000);
}

// Migration 0007 brings a version-6 database with data to room events: rows, ids, the id
// sequence (past a deleted newest message), idempotency keys and unpublished outbox rows come
// through, every index is there, and the store then takes room events.
TYPED_TEST_P(RoomLogContract, TheRoomEventsMigrationUpgradesAVersion6DatabaseWithData) {
    const auto first = this->stored(new_message("general", "alice", "one", "k1"));
    auto outbox = new_message("general", "bob", "two", "k2");
    outbox.origin_node = "node-a";
    this->stored(outbox);
    const auto deleted = this->stored(new_message("general", "alice", "three"));
    this->store_.reset();
    this->factory_.revert_to_version_6(deleted);
    this->store_ = this->factory_.create(StoreSetup{});

    const auto page = this->store().page(newest("general"));
    ASSERT_EQ(contents_of(page.messages), (std::vector<std::string>{"one", "two"}));
    EXPECT_EQ(page.messages[0].id, first);
    EXPECT_EQ(page.messages[1].prev_id, first);
    const auto unpublished = this->store().unpublished("node-a", 10);
    ASSERT_EQ(unpublished.size(), 1u);
    EXPECT_EQ(unpublished[0].content, "two");
    EXPECT_TRUE(
        append_and_wait(this->store(), new_message("general", "alice", "again", "k1")).duplicate);

    const auto edited =
        append_and_wait(this->store(), change(MessageKind::Edit, "alice", first, "one, edited"));
    ASSERT_TRUE(edited.ok) << edited.error;
    EXPECT_GT(edited.message.id, deleted);
    const auto found = this->store().find_message("general", first);
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(contents_of(found->messages), (std::vector<std::string>{"one, edited"}));
    EXPECT_EQ(this->factory_.times_applied(7), 1);
    EXPECT_THAT(this->factory_.room_log_indexes(),
                ::testing::IsSupersetOf({"messages_by_room", "messages_changes_by_target",
                                         "messages_client_msg_id", "messages_replies",
                                         "messages_unpublished", "messages_visible_by_room"}));
}

REGISTER_TYPED_TEST_SUITE_P(RoomLogContract,
                            AChangeRowIsStoredInTheRoomsChainWithItsTarget,
                            ChangesAndRepliesOfAnythingButATextMessageOfTheRoomAreNotFound,
                            OnlyTheAuthorMayEditOrDeleteAndAnyoneMayReact,
                            TheEditWindowClosesOneMillisecondPastItsLength,
                            NothingChangesOrAnswersADeletedMessage,
                            ANewEmojiPastMaxReactionsIsRefusedButKnownOnesStillCount,
                            AReplyToAReplyJoinsItsThreadAndChangesCarryTheTargetsThread,
                            ARetriedChangeReturnsItsFirstRowEvenWhenTheRulesWouldNowRefuseIt,
                            ABatchMixingRefusedAndAcceptedAppendsStoresTheAcceptedOnes,
                            AChangeMayTargetAMessageOfItsOwnBatch,
                            PagesReturnVisibleMessagesFoldedWithTheRoomsAsOf,
                            FindMessageReturnsOneVisibleMessageOfTheRoomFolded,
                            AfterPagesReturnEveryRowChangesAsStoredInOrder,
                            ADeletedMessagesTextIsGoneFromEveryRow,
                            ThreadsPageTheirRepliesFolded,
                            TheOutboxHoldsChangeRowsAndStoredRowsWithoutFoldedState,
                            AnEditAndADeleteRacingHaveExactlyOneOutcome,
                            DeletedRepliesLeaveTheThreadsLastActivity,
                            TheRoomEventsMigrationUpgradesAVersion6DatabaseWithData);

// ---------------------------------------------------------------------------------------------
// Read state: each user's last-read id per room and unread counts (docs/design/storage.md
// "Read state").

inline ReadMarkResult mark_and_wait(Store& store,
                                    std::string user,
                                    std::string room,
                                    model::MessageId up_to,
                                    std::size_t cap = 999) {
    std::promise<ReadMarkResult> result;
    auto future = result.get_future();
    store.mark_read(ReadMark{std::move(user), std::move(room), up_to, cap},
                    [&result](ReadMarkResult r) { result.set_value(std::move(r)); });
    return future.get();
}

template <typename Factory>
class ReadStateContract : public RoomLogContract<Factory> {
  public:
    void SetUp() override {
        ASSERT_TRUE(this->store().create_room(Room{"team", false, "alice", 1}));
        this->store().add_member("team", "alice");
    }
    model::MessageId say(std::string user, std::string content, std::string room = "team") {
        return this->stored(new_message(std::move(room), std::move(user), std::move(content)));
    }
    // The user's state in one room.
    ReadState state(const std::string& user,
                    const std::string& room = "team",
                    std::size_t cap = 999) {
        const auto states = this->store().read_states(user, {room}, cap);
        EXPECT_EQ(states.size(), 1u);
        return states.empty() ? ReadState{} : states.front();
    }
};

TYPED_TEST_SUITE_P(ReadStateContract);

inline NewMessage in_team(NewMessage message) {
    message.room = "team";
    return message;
}

using Outcome = ReadMarkResult::Outcome;

TYPED_TEST_P(ReadStateContract, AMemberStartsAtTheNewestIdAndCountsOnlyOthersVisibleTextMessages) {
    this->say("alice", "before bob");
    const auto joined_at = this->say("alice", "still before bob");
    this->store().add_member("team", "bob");
    EXPECT_EQ(this->state("bob"), (ReadState{"team", joined_at, 0, false, joined_at}));

    const auto kept = this->say("alice", "one");
    const auto deleted = this->say("alice", "two");
    this->say("bob", "bob's own");
    this->stored(in_team(change(MessageKind::Edit, "alice", kept, "one, edited")));
    this->stored(in_team(change(MessageKind::Delete, "alice", deleted)));
    const auto newest = this->stored(in_team(change(MessageKind::React, "alice", kept, "👍")));

    // "one" only: not the deleted one, not bob's own, not the changes.
    EXPECT_EQ(this->state("bob"), (ReadState{"team", joined_at, 1, false, newest}));
    // alice joined before her own messages: bob's is her only unread one.
    EXPECT_EQ(this->state("alice").unread, 1);
}

TYPED_TEST_P(ReadStateContract, AMarkMovesOnlyForwardAndNeverPastTheRoomsNewestId) {
    this->store().add_member("team", "bob");
    const auto first = this->say("alice", "one");
    const auto second = this->say("alice", "two");
    const auto third = this->say("alice", "three");

    auto moved = mark_and_wait(this->store(), "bob", "team", second);
    EXPECT_EQ(moved.outcome, Outcome::Moved) << moved.error;
    EXPECT_THAT(moved.states, ElementsAre(ReadState{"team", second, 1, false, third}));

    const auto back = mark_and_wait(this->store(), "bob", "team", first);
    EXPECT_EQ(back.outcome, Outcome::Unchanged);
    EXPECT_THAT(back.states, ElementsAre(ReadState{"team", second, 1, false, third}));

    const auto beyond = mark_and_wait(this->store(), "bob", "team", third + 1);
    EXPECT_EQ(beyond.outcome, Outcome::BeyondNewest);
    EXPECT_EQ(this->state("bob"), (ReadState{"team", second, 1, false, third}));

    moved = mark_and_wait(this->store(), "bob", "team", third);
    EXPECT_EQ(moved.outcome, Outcome::Moved);
    EXPECT_THAT(moved.states, ElementsAre(ReadState{"team", third, 0, false, third}));
    // Durable: a reopened store has it.
    this->reopen(StoreSetup{});
    EXPECT_EQ(this->state("bob"), (ReadState{"team", third, 0, false, third}));
}

TYPED_TEST_P(ReadStateContract, MarkAllReadMovesEveryRoomBehindItsNewestIdAndOnlyThose) {
    ASSERT_TRUE(this->store().create_room(Room{"quiet", false, "alice", 1}));
    ASSERT_TRUE(this->store().create_room(Room{"busy", false, "alice", 1}));
    for (const auto* room : {"quiet", "busy"}) this->store().add_member(room, "bob");
    this->store().add_member("team", "bob");
    this->say("alice", "in team");
    const auto busy = this->say("alice", "in busy", "busy");
    const auto team = this->say("alice", "in team again");

    const auto all = mark_and_wait(this->store(), "bob", "", 0);
    EXPECT_EQ(all.outcome, Outcome::Moved) << all.error;
    EXPECT_THAT(all.states, ElementsAre(ReadState{"busy", busy, 0, false, busy},
                                        ReadState{"team", team, 0, false, team}));
    EXPECT_EQ(this->store().read_states("bob", {"busy", "quiet", "team"}, 999),
              (std::vector<ReadState>{{"busy", busy, 0, false, busy},
                                      {"quiet", 0, 0, false, 0},
                                      {"team", team, 0, false, team}}));
    EXPECT_EQ(mark_and_wait(this->store(), "bob", "", 0).outcome, Outcome::Unchanged);
}

TYPED_TEST_P(ReadStateContract, UnreadCountsStopAtTheCapAndSayWhenMoreExist) {
    this->store().add_member("team", "bob");
    this->say("alice", "one");
    this->say("alice", "two");
    EXPECT_EQ(this->state("bob", "team", 2).unread, 2);
    EXPECT_FALSE(this->state("bob", "team", 2).unread_capped);
    this->say("alice", "three");
    EXPECT_EQ(this->state("bob", "team", 2).unread, 2);
    EXPECT_TRUE(this->state("bob", "team", 2).unread_capped);
    EXPECT_EQ(this->state("bob", "team", 3).unread, 3);
    EXPECT_FALSE(this->state("bob", "team", 3).unread_capped);
}

TYPED_TEST_P(ReadStateContract, AUserMeetingARoomWithoutJoiningItStartsAtItsNewestId) {
    this->say("alice", "old news", "general");
    const auto newest = this->say("alice", "older news", "general");
    // general has no members row: carol's first read gives her a mark at its end. An unknown
    // room is left out.
    EXPECT_EQ(this->store().read_states("carol", {"general", "no-such-room"}, 999),
              (std::vector<ReadState>{{"general", newest, 0, false, newest}}));
    const auto fresh = this->say("alice", "news", "general");
    EXPECT_EQ(this->state("carol", "general"), (ReadState{"general", newest, 1, false, fresh}));
    // A mark is also made by marking.
    EXPECT_EQ(mark_and_wait(this->store(), "dave", "general", fresh).outcome, Outcome::Moved);
    EXPECT_EQ(this->state("dave", "general"), (ReadState{"general", fresh, 0, false, fresh}));
}

TYPED_TEST_P(ReadStateContract, LeavingForgetsTheMarkAndRejoiningStartsAtTheNewestId) {
    this->store().add_member("team", "bob");
    this->say("alice", "one");
    this->store().add_member("team", "bob");  // idempotent: the mark stays
    EXPECT_EQ(this->state("bob").unread, 1);
    this->store().remove_member("team", "bob");
    const auto newest = this->say("alice", "two");
    this->store().add_member("team", "bob");
    EXPECT_EQ(this->state("bob"), (ReadState{"team", newest, 0, false, newest}));
}

// One query counts every room, each up to the cap through the index, however many messages
// are unread: measured here with 100,000 in one room (the figure is in docs/design/storage.md).
TYPED_TEST_P(ReadStateContract, CountingAHundredThousandUnreadMessagesStopsAtTheCap) {
    this->store().add_member("team", "bob");
    constexpr int kMessages = 100'000;
    for (int done = 0; done < kMessages; done += 10'000) {
        for (int i = 0; i < 10'000; ++i) {
            this->store().append(new_message("team", "alice", "m" + std::to_string(done + i)),
                                 nullptr);
        }
        this->store().flush();
    }
    std::vector<std::string> rooms{"general", "team"};
    for (int i = 0; i < 20; ++i) {
        const auto room = "r" + std::to_string(i);
        ASSERT_TRUE(this->store().create_room(Room{room, false, "alice", 1}));
        this->store().add_member(room, "bob");
        rooms.push_back(room);
    }
    this->store().read_states("bob", rooms, 999);  // general's mark made, caches warm
    const auto started = std::chrono::steady_clock::now();
    constexpr int kRounds = 20;
    std::vector<ReadState> states;
    for (int i = 0; i < kRounds; ++i) states = this->store().read_states("bob", rooms, 999);
    const auto each =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started) /
        kRounds;
    ASSERT_EQ(states.size(), rooms.size());
    const auto team = std::find_if(states.begin(), states.end(),
                                   [](const ReadState& s) { return s.room == "team"; });
    EXPECT_EQ(team->unread, 999);
    EXPECT_TRUE(team->unread_capped);
    std::cout << "read_states of 22 rooms, one with 100,000 unread: " << each.count()
              << " ms per call\n";
    this->RecordProperty("read_states_ms", std::to_string(each.count()));
}

// Migration 0008 gives every member of a room from before it a mark at the room's newest id.
TYPED_TEST_P(ReadStateContract, TheReadMarksMigrationStartsExistingMembersAtTheNewestId) {
    this->store().add_member("team", "bob");
    this->say("alice", "one");
    const auto newest = this->say("alice", "two");
    this->store_.reset();
    this->factory_.revert_to_version_6(0);
    this->store_ = this->factory_.create(StoreSetup{});
    EXPECT_EQ(this->state("bob"), (ReadState{"team", newest, 0, false, newest}));
    EXPECT_EQ(this->factory_.times_applied(8), 1);
}

// ---------------------------------------------------------------------------------------------
// Mentions, stored with their message and counted above the read mark (docs/design/storage.md
// "Mentions").

inline NewMessage mentioning(std::string user,
                             std::string content,
                             std::vector<std::string> names,
                             bool room = false,
                             std::size_t max_room_members = 50,
                             std::string client_msg_id = {}) {
    auto message =
        new_message("team", std::move(user), std::move(content), std::move(client_msg_id));
    message.mention_names = std::move(names);
    message.mentions_room = room;
    message.max_room_mention_members = max_room_members;
    return message;
}

TYPED_TEST_P(ReadStateContract, MentionsOfMembersAreStoredWithTheMessageAndCountedAboveTheMark) {
    this->store().add_member("team", "bob");
    this->say("alice", "before");
    // carol is no member; alice's own name notifies nobody but is still a mention.
    const auto sent = append_and_wait(
        this->store(),
        mentioning("alice", "@carol @bob @alice", {"carol", "bob", "alice"}, false, 50, "k-1"));
    ASSERT_TRUE(sent.ok) << sent.error;
    EXPECT_THAT(sent.message.mentions, ElementsAre("bob", "alice"));
    EXPECT_FALSE(sent.message.mentions_room);
    this->say("alice", "no mention");
    EXPECT_EQ(this->state("bob").unread, 3);
    EXPECT_EQ(this->state("bob").mentions, 1);
    EXPECT_EQ(this->state("alice").mentions, 0);

    // History and a retry carry the same names.
    const auto page = this->store().page(HistoryQuery{"team", {}, {}, 10});
    const auto stored = std::find_if(page.messages.begin(), page.messages.end(),
                                     [&](const auto& m) { return m.id == sent.message.id; });
    ASSERT_NE(stored, page.messages.end());
    EXPECT_THAT(stored->mentions, ElementsAre("bob", "alice"));
    const auto retry = append_and_wait(
        this->store(),
        mentioning("alice", "@carol @bob @alice", {"carol", "bob", "alice"}, false, 50, "k-1"));
    EXPECT_TRUE(retry.duplicate);
    EXPECT_THAT(retry.message.mentions, ElementsAre("bob", "alice"));

    // Read past it: no mention left; read up to just before it: still one.
    EXPECT_EQ(
        mark_and_wait(this->store(), "bob", "team", sent.message.id - 1).states.at(0).mentions, 1);
    EXPECT_EQ(mark_and_wait(this->store(), "bob", "team", sent.message.id).states.at(0).mentions,
              0);
}

TYPED_TEST_P(ReadStateContract, ADeletedMessageLeavesTheCountAndAnEditAddsNoMention) {
    this->store().add_member("team", "bob");
    const auto first = this->stored(mentioning("alice", "@bob one", {"bob"}));
    const auto second = this->stored(mentioning("alice", "plain", {}));
    EXPECT_EQ(this->state("bob").mentions, 1);
    auto edit = in_team(change(MessageKind::Edit, "alice", second, "@bob two"));
    edit.mention_names = {"bob"};  // an edit stores none, whatever it says
    this->stored(std::move(edit));
    EXPECT_EQ(this->state("bob").mentions, 1);
    this->stored(in_team(change(MessageKind::Delete, "alice", first)));
    EXPECT_EQ(this->state("bob").mentions, 0);
    EXPECT_EQ(this->state("bob").unread, 1);
}

TYPED_TEST_P(ReadStateContract, RoomMentionsReachEveryMemberOnlyUpToTheSizeLimit) {
    this->store().add_member("team", "bob");
    this->store().add_member("team", "dave");
    // Three members, a limit of three: at the edge, allowed.
    const auto sent =
        append_and_wait(this->store(), mentioning("alice", "@room hi", {}, true, 3, "r-1"));
    ASSERT_TRUE(sent.ok) << sent.error;
    EXPECT_TRUE(sent.message.mentions_room);
    EXPECT_TRUE(sent.message.mentions.empty());
    EXPECT_EQ(this->state("bob").mentions, 1);
    EXPECT_EQ(this->state("dave").mentions, 1);
    EXPECT_EQ(this->state("alice").mentions, 0);
    // Named and @room at once count once.
    this->stored(mentioning("alice", "@room @bob", {"bob"}, true, 3));
    EXPECT_EQ(this->state("bob").mentions, 2);

    // One past the edge: refused, nothing stored.
    const auto as_of = this->state("bob").as_of;
    EXPECT_EQ(this->refusal(mentioning("alice", "@room again", {"bob"}, true, 2)),
              Refusal::RoomMentionTooLarge);
    EXPECT_EQ(this->state("bob").as_of, as_of);
    EXPECT_EQ(this->state("bob").mentions, 2);
    // A retry of the stored one is still its first copy.
    const auto retry =
        append_and_wait(this->store(), mentioning("alice", "@room hi", {}, true, 2, "r-1"));
    EXPECT_TRUE(retry.ok && retry.duplicate);
    EXPECT_EQ(retry.message.id, sent.message.id);
}

TYPED_TEST_P(ReadStateContract, InGeneralTheMembersAreTheUsersWithAMarkThere) {
    this->store().read_states("bob", {"general"}, 999);  // bob has connected; carol never did
    auto message = mentioning("alice", "@bob @carol", {"bob", "carol"});
    message.room = "general";
    const auto sent = append_and_wait(this->store(), std::move(message));
    ASSERT_TRUE(sent.ok) << sent.error;
    EXPECT_THAT(sent.message.mentions, ElementsAre("bob"));
    EXPECT_EQ(this->state("bob", "general").mentions, 1);
}

TYPED_TEST_P(ReadStateContract, MentionCountsStopAtTheUnreadCap) {
    this->store().add_member("team", "bob");
    for (int i = 0; i < 3; ++i) this->stored(mentioning("alice", "@bob", {"bob"}));
    EXPECT_EQ(this->state("bob", "team", 2).mentions, 2);
    EXPECT_EQ(this->state("bob", "team", 3).mentions, 3);
}

// Mentions ride in batches beside plain messages: each gets its own names.
TYPED_TEST_P(ReadStateContract, MentionsInABatchKeepTheirOwnNames) {
    this->store().add_member("team", "bob");
    Recorder recorder;
    for (std::size_t i = 0; i < 6; ++i) {
        auto message = i % 2 == 0 ? mentioning("alice", "@bob " + std::to_string(i), {"bob"})
                                  : in_team(new_message("team", "alice", std::to_string(i)));
        this->store().append(std::move(message), recorder.callback(i));
    }
    this->store().flush();
    for (const auto& [tag, result] : recorder.results()) {
        ASSERT_TRUE(result.ok) << result.error;
        EXPECT_EQ(result.message.mentions.size(), tag % 2 == 0 ? 1u : 0u) << tag;
    }
    EXPECT_EQ(this->state("bob").mentions, 3);
    EXPECT_EQ(this->state("bob").unread, 6);
}

// Notification levels: one row per user and room, replaced by a new choice, deleted by nullopt
// (back to the room's default) and by leaving the room; durable.
TYPED_TEST_P(ReadStateContract, NotifyLevelsAreKeptPerUserAndRoomUntilClearedOrLeft) {
    using model::NotifyLevel;
    using model::RoomNotifyLevel;
    ASSERT_TRUE(this->store().create_room(Room{"dm:alice:bob", true, "alice", 1}));
    for (const auto* room : {"team", "dm:alice:bob"}) this->store().add_member(room, "bob");
    EXPECT_TRUE(this->store().notify_levels("bob").empty());

    this->store().set_notify_level("bob", "team", NotifyLevel::All);
    this->store().set_notify_level("bob", "team", NotifyLevel::Muted);  // replaces
    this->store().set_notify_level("bob", "dm:alice:bob", NotifyLevel::Mentions);
    this->store().set_notify_level("alice", "team", NotifyLevel::All);
    EXPECT_EQ(this->store().notify_levels("bob"),
              (std::vector<RoomNotifyLevel>{{"dm:alice:bob", NotifyLevel::Mentions},
                                            {"team", NotifyLevel::Muted}}));
    this->reopen(StoreSetup{});
    EXPECT_EQ(this->store().notify_levels("bob").size(), 2u);

    this->store().set_notify_level("bob", "dm:alice:bob", std::nullopt);
    this->store().set_notify_level("bob", "no-such-room", std::nullopt);  // nothing to delete
    EXPECT_EQ(this->store().notify_levels("bob"),
              (std::vector<RoomNotifyLevel>{{"team", NotifyLevel::Muted}}));

    this->store().remove_member("team", "bob");
    EXPECT_TRUE(this->store().notify_levels("bob").empty());
    this->store().add_member("team", "bob");  // rejoining starts from the default again
    EXPECT_TRUE(this->store().notify_levels("bob").empty());
    // Another user's level is theirs alone.
    EXPECT_EQ(this->store().notify_levels("alice"),
              (std::vector<RoomNotifyLevel>{{"team", NotifyLevel::All}}));
}

REGISTER_TYPED_TEST_SUITE_P(ReadStateContract,
                            AMemberStartsAtTheNewestIdAndCountsOnlyOthersVisibleTextMessages,
                            AMarkMovesOnlyForwardAndNeverPastTheRoomsNewestId,
                            MarkAllReadMovesEveryRoomBehindItsNewestIdAndOnlyThose,
                            UnreadCountsStopAtTheCapAndSayWhenMoreExist,
                            AUserMeetingARoomWithoutJoiningItStartsAtItsNewestId,
                            LeavingForgetsTheMarkAndRejoiningStartsAtTheNewestId,
                            CountingAHundredThousandUnreadMessagesStopsAtTheCap,
                            TheReadMarksMigrationStartsExistingMembersAtTheNewestId,
                            MentionsOfMembersAreStoredWithTheMessageAndCountedAboveTheMark,
                            ADeletedMessageLeavesTheCountAndAnEditAddsNoMention,
                            RoomMentionsReachEveryMemberOnlyUpToTheSizeLimit,
                            InGeneralTheMembersAreTheUsersWithAMarkThere,
                            MentionCountsStopAtTheUnreadCap,
                            MentionsInABatchKeepTheirOwnNames,
                            NotifyLevelsAreKeptPerUserAndRoomUntilClearedOrLeft);

}  // namespace chatd::store::contract
