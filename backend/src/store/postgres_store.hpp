#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/store.hpp"

namespace chatd::metrics {
class Metrics;
}  // namespace chatd::metrics

namespace chatd::store {
class GroupCommitWriter;
}  // namespace chatd::store

namespace chatd::store::detail {
class PgConnection;
class PostgresAppends;
}  // namespace chatd::store::detail

namespace chatd::store {

struct PostgresOptions {
    // libpq connection string: "host=... port=... dbname=... user=..." or a
    // postgresql://user@host:port/dbname URI. Settings it leaves out get chatd's defaults
    // (connect_timeout=5, TCP keepalives, application_name chatd-writer / chatd-pool).
    std::string conninfo;
    std::size_t pool_size = 4;     // connections for reads and non-append writes
    std::size_t max_batch = 1024;  // appends per group commit
};

// PostgreSQL backend. Several chatd processes ("nodes") may share one database: ids come from
// one sequence, and every batch locks its rooms before inserting so that ids within a room
// increase in commit order across nodes (see postgres_appends.cpp).
//
// One writer connection owned by one writer thread does the appends as group commits (one
// transaction per batch); a pool of `pool_size` connections serves reads and the other writes,
// each connection used by one thread at a time.
//
// A lost connection is reopened: the writer's before its next batch (with backoff while the
// server stays away; appends fail fast meanwhile, never wait), a pooled one before its next use.
// Appends whose transaction was cut off get ok = false with the error. If the connection died
// while COMMIT was in flight the batch may in fact be stored; a client retry with the same
// client_msg_id then gets it back as a duplicate.
class PostgresStore final : public Store {
  public:
    // Connects, applies pending migrations (under an advisory lock, so nodes starting together
    // migrate once), opens the pool and starts the writer thread. Throws StoreError. `metrics`
    // may be null; otherwise it must outlive the store.
    explicit PostgresStore(PostgresOptions options, metrics::Metrics* metrics = nullptr);
    // Commits every queued append and runs its callback, then stops the writer thread.
    ~PostgresStore() override;

    PostgresStore(const PostgresStore&) = delete;
    PostgresStore& operator=(const PostgresStore&) = delete;

    void append(NewMessage message, std::function<void(AppendResult)> done) override;
    // Must not be called from an append callback (it would wait for itself): throws
    // std::logic_error there.
    void flush() override;

    // Throws std::invalid_argument when both before and after are set.
    HistoryPage page(const HistoryQuery& query) override;
    std::optional<HistoryPage> find_message(std::string_view room, model::MessageId id) override;
    HistoryPage thread(const HistoryQuery& query, model::MessageId root) override;
    std::vector<model::Message> unpublished(std::string_view origin_node,
                                            std::size_t limit) override;
    void mark_published(const std::vector<model::MessageId>& ids) override;

    bool create_user(const User& user) override;
    std::optional<User> find_user(std::string_view name) override;
    std::vector<std::string> users_without_name_key(std::size_t limit) override;
    bool set_name_key(std::string_view user_name, std::string_view name_key) override;
    void add_person(std::string_view name,
                    std::string_view name_fold,
                    std::int64_t now_ms) override;
    std::vector<Person> people(const PeopleQuery& query) override;
    std::optional<Person> find_person(std::string_view name) override;
    void record_last_seen(const std::vector<LastSeen>& seen) override;
    void set_display_name(const LastSeen& person,
                          std::string_view display_name,
                          std::string_view display_fold) override;
    std::vector<LoginFailures> login_failures(const std::vector<std::string>& keys) override;
    std::vector<LoginFailures> add_login_failure(const std::vector<std::string>& keys,
                                                 std::int64_t now_ms,
                                                 std::int64_t forget_before_ms) override;
    void clear_login_failures(const std::vector<std::string>& keys) override;
    std::size_t purge_login_failures(std::int64_t before_ms) override;

    // A token_hash that already exists is a StoreError (hashes of fresh random tokens).
    void create_session(const Session& session) override;
    std::optional<Session> find_session(std::string_view token_hash, std::int64_t now_ms) override;
    void delete_session(std::string_view token_hash) override;
    std::vector<std::string> trim_sessions(std::string_view user_name, std::size_t keep) override;
    std::vector<std::string> delete_user_sessions(std::string_view user_name) override;
    std::size_t purge_expired_sessions(std::int64_t now_ms) override;
    std::vector<Session> user_sessions(std::string_view user_name, std::int64_t now_ms) override;
    std::optional<std::string> delete_session_by_id(std::string_view user_name,
                                                    std::string_view public_id) override;
    void touch_session(std::string_view token_hash, std::int64_t used_ms) override;

    bool create_room(const Room& room) override;
    std::optional<Room> find_room(std::string_view name) override;
    std::vector<Room> list_public_rooms() override;
    // Throws StoreError when the room does not exist.
    void add_member(std::string_view room, std::string_view user_name) override;
    void remove_member(std::string_view room, std::string_view user_name) override;
    bool is_member(std::string_view room, std::string_view user_name) override;
    std::vector<std::string> rooms_of(std::string_view user_name) override;
    std::vector<std::string> members_of(std::string_view room) override;
    std::vector<std::string> room_members(std::string_view room,
                                          std::string_view after,
                                          std::size_t limit) override;

    void mark_read(ReadMark mark, std::function<void(ReadMarkResult)> done) override;
    std::vector<ReadState> read_states(std::string_view user_name,
                                       const std::vector<std::string>& rooms,
                                       std::size_t unread_cap) override;
    void set_notify_level(std::string_view user_name,
                          std::string_view room,
                          std::optional<model::NotifyLevel> level) override;
    std::vector<model::RoomNotifyLevel> notify_levels(std::string_view user_name) override;

  private:
    using Connection = detail::PgConnection;

    // Whether a pooled operation may run again after its connection was lost mid-way. Only
    // operations whose second run gives the same answer as one run are Retry.
    enum class OnLostConnection { Retry, Fail };

    // Runs `work` on a pooled connection, which no other thread uses meanwhile.
    template <typename Work>
    auto pooled(OnLostConnection on_lost, Work work);
    void count_error();

    PostgresOptions options_;
    metrics::Metrics* metrics_;

    // The writer connection and its group commits; used by the writer thread only.
    std::unique_ptr<detail::PostgresAppends> appends_;

    std::vector<std::unique_ptr<Connection>> pool_;
    std::mutex pool_mutex_;
    std::condition_variable pool_free_;
    std::vector<Connection*> free_connections_;  // guarded by pool_mutex_

    std::unique_ptr<GroupCommitWriter> group_commit_;  // last: starts after everything above
};

}  // namespace chatd::store
