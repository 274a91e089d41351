#include "store/group_commit_writer.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>

#include "metrics/metrics.hpp"

namespace chatd::store {
namespace {

AppendResult failed(std::string error) {
    AppendResult result;
    result.error = std::move(error);
    return result;
}

}  // namespace

GroupCommitWriter::GroupCommitWriter(AppendCommitter& committer,
                                     std::size_t max_batch,
                                     metrics::Metrics* metrics,
                                     const char* thread_name)
    : committer_(committer),
      max_batch_(std::max<std::size_t>(max_batch, 1)),
      metrics_(metrics),
      thread_name_(thread_name),
      queue_(std::numeric_limits<std::size_t>::max()),
      thread_([this] { run(); }) {}

GroupCommitWriter::~GroupCommitWriter() {
    queue_.close();
    if (thread_.joinable()) thread_.join();
}

void GroupCommitWriter::append(NewMessage message, std::function<void(AppendResult)> done) {
    queue(PendingAppend{std::move(message), std::move(done)});
}

void GroupCommitWriter::flush() {
    reject_writer_thread("flush");
    call([] {});
}

void GroupCommitWriter::post(std::function<void()> job) {
    // A throwing job (its callback) must not cost the writer thread, like an append callback.
    queue(Job([this, job = std::move(job)] {
        try {
            job();
        } catch (const std::exception& error) {
            spdlog::error("store: a queued write's callback threw: {}", error.what());
            if (metrics_ != nullptr) metrics_->store_callback_failures.Increment();
        } catch (...) {
            spdlog::error("store: a queued write's callback threw a non-standard exception");
            if (metrics_ != nullptr) metrics_->store_callback_failures.Increment();
        }
    }));
}

void GroupCommitWriter::queue(Item item) {
    if (!queue_.push_always(std::move(item))) {
        throw std::logic_error("store: used while it is being destroyed");
    }
}

void GroupCommitWriter::reject_writer_thread(const char* what) const {
    if (std::this_thread::get_id() == thread_.get_id()) {
        throw std::logic_error(std::string("store: ") + what +
                               " from an append callback would wait for itself");
    }
}

void GroupCommitWriter::run() {
    // Named so that profilers and /proc/PID/task/*/comm can tell the writer from I/O threads.
    pthread_setname_np(pthread_self(), thread_name_);
    std::vector<Item> items;
    std::vector<PendingAppend*> batch;
    while (queue_.take(items)) {
        // In queue order: each run of appends is committed in batches of at most max_batch; a
        // job keeps its place between them.
        for (auto& item : items) {
            if (auto* job = std::get_if<Job>(&item)) {
                if (!batch.empty()) commit(batch);
                (*job)();
                continue;
            }
            batch.push_back(&std::get<PendingAppend>(item));
            if (batch.size() == max_batch_) commit(batch);
        }
        if (!batch.empty()) commit(batch);
        items.clear();
    }
}

void GroupCommitWriter::commit(std::vector<PendingAppend*>& batch) {
    const auto started = std::chrono::steady_clock::now();
    std::vector<NewMessage*> messages;
    messages.reserve(batch.size());
    for (auto* pending : batch) messages.push_back(&pending->message);
    auto results = commit_or_retry_one_by_one(messages);

    if (metrics_ != nullptr) {
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
        metrics_->store_commit_seconds.Observe(elapsed.count());
        metrics_->store_batch_size.Observe(static_cast<double>(batch.size()));
        const auto stored = std::count_if(results.begin(), results.end(), [](const auto& result) {
            return result.ok && !result.duplicate;
        });
        // A refusal by a rule of the room log is an answer, not a store error.
        const auto errors = std::count_if(results.begin(), results.end(), [](const auto& result) {
            return !result.ok && result.refusal == Refusal::None;
        });
        if (stored > 0) metrics_->messages_stored.Increment(static_cast<double>(stored));
        if (errors > 0) metrics_->store_errors.Increment(static_cast<double>(errors));
    }
    run_callbacks(batch, results);
    batch.clear();
}

std::vector<AppendResult> GroupCommitWriter::commit_or_retry_one_by_one(
    const std::vector<NewMessage*>& messages) {
    try {
        return committer_.commit(messages);
    } catch (const WriterUnavailable& error) {
        return std::vector<AppendResult>(messages.size(), failed(error.what()));
    } catch (const std::exception& batch_error) {
        if (messages.size() == 1) return {failed(batch_error.what())};
        // Nothing of the batch is stored. Retry one message per transaction so that a message
        // which broke the transaction fails alone.
        std::vector<AppendResult> results;
        results.reserve(messages.size());
        std::optional<std::string> give_up;
        for (auto* message : messages) {
            if (give_up) {
                results.push_back(failed(*give_up));
                continue;
            }
            try {
                results.push_back(std::move(committer_.commit({message}).front()));
            } catch (const WriterUnavailable& error) {
                give_up = error.what();
                results.push_back(failed(*give_up));
            } catch (const std::exception& error) {
                results.push_back(failed(error.what()));
            }
        }
        return results;
    }
}

void GroupCommitWriter::run_callbacks(std::vector<PendingAppend*>& batch,
                                      std::vector<AppendResult>& results) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
        auto& done = batch[i]->done;
        if (!done) continue;
        // A throwing callback must not cost the other callbacks or the writer thread.
        try {
            done(std::move(results[i]));
        } catch (const std::exception& error) {
            spdlog::error("store: an append callback threw: {}", error.what());
            if (metrics_ != nullptr) metrics_->store_callback_failures.Increment();
        } catch (...) {
            spdlog::error("store: an append callback threw a non-standard exception");
            if (metrics_ != nullptr) metrics_->store_callback_failures.Increment();
        }
    }
}

}  // namespace chatd::store
