#include "bus/amqp_publisher.hpp"

#include <memory>

#include "bus/amqp_topology.hpp"
#include "metrics/metrics.hpp"

namespace chatd::bus {

Bus::Completion all_confirmed(std::size_t copies, Bus::Completion done) {
    struct Copies {
        std::size_t left;
        Bus::Completion done;
    };
    auto state = std::make_shared<Copies>(Copies{copies, std::move(done)});
    return [state](bool ok) {
        if (state->left == 0) return;  // already failed
        state->left = ok ? state->left - 1 : 0;
        if ((!ok || state->left == 0) && state->done) state->done(ok);
    };
}

AmqpPublisher::AmqpPublisher(std::size_t max_queued, metrics::Metrics& metrics, WakeSignal& wake)
    : metrics_(metrics), wake_(wake), queue_(max_queued) {}

bool AmqpPublisher::enqueue(Outgoing& outgoing) {
    if (!queue_.try_push(outgoing)) return false;
    if (!wake_pending_.exchange(true)) wake_.wake();
    return true;
}

void AmqpPublisher::fail(Bus::Completion& done) {
    metrics_.broker_publish_failures.Increment();
    failed_ = true;
    if (done) done(false);
}

std::vector<Outgoing> AmqpPublisher::take_queued() {
    wake_pending_ = false;
    std::vector<Outgoing> batch;
    // BatchQueue's take waits; with a deadline already past it returns at once.
    if (queue_.size() > 0) queue_.take_until(batch, Clock::now());
    return batch;
}

void AmqpPublisher::send_queued(AmqpConnection& connection) {
    auto batch = take_queued();
    for (std::size_t i = 0; i < batch.size(); ++i) {
        auto& o = batch[i];
        try {
            if (o.queues.empty()) {
                send(connection, o.body, o.exchange, o.persistent, std::move(o.done));
            } else {
                auto each = all_confirmed(o.queues.size(), std::move(o.done));
                for (const auto& queue : o.queues) {
                    send(connection, o.body, kDefaultExchange, o.persistent, each, queue);
                }
            }
        } catch (...) {
            // The one being sent waits in the confirm tracker, which fails it at teardown.
            for (std::size_t j = i + 1; j < batch.size(); ++j) {
                if (batch[j].persistent) fail(batch[j].done);
            }
            throw;
        }
    }
}

void AmqpPublisher::send(AmqpConnection& connection,
                         const std::string& body,
                         std::string_view exchange,
                         bool persistent,
                         Bus::Completion done,
                         const std::string& routing_key) {
    confirms_.add(std::move(done), persistent, Clock::now());
    connection.publish(kPublishChannel, exchange, routing_key, body, persistent);
}

void AmqpPublisher::on_confirm(std::uint64_t tag, bool multiple, bool ok) {
    const auto now = Clock::now();
    confirms_.confirm(tag, multiple, ok, [&](ConfirmTracker::Pending& p, bool confirmed) {
        if (!p.message) return;
        if (confirmed) {
            metrics_.broker_publish_confirm_seconds.Observe(
                std::chrono::duration<double>(now - p.start).count());
            if (p.done) p.done(true);
        } else {
            fail(p.done);
        }
    });
}

void AmqpPublisher::fail_in_flight() {
    confirms_.fail_all([&](ConfirmTracker::Pending& p, bool) {
        if (p.message) fail(p.done);
    });
}

void AmqpPublisher::fail_queued() {
    for (auto& o : take_queued()) {
        if (o.persistent) fail(o.done);
    }
}

}  // namespace chatd::bus
