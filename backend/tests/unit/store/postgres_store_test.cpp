// PostgresStore against a real server: the store contract plus what only PostgreSQL has
// (several nodes on one database, lost connections). Needs CHATD_TEST_PG, a libpq conninfo or
// URI without dbname (ctest's "postgres" fixture starts a throwaway server and sets it); each
// test runs in a fresh database test_<random>, dropped afterwards.

#include "store/postgres_store.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "metrics/metrics.hpp"
#include "store/open_store.hpp"
#include "store/schema_codes.hpp"
#include "support/temp_dir.hpp"
#include "unit/store/people_contract.hpp"
#include "unit/store/store_contract.hpp"

namespace {

using namespace chatd;
using namespace std::chrono_literals;
using store::AppendResult;
using store::PostgresOptions;
using store::PostgresStore;
using store::StoreError;
using store::contract::append_and_wait;
using store::contract::contents_of;
using store::contract::expect_one_chain;
using store::contract::new_message;
using store::contract::newest;
using store::contract::page_after;
using store::contract::Recorder;
using store::contract::WriterGate;
using Rows = std::vector<std::vector<std::string>>;

std::string base_conninfo() {
    const char* value = std::getenv("CHATD_TEST_PG");
    if (value == nullptr || *value == '\0') {
        throw std::runtime_error(
            "CHATD_TEST_PG is not set: run through ctest (fixture postgres) or export a "
            "conninfo such as 'host=127.0.0.1 port=25432 user=postgres'");
    }
    return value;
}

// libpq's quoting of a conninfo value.
std::string conninfo_value(std::string_view value) {
    std::string out = "'";
    for (const char c : value) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

// `base` (conninfo or URI) with its dbname replaced, as a key=value conninfo.
std::string with_dbname(const std::string& base, const std::string& dbname) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(base.c_str(), &error);
    if (options == nullptr) {
        const std::string message = error != nullptr ? error : "out of memory";
        PQfreemem(error);
        throw std::runtime_error("CHATD_TEST_PG: " + message);
    }
    std::string conninfo;
    for (auto* option = options; option->keyword != nullptr; ++option) {
        if (option->val == nullptr || std::string_view(option->keyword) == "dbname") continue;
        conninfo += std::string(option->keyword) + "=" + conninfo_value(option->val) + " ";
    }
    PQconninfoFree(options);
    return conninfo + "dbname=" + conninfo_value(dbname);
}

// The same server as a postgresql:// URL (for open_store), built from host, port and user.
std::string url_for(const std::string& dbname) {
    PQconninfoOption* options = PQconninfoParse(base_conninfo().c_str(), nullptr);
    std::map<std::string, std::string> values;
    for (auto* option = options; option != nullptr && option->keyword != nullptr; ++option) {
        if (option->val != nullptr) values[option->keyword] = option->val;
    }
    PQconninfoFree(options);
    return "postgresql://" + values["user"] + "@" + values["host"] + ":" + values["port"] + "/" +
           dbname;
}

std::string random_suffix() {
    std::random_device device;
    std::uniform_int_distribution<std::uint64_t> bits;
    const auto value = bits(device);
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
    return text;
}

// A plain libpq connection that looks at the database behind the store's back. Test SQL is
// literal text; identifiers go through PQescapeIdentifier.
class RawConnection {
  public:
    explicit RawConnection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
        if (PQstatus(conn_) != CONNECTION_OK) {
            const std::string message = PQerrorMessage(conn_);
            PQfinish(conn_);
            throw std::runtime_error("cannot connect: " + message);
        }
        PQsetNoticeProcessor(
            conn_, [](void*, const char*) {}, nullptr);
    }
    ~RawConnection() { PQfinish(conn_); }
    RawConnection(const RawConnection&) = delete;
    RawConnection& operator=(const RawConnection&) = delete;

    std::string identifier(const std::string& name) const {
        char* escaped = PQescapeIdentifier(conn_, name.c_str(), name.size());
        std::string result = escaped;
        PQfreemem(escaped);
        return result;
    }

    void execute(const std::string& sql) { rows(sql); }

    // Every row of a query, columns as text. Parameters are bound ($1...).
    Rows rows(const std::string& sql, const std::vector<std::string>& params = {}) {
        std::vector<const char*> values;
        for (const auto& param : params) values.push_back(param.c_str());
        PGresult* result = params.empty()
                               ? PQexec(conn_, sql.c_str())
                               : PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()),
                                              nullptr, values.data(), nullptr, nullptr, 0);
        const auto status = PQresultStatus(result);
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
            const std::string message = PQresultErrorMessage(result);
            PQclear(result);
            throw std::runtime_error(sql + ": " + message);
        }
        Rows out;
        for (int row = 0; row < PQntuples(result); ++row) {
            out.emplace_back();
            for (int column = 0; column < PQnfields(result); ++column) {
                out.back().emplace_back(PQgetvalue(result, row, column));
            }
        }
        PQclear(result);
        return out;
    }

    std::string scalar(const std::string& sql, const std::vector<std::string>& params = {}) {
        const auto result = rows(sql, params);
        if (result.size() != 1 || result[0].size() != 1) {
            throw std::runtime_error(sql + ": not one value");
        }
        return result[0][0];
    }

  private:
    PGconn* conn_;
};

// A fresh database on the test server, dropped (WITH FORCE: stray sessions are ended) when
// this goes away.
class TestDatabase {
  public:
    TestDatabase() : name_("test_" + random_suffix()) {
        RawConnection admin(with_dbname(base_conninfo(), "postgres"));
        admin.execute("CREATE DATABASE " + admin.identifier(name_));
    }
    ~TestDatabase() {
        try {
            RawConnection admin(with_dbname(base_conninfo(), "postgres"));
            admin.execute("DROP DATABASE IF EXISTS " + admin.identifier(name_) + " WITH (FORCE)");
        } catch (const std::exception& error) {
            ADD_FAILURE() << "cannot drop " << name_ << ": " << error.what();
        }
    }
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;

    const std::string& name() const { return name_; }
    std::string conninfo() const { return with_dbname(base_conninfo(), name_); }

  private:
    std::string name_;
};

PostgresOptions options_for(const TestDatabase& database) {
    PostgresOptions options;
    options.conninfo = database.conninfo();
    return options;
}

struct PostgresFactory {
    TestDatabase database;
    std::unique_ptr<store::Store> create(const store::contract::StoreSetup& setup) {
        auto options = options_for(database);
        options.max_batch = setup.max_batch;
        return std::make_unique<PostgresStore>(options, setup.metrics);
    }
    void poison(const std::string& content) {
        RawConnection(database.conninfo())
            .execute(
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$"
                " BEGIN IF NEW.content = '" +
                content +
                "' THEN RAISE EXCEPTION 'poisoned message'; END IF;"
                " RETURN NEW; END $$;"
                " CREATE TRIGGER poison BEFORE INSERT ON messages"
                " FOR EACH ROW EXECUTE FUNCTION poison()");
    }
    // Migration 0007 changed the messages table in place: undone in place (0008's read marks
    // and 0009's mentions dropped, 0008's index going with the deleted column).
    void revert_to_version_6(model::MessageId deleted) {
        RawConnection(database.conninfo())
            .execute(
                "DROP TABLE reactions;"
                "DROP TABLE read_marks;"
                "DROP TABLE mentions;"
                "ALTER TABLE sessions DROP COLUMN public_id, DROP COLUMN created_ms,"
                " DROP COLUMN last_used_ms, DROP COLUMN user_agent, DROP COLUMN address;"
                "DROP TABLE people;"
                "DROP TABLE notify_levels;"
                "DROP INDEX messages_visible_by_room;"
                "ALTER TABLE messages DROP COLUMN target_id, DROP COLUMN reply_to,"
                " DROP COLUMN mentions, DROP COLUMN mentions_room,"
                " DROP COLUMN edited_ms, DROP COLUMN deleted, DROP COLUMN reply_count,"
                " DROP COLUMN last_reply_ms, DROP CONSTRAINT messages_kind_check,"
                " ADD CONSTRAINT messages_kind_check CHECK (kind IN (0, 1, 2));"
                "DELETE FROM schema_version WHERE version >= 7;"
                "DELETE FROM messages WHERE id = " +
                std::to_string(deleted));
    }
    std::vector<std::string> room_log_indexes() {
        std::vector<std::string> names;
        for (auto& row : RawConnection(database.conninfo())
                             .rows("SELECT indexname FROM pg_indexes"
                                   " WHERE tablename IN ('messages', 'reactions')")) {
            names.push_back(row.at(0));
        }
        return names;
    }
    int times_applied(int version) {
        return std::stoi(RawConnection(database.conninfo())
                             .scalar("SELECT COUNT(*) FROM schema_version WHERE version = $1",
                                     {std::to_string(version)}));
    }
};

}  // namespace

namespace chatd::store::contract {
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, StoreContract, ::testing::Types<PostgresFactory>);
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, RoomLogContract, ::testing::Types<PostgresFactory>);
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, ReadStateContract, ::testing::Types<PostgresFactory>);
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, PeopleContract, ::testing::Types<PostgresFactory>);
}  // namespace chatd::store::contract

namespace {

class PostgresStoreTest : public ::testing::Test {
  protected:
    PostgresOptions options() const { return options_for(database_); }
    RawConnection raw() const { return RawConnection(database_.conninfo()); }

    // Ends the sessions of this database whose application_name is `role` (chatd-writer,
    // chatd-pool) and waits until the server has let them go. Returns how many there were.
    int terminate(const std::string& role) {
        auto admin = raw();
        const auto ended = admin.rows(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = $1",
            {role});
        for (int i = 0; i < 200; ++i) {
            const auto left = admin.scalar(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = $1",
                {role});
            if (left == "0") break;
            std::this_thread::sleep_for(25ms);
        }
        std::this_thread::sleep_for(100ms);  // the socket closes just after the session ends
        return static_cast<int>(ended.size());
    }

    TestDatabase database_;
};

// Appends until one succeeds (the first tries may meet a connection the server just ended),
// at most `deadline`; every failure must say why.
AppendResult append_until_ok(store::Store& store,
                             const std::string& content,
                             std::chrono::milliseconds deadline = 30s) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    for (;;) {
        auto result = append_and_wait(store, new_message("general", "alice", content));
        if (result.ok || std::chrono::steady_clock::now() > until) return result;
        EXPECT_FALSE(result.error.empty());
        std::this_thread::sleep_for(100ms);
    }
}

// --- migrations --------------------------------------------------------------------------------

TEST_F(PostgresStoreTest, RecordsEveryMigrationAndReopeningAppliesNoneAgain) {
    { PostgresStore store(options()); }
    auto db = raw();
    const auto applied = db.rows("SELECT version, name, applied_ms FROM schema_version ORDER BY 1");
    ASSERT_GE(applied.size(), 2u);
    EXPECT_EQ(applied[0][0], "1");
    EXPECT_EQ(applied[0][1], "0001_init");
    EXPECT_EQ(applied[1][0], "2");
    EXPECT_EQ(applied[1][1], "0002_publication_outbox");
    { PostgresStore store(options()); }
    { PostgresStore store(options()); }
    EXPECT_EQ(db.rows("SELECT version, name, applied_ms FROM schema_version ORDER BY 1"), applied);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM rooms WHERE name = 'general'"), "1");
}

// The plan of the newest page (the same text as postgres_store.cpp's) in a room where change
// rows outnumber messages many times: it walks the visible rows' index, not every row.
TEST_F(PostgresStoreTest, TheNewestPageOfARoomWithManyReactionsUsesTheVisibleRowsIndex) {
    {
        PostgresStore store(options());
        for (int i = 0; i < 50; ++i) {
            const auto id = append_and_wait(store, new_message("general", "alice", "m")).message.id;
            for (int user = 0; user < 40; ++user) {
                auto react = new_message("general", "u" + std::to_string(user), "👍");
                react.kind = model::MessageKind::React;
                react.target_id = id;
                store.append(react, nullptr);
            }
        }
        store.flush();
    }
    auto db = raw();
    db.execute("ANALYZE messages");
    std::string plan;
    for (const auto& row : db.rows("EXPLAIN SELECT " CHATD_MESSAGE_COLUMNS
                                   " FROM messages m WHERE room = 'general' AND kind < 3"
                                   " ORDER BY id DESC LIMIT 50")) {
        plan += row[0] + "\n";
    }
    // (A bitmap scan of it for a room this small, an ordered scan for a large one.)
    EXPECT_THAT(plan, ::testing::ContainsRegex("(using|on) messages_visible_by_room"));
}

TEST_F(PostgresStoreTest, NodesStartingTogetherMigrateOnce) {
    constexpr int kNodes = 4;
    std::promise<void> go;
    auto start = go.get_future().share();
    std::vector<std::future<bool>> nodes;
    for (int i = 0; i < kNodes; ++i) {
        nodes.push_back(std::async(std::launch::async, [this, start] {
            start.wait();
            PostgresStore store(options());
            return store.find_room("general").has_value();
        }));
    }
    go.set_value();
    for (auto& node : nodes) EXPECT_TRUE(node.get());
    auto db = raw();
    EXPECT_EQ(db.scalar("SELECT count(*) FROM schema_version"),
              db.scalar("SELECT count(DISTINCT version) FROM schema_version"));
    // The newest migration (migrations/postgres/0012_notify_levels.sql).
    EXPECT_EQ(db.scalar("SELECT max(version) FROM schema_version"), "12");
    EXPECT_EQ(db.scalar("SELECT count(*) FROM rooms"), "1");
}

TEST_F(PostgresStoreTest, RefusesADatabaseWithANewerSchemaThanItKnows) {
    { PostgresStore store(options()); }
    raw().execute(
        "INSERT INTO schema_version (version, name, applied_ms) VALUES (999999, 'future', 0)");
    try {
        PostgresStore store(options());
        FAIL() << "no StoreError";
    } catch (const StoreError& error) {
        EXPECT_THAT(error.what(), ::testing::HasSubstr("newer"));
    }
}

TEST_F(PostgresStoreTest, AnUnreachableServerIsAStoreErrorAtOpen) {
    PostgresOptions options;
    options.conninfo = "host=127.0.0.1 port=1 user=postgres dbname=none connect_timeout=2";
    EXPECT_THROW(PostgresStore store(options), StoreError);
    options.conninfo = "";
    EXPECT_THROW(PostgresStore store(options), StoreError);
}

TEST_F(PostgresStoreTest, EverythingSurvivesCloseAndReopen) {
    model::MessageId last_id = 0;
    {
        PostgresStore store(options());
        ASSERT_TRUE(store.create_user({"alice", "hash", 1}));
        store.create_session({"token", "alice", 100});
        ASSERT_TRUE(store.create_room({"dev", false, "alice", 2}));
        store.add_member("dev", "alice");
        auto message = new_message("dev", "alice", "pending");
        message.origin_node = "node-a";
        ASSERT_TRUE(append_and_wait(store, message).ok);
        last_id = append_and_wait(store, new_message("dev", "alice", "persisted", "k")).message.id;
    }
    PostgresStore store(options());
    EXPECT_EQ(store.find_user("alice")->password_hash, "hash");
    EXPECT_TRUE(store.find_session("token", 0).has_value());
    EXPECT_TRUE(store.find_room("dev").has_value());
    EXPECT_TRUE(store.is_member("dev", "alice"));
    EXPECT_EQ(contents_of(store.history(newest("dev"))),
              (std::vector<std::string>{"pending", "persisted"}));
    EXPECT_EQ(contents_of(store.unpublished("node-a", 10)), (std::vector<std::string>{"pending"}));
    const auto duplicate = append_and_wait(store, new_message("dev", "alice", "again", "k"));
    EXPECT_TRUE(duplicate.duplicate);
    EXPECT_EQ(duplicate.message.id, last_id);
    EXPECT_GT(append_and_wait(store, new_message("dev", "alice", "next")).message.id, last_id);
}

// --- several nodes on one database ------------------------------------------------------------

// Two stores ("nodes") append to the same rooms at once, in many small transactions, while a
// reader pages each room with after=<last id seen>, as a reconnecting client does. If an id
// could become visible below one already read, the reader would skip it for good: it must end
// up with exactly the rows the room holds. The prev_id each node returned (what it publishes)
// must chain each room exactly, although the two nodes interleave their transactions.
TEST_F(PostgresStoreTest, TwoNodesKeepIdsInCommitOrderWithinEachRoom) {
    constexpr int kRooms = 3;
    constexpr int kThreadsPerNode = 2;
    constexpr int kPerThread = 600;
    auto node_options = options();
    node_options.max_batch = 8;  // many transactions, so the two nodes interleave
    PostgresStore node_a(node_options);
    PostgresStore node_b(node_options);
    PostgresStore reader_store(options());
    std::vector<std::string> rooms;
    for (int r = 0; r < kRooms; ++r) {
        rooms.push_back("room" + std::to_string(r));
        ASSERT_TRUE(node_a.create_room({rooms.back(), false, "alice", 0}));
    }

    std::atomic<bool> writing = true;
    std::map<std::string, std::vector<model::MessageId>> seen;
    auto poll_once = [&] {
        for (const auto& room : rooms) {
            auto& ids = seen[room];
            const auto page =
                reader_store.history(page_after(room, ids.empty() ? 0 : ids.back(), 1000));
            for (const auto& message : page) ids.push_back(message.id);
        }
    };
    auto reader = std::async(std::launch::async, [&] {
        while (writing.load()) poll_once();
    });

    std::atomic<int> failures = 0;
    std::mutex appended_mutex;
    std::map<model::MessageId, model::MessageId> prev_of_appended;
    std::vector<std::thread> writers;
    for (auto* node : {&node_a, &node_b}) {
        for (int t = 0; t < kThreadsPerNode; ++t) {
            writers.emplace_back([&, node, t] {
                for (int i = 0; i < kPerThread; ++i) {
                    const auto& room = rooms[static_cast<std::size_t>((i + t) % kRooms)];
                    node->append(new_message(room, "user" + std::to_string(t), std::to_string(i)),
                                 [&](AppendResult result) {
                                     if (!result.ok) {
                                         failures.fetch_add(1);
                                         return;
                                     }
                                     std::lock_guard lock(appended_mutex);
                                     prev_of_appended[result.message.id] = result.message.prev_id;
                                 });
                    if (i % 50 == 0) std::this_thread::yield();
                }
            });
        }
    }
    for (auto& writer : writers) writer.join();
    node_a.flush();
    node_b.flush();
    writing = false;
    reader.get();
    poll_once();  // everything is committed now

    EXPECT_EQ(failures.load(), 0);
    auto db = raw();
    std::size_t total = 0;
    for (const auto& room : rooms) {
        std::vector<model::MessageId> stored;
        for (const auto& row :
             db.rows("SELECT id FROM messages WHERE room = $1 ORDER BY id", {room})) {
            stored.push_back(std::stoll(row[0]));
        }
        total += stored.size();
        const auto& read = seen[room];
        EXPECT_TRUE(std::is_sorted(read.begin(), read.end()));
        EXPECT_EQ(read.size(), stored.size()) << room << ": ids the paging reader never saw";
        EXPECT_EQ(read, stored) << room;
        model::MessageId previous = model::kNoPreviousMessage;
        int broken_links = 0;
        for (const auto id : stored) {
            if (prev_of_appended.at(id) != previous) ++broken_links;
            previous = id;
        }
        EXPECT_EQ(broken_links, 0) << room << ": prev_id returned by append off the chain";
        expect_one_chain(reader_store.history(newest(room, 1000)));
    }
    EXPECT_EQ(total, static_cast<std::size_t>(2 * kThreadsPerNode * kPerThread));
}

// The same keys from two nodes at once, into different rooms and in opposite orders, so the
// inserts wait for each other's transactions (and may deadlock, which the server breaks and
// the per-message retry absorbs). Each key is stored once; both nodes return that message.
TEST_F(PostgresStoreTest, DuplicatesFromTwoNodesAreStoredOnce) {
    constexpr int kKeys = 200;
    PostgresStore node_a(options());
    PostgresStore node_b(options());
    ASSERT_TRUE(node_a.create_room({"second", false, "alice", 0}));
    Recorder from_a;
    Recorder from_b;
    std::promise<void> go;
    auto start = go.get_future().share();
    auto a = std::async(std::launch::async, [&, start] {
        start.wait();
        for (int k = 0; k < kKeys; ++k) {
            node_a.append(new_message("general", "dup", "a", "key" + std::to_string(k)),
                          from_a.callback(static_cast<std::size_t>(k)));
        }
        node_a.flush();
    });
    auto b = std::async(std::launch::async, [&, start] {
        start.wait();
        for (int k = kKeys - 1; k >= 0; --k) {
            node_b.append(new_message("second", "dup", "b", "key" + std::to_string(k)),
                          from_b.callback(static_cast<std::size_t>(k)));
        }
        node_b.flush();
    });
    go.set_value();
    a.get();
    b.get();

    for (std::size_t k = 0; k < kKeys; ++k) {
        const auto ra = from_a.of(k);
        const auto rb = from_b.of(k);
        ASSERT_TRUE(ra.ok) << ra.error;
        ASSERT_TRUE(rb.ok) << rb.error;
        EXPECT_EQ(ra.message.id, rb.message.id);
        EXPECT_NE(ra.duplicate, rb.duplicate) << "key" << k;
        EXPECT_EQ(ra.message.content, rb.message.content);
    }
    EXPECT_EQ(raw().scalar("SELECT count(*) FROM messages WHERE user_name = 'dup'"),
              std::to_string(kKeys));
}

// --- lost connections --------------------------------------------------------------------------

TEST_F(PostgresStoreTest, WriterReconnectsAfterItsConnectionIsTerminated) {
    PostgresStore store(options());
    ASSERT_TRUE(append_and_wait(store, new_message("general", "alice", "before")).ok);
    ASSERT_EQ(terminate("chatd-writer"), 1);
    const auto after = append_until_ok(store, "after");
    ASSERT_TRUE(after.ok) << after.error;
    EXPECT_TRUE(append_and_wait(store, new_message("general", "alice", "later")).ok);
    EXPECT_EQ(contents_of(store.history(newest("general"))),
              (std::vector<std::string>{"before", "after", "later"}));
}

TEST_F(PostgresStoreTest, AnAppendWhoseConnectionDiesMidTransactionFailsWithAnError) {
    { PostgresStore store(options()); }
    raw().execute(
        "CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$"
        " BEGIN IF NEW.content = 'slow' THEN PERFORM pg_sleep(60); END IF; RETURN NEW; END $$;"
        " CREATE TRIGGER slow BEFORE INSERT ON messages"
        " FOR EACH ROW EXECUTE FUNCTION slow_insert()");
    PostgresStore store(options());
    std::promise<AppendResult> slow;
    store.append(new_message("general", "alice", "slow"),
                 [&slow](AppendResult result) { slow.set_value(std::move(result)); });
    auto db = raw();
    for (int i = 0; i < 400; ++i) {
        if (db.scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                      " AND application_name = 'chatd-writer' AND wait_event = 'PgSleep'") == "1") {
            break;
        }
        std::this_thread::sleep_for(25ms);
    }
    ASSERT_EQ(terminate("chatd-writer"), 1);

    auto future = slow.get_future();
    ASSERT_EQ(future.wait_for(10s), std::future_status::ready) << "the append hangs";
    const auto result = future.get();
    EXPECT_FALSE(result.ok);
    EXPECT_FALSE(result.error.empty());
    const auto after = append_until_ok(store, "after");
    ASSERT_TRUE(after.ok) << after.error;
    EXPECT_EQ(contents_of(store.history(newest("general"))), (std::vector<std::string>{"after"}));
}

TEST_F(PostgresStoreTest, PooledConnectionsReconnectAfterTheyAreTerminated) {
    PostgresStore store(options());
    ASSERT_TRUE(store.create_room({"dev", false, "alice", 1}));
    ASSERT_EQ(terminate("chatd-pool"), 4);
    // Every pooled connection was ended while idle; each is reopened on its next use.
    for (int i = 0; i < 8; ++i) {
        EXPECT_TRUE(store.find_room("dev").has_value());
        EXPECT_TRUE(store.create_room({"room" + std::to_string(i), false, "alice", 1}));
    }
    terminate("chatd-pool");
    std::vector<std::future<std::size_t>> readers;
    for (int t = 0; t < 6; ++t) {
        readers.push_back(
            std::async(std::launch::async, [&store] { return store.list_public_rooms().size(); }));
    }
    for (auto& reader : readers) EXPECT_EQ(reader.get(), 10u);
}

#ifdef CHATD_PG_SCRIPT
// A private server of its own (the fixture's is shared with every other test), stopped and
// started again under a live store.
class PrivateServer {
  public:
    PrivateServer() : port_(std::to_string(CHATD_TEST_PG_SCRATCH_PORT)) { start(); }
    ~PrivateServer() { stop(); }
    PrivateServer(const PrivateServer&) = delete;
    PrivateServer& operator=(const PrivateServer&) = delete;

    void start() { run("start --no-fsync"); }
    void stop() { run("stop"); }
    std::string conninfo() const {
        return "host=127.0.0.1 port=" + port_ + " user=postgres dbname=chatd";
    }

  private:
    void run(const std::string& command) {
        const std::string line = std::string(CHATD_PG_SCRIPT) + " " + command + " --port " + port_ +
                                 " --dir " + dir_.path().string() + " >/dev/null";
        if (std::system(line.c_str()) != 0) throw std::runtime_error("failed: " + line);
    }

    test_support::TempDir dir_{"chatd-pg"};
    std::string port_;
};

TEST(PostgresServerRestart, AppendsFailFastWhileTheServerIsDownAndSucceedAfterItReturns) {
    PrivateServer server;
    PostgresOptions options;
    options.conninfo = server.conninfo();
    metrics::Metrics metrics("test");
    PostgresStore store(options, &metrics);
    ASSERT_TRUE(store.create_room({"dev", false, "alice", 1}));
    ASSERT_TRUE(append_and_wait(store, new_message("general", "alice", "before")).ok);

    server.stop();
    const auto started = std::chrono::steady_clock::now();
    const auto down = append_and_wait(store, new_message("general", "alice", "lost"));
    EXPECT_FALSE(down.ok);
    EXPECT_THAT(down.error, ::testing::HasSubstr("postgres"));
    EXPECT_FALSE(append_and_wait(store, new_message("general", "alice", "lost too")).ok);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << "appends must fail, not wait";
    EXPECT_THROW(store.find_room("dev"), StoreError);
    EXPECT_GE(metrics.store_errors.Value(), 3.0);

    server.start();
    const auto after = append_until_ok(store, "after");
    ASSERT_TRUE(after.ok) << after.error;
    EXPECT_TRUE(store.find_room("dev").has_value());
    EXPECT_TRUE(store.create_room({"ops", false, "alice", 1}));
    EXPECT_EQ(contents_of(store.history(newest("general"))),
              (std::vector<std::string>{"before", "after"}));
}
#endif

// --- batches and metrics -----------------------------------------------------------------------

// PostgreSQL text cannot hold a NUL byte: such a message fails alone, not its batch.
TEST_F(PostgresStoreTest, AMessageWithANulByteFailsAloneInItsBatch) {
    PostgresStore store(options());
    Recorder recorder;
    {
        WriterGate gate(store);
        store.append(new_message("general", "alice", "a"), recorder.callback(0));
        store.append(new_message("general", "alice", std::string("nul\0byte", 8)),
                     recorder.callback(1));
        store.append(new_message("general", "alice", "b"), recorder.callback(2));
    }
    store.flush();

    EXPECT_TRUE(recorder.of(0).ok);
    EXPECT_FALSE(recorder.of(1).ok);
    EXPECT_THAT(recorder.of(1).error, ::testing::HasSubstr("NUL"));
    EXPECT_TRUE(recorder.of(2).ok);
    EXPECT_EQ(contents_of(store.history(newest("general"))),
              (std::vector<std::string>{"gate", "a", "b"}));
}

TEST_F(PostgresStoreTest, ConcurrentCallersExceedingThePoolWaitForAConnection) {
    auto options = this->options();
    options.pool_size = 1;
    PostgresStore store(options);
    store.add_member("general", "alice");
    std::vector<std::future<int>> readers;
    for (int t = 0; t < 4; ++t) {
        readers.push_back(std::async(std::launch::async, [&store] {
            int found = 0;
            for (int i = 0; i < 100; ++i) found += store.is_member("general", "alice") ? 1 : 0;
            return found;
        }));
    }
    for (auto& reader : readers) EXPECT_EQ(reader.get(), 100);
}

TEST_F(PostgresStoreTest, RoomNamesSortByteWiseWhateverTheDatabaseLocale) {
    PostgresStore store(options());
    for (const char* name : {"b", "B", "a", "_x", "\xc3\xa9t\xc3\xa9"}) {
        ASSERT_TRUE(store.create_room({name, false, "alice", 0}));
    }
    EXPECT_THAT(store::contract::names_of(store.list_public_rooms()),
                ::testing::ElementsAre("B", "_x", "a", "b", "general", "\xc3\xa9t\xc3\xa9"));
}

// --- open_store ----------------------------------------------------------------------------------

TEST_F(PostgresStoreTest, OpenStoreOpensAPostgresUrl) {
    const auto store = store::open_store(url_for(database_.name()), store::StoreTuning{}, nullptr);
    ASSERT_NE(dynamic_cast<PostgresStore*>(store.get()), nullptr);
    EXPECT_TRUE(append_and_wait(*store, new_message("general", "alice", "x")).ok);
}

TEST(OpenStore, OpensAnSqliteFile) {
    test_support::TempDir dir("chatd-open-store");
    const auto path = (dir.path() / "sub" / "chat.db").string();
    const auto store = store::open_store("sqlite:" + path, store::StoreTuning{}, nullptr);
    EXPECT_TRUE(append_and_wait(*store, new_message("general", "alice", "x")).ok);
    EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(OpenStore, RejectsOtherSchemesWithoutEchoingTheUrl) {
    try {
        store::open_store("mysql://root:secret@db/chat", store::StoreTuning{}, nullptr);
        FAIL() << "no exception";
    } catch (const std::invalid_argument& error) {
        EXPECT_THAT(error.what(), ::testing::HasSubstr("mysql:"));
        EXPECT_THAT(error.what(), ::testing::Not(::testing::HasSubstr("secret")));
    }
    EXPECT_THROW(store::open_store("chat.db", store::StoreTuning{}, nullptr),
                 std::invalid_argument);
}

}  // namespace
