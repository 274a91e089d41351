#pragma once

#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <type_traits>
#include <variant>
#include <vector>

#include "store/store.hpp"
#include "work/batch_queue.hpp"

namespace chatd::metrics {
class Metrics;
}  // namespace chatd::metrics

namespace chatd::store {

// What a backend does inside the writer's transactions. Called on the writer thread only.
class AppendCommitter {
  public:
    virtual ~AppendCommitter() = default;

    // Stores `messages` in one transaction and returns one result each, in order; a message
    // refused alone (missing room, or a rule of the room log: AppendResult::refusal) is a failed
    // result, not an exception, and the rest of the batch commits. Throws when the
    // transaction failed as a whole: nothing of it is stored then, and the writer retries each
    // message in a transaction of its own, unless the throw was WriterUnavailable. Once the
    // transaction committed it may move text out of the messages into the results.
    virtual std::vector<AppendResult> commit(const std::vector<NewMessage*>& messages) = 0;
};

// No transaction can run now (the server is unreachable, the write lock cannot be taken): no
// message is to blame, so the writer fails the rest of the batch with this error instead of
// retrying its messages one by one.
class WriterUnavailable : public StoreError {
  public:
    using StoreError::StoreError;
};

// The group-commit writer both backends share: one thread takes everything queued and commits
// it as one transaction (up to max_batch appends each) through the AppendCommitter. Guarantees:
// an append's callback runs on the writer thread after the transaction holding it committed
// (or failed); callbacks run in append order, which is id order; a transaction that fails as a
// whole is retried one append at a time, so a bad append fails alone; a throwing callback is
// logged and counted (chat_store_callback_failures_total) and costs no other callback.
// Thread-safe.
class GroupCommitWriter {
  public:
    // Starts the writer thread, named `thread_name`. `committer` and `metrics` (may be null)
    // must outlive the writer.
    GroupCommitWriter(AppendCommitter& committer,
                      std::size_t max_batch,
                      metrics::Metrics* metrics,
                      const char* thread_name);
    // Commits every queued append and runs its callback, then stops the writer thread.
    ~GroupCommitWriter();

    GroupCommitWriter(const GroupCommitWriter&) = delete;
    GroupCommitWriter& operator=(const GroupCommitWriter&) = delete;

    // Queues the message for the next group commit and returns at once (never waits: the
    // queue is unbounded, callers bound what they have in flight).
    void append(NewMessage message, std::function<void(AppendResult)> done);

    // Runs `work` on the writer thread, after everything queued before it, alone (between two
    // batches), and returns its result or rethrows its exception. Throws std::logic_error on
    // the writer thread itself (from a callback), where it would wait for itself.
    template <typename Work>
    auto call(Work work) -> std::invoke_result_t<Work&>;

    // Queues `job` to run alone on the writer thread after everything queued before it, and
    // returns at once. The job reports its own outcome (a callback); one that throws is logged
    // and counted like a throwing append callback.
    void post(std::function<void()> job);

    // Blocks until every append queued before the call has committed and its callback has
    // run. Throws std::logic_error from a callback.
    void flush();

  private:
    struct PendingAppend {
        NewMessage message;
        std::function<void(AppendResult)> done;
    };
    // A job run alone on the writer thread; it reports its own outcome and must not throw.
    using Job = std::function<void()>;
    using Item = std::variant<PendingAppend, Job>;

    void run();
    void commit(std::vector<PendingAppend*>& batch);
    std::vector<AppendResult> commit_or_retry_one_by_one(const std::vector<NewMessage*>& messages);
    void run_callbacks(std::vector<PendingAppend*>& batch, std::vector<AppendResult>& results);
    void reject_writer_thread(const char* what) const;
    void queue(Item item);

    AppendCommitter& committer_;
    const std::size_t max_batch_;
    metrics::Metrics* metrics_;
    const char* thread_name_;
    work::BatchQueue<Item> queue_;
    std::thread thread_;  // last: starts after everything above exists
};

template <typename Work>
auto GroupCommitWriter::call(Work work) -> std::invoke_result_t<Work&> {
    reject_writer_thread("a blocking write");
    using Result = std::invoke_result_t<Work&>;
    auto promise = std::make_shared<std::promise<Result>>();
    auto future = promise->get_future();
    queue(Job([promise, work = std::move(work)]() mutable {
        try {
            if constexpr (std::is_void_v<Result>) {
                work();
                promise->set_value();
            } else {
                promise->set_value(work());
            }
        } catch (...) {
            promise->set_exception(std::current_exception());
        }
    }));
    return future.get();
}

}  // namespace chatd::store
