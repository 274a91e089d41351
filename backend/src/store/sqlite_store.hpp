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
class SqliteConnection;
class SqliteAppends;
class WalCheckpointer;
}  // namespace chatd::store::detail

namespace chatd::store {

struct SqliteOptions {
    // Database file; its parent directories are created. Must be a real file: the writer and
    // the readers are separate connections, so ":memory:" cannot work.
    std::string path;
    // FULL: a commit is on disk before its callbacks run (survives power loss). NORMAL: survives
    // a process crash, the last commits may be lost on power loss.
    bool synchronous_full = true;
    std::size_t max_batch = 1024;  // appends per group commit
    int busy_timeout_ms = 5000;    // waiting for locks held by other processes
    std::size_t read_connections = 4;
};

// SQLite backend: one writer connection owned by one writer thread (every write goes through
// it, appends as group commits), plus a pool of read-only connections for reads (WAL mode lets
// them run concurrently with the writer).
class SqliteStore final : public Store {
  public:
    // Creates the parent directories, opens the database, applies pending migrations and starts
    // the writer thread. Throws StoreError. `metrics` may be null; otherwise it must outlive the
    // store.
    explicit SqliteStore(SqliteOptions options, metrics::Metrics* metrics = nullptr);
    // Commits every queued append and runs its callback, then stops the writer thread.
    ~SqliteStore() override;

    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    void append(NewMessage message, std::function<void(AppendResult)> done) override;
    // Must not be called from an append callback (it would wait for itself): throws
    // std::logic_error there. The same holds for every blocking write below.
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
    using Connection = detail::SqliteConnection;

    // Runs `work` on the writer thread and returns its result (or rethrows its exception).
    template <typename Work>
    auto write(Work work);
    // Runs `work` on a pooled read-only connection, which no other thread uses meanwhile.
    template <typename Work>
    auto read(Work work);
    void count_error();

    SqliteOptions options_;
    metrics::Metrics* metrics_;

    // Copies the WAL back into the database on its own connection and thread, so that group
    // commits never wait for a checkpoint. Declared before writer_: the writer's WAL hook uses it.
    std::unique_ptr<detail::WalCheckpointer> checkpointer_;
    std::unique_ptr<Connection> writer_;              // used by the writer thread only once it runs
    std::unique_ptr<detail::SqliteAppends> appends_;  // the writer thread's, like writer_
    std::vector<std::unique_ptr<Connection>> readers_;

    std::mutex readers_mutex_;
    std::condition_variable reader_free_;
    std::vector<Connection*> free_readers_;  // guarded by readers_mutex_

    // Every write goes through its thread: appends as group commits, the others alone.
    std::unique_ptr<GroupCommitWriter> group_commit_;  // last: starts after everything above
};

}  // namespace chatd::store
