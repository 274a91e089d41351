#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "store/store.hpp"

namespace chatd::metrics {
class Metrics;
}  // namespace chatd::metrics

namespace chatd::store::detail {
class SqliteConnection;
class RoomChains;
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
    std::vector<model::Message> history(const HistoryQuery& query) override;
    std::vector<model::Message> unpublished(std::string_view origin_node,
                                            std::size_t limit) override;
    void mark_published(const std::vector<model::MessageId>& ids) override;

    bool create_user(const User& user) override;
    std::optional<User> find_user(std::string_view name) override;
    std::vector<std::string> users_without_name_key(std::size_t limit) override;
    bool set_name_key(std::string_view user_name, std::string_view name_key) override;
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

    bool create_room(const Room& room) override;
    std::optional<Room> find_room(std::string_view name) override;
    std::vector<Room> list_public_rooms() override;
    // Throws StoreError when the room does not exist.
    void add_member(std::string_view room, std::string_view user_name) override;
    void remove_member(std::string_view room, std::string_view user_name) override;
    bool is_member(std::string_view room, std::string_view user_name) override;
    std::vector<std::string> rooms_of(std::string_view user_name) override;
    std::vector<std::string> members_of(std::string_view room) override;

  private:
    using Connection = detail::SqliteConnection;

    struct PendingAppend {
        NewMessage message;
        std::function<void(AppendResult)> done;
        std::uint64_t sequence = 0;  // position in the append order, for flush
    };
    // A non-append write, run alone on the writer thread; it reports through a promise.
    using WriteJob = std::function<void(Connection&)>;
    using QueueItem = std::variant<PendingAppend, WriteJob>;

    void run_writer();
    void commit_batch(std::vector<PendingAppend>& batch);
    // Runs `work` on the writer thread and returns its result (or rethrows its exception).
    template <typename Work>
    auto write(Work work);
    // Runs `work` on a pooled read-only connection, which no other thread uses meanwhile.
    template <typename Work>
    auto read(Work work);
    void reject_writer_thread(const char* what) const;
    void count_error();

    SqliteOptions options_;
    metrics::Metrics* metrics_;

    // Copies the WAL back into the database on its own connection and thread, so that group
    // commits never wait for a checkpoint. Declared before writer_: the writer's WAL hook uses it.
    std::unique_ptr<detail::WalCheckpointer> checkpointer_;
    std::unique_ptr<Connection> writer_;  // used by the writer thread only once it runs
    std::unique_ptr<detail::RoomChains> room_chains_;  // the writer thread's, like writer_
    std::vector<std::unique_ptr<Connection>> readers_;

    std::mutex readers_mutex_;
    std::condition_variable reader_free_;
    std::vector<Connection*> free_readers_;  // guarded by readers_mutex_

    std::mutex queue_mutex_;
    std::condition_variable queue_ready_;
    std::condition_variable appends_done_;
    std::deque<QueueItem> queue_;          // guarded by queue_mutex_
    std::uint64_t appends_queued_ = 0;     // guarded by queue_mutex_
    std::uint64_t appends_completed_ = 0;  // guarded by queue_mutex_; callbacks have run
    bool stopping_ = false;                // guarded by queue_mutex_

    std::thread writer_thread_;  // last: starts after everything above exists
};

}  // namespace chatd::store
