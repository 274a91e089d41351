#include "delivery/outbox_publisher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>

namespace chatd::delivery {

OutboxPublisher::OutboxPublisher(store::Store& store,
                                 bus::BrokerBus& bus,
                                 metrics::Metrics& metrics,
                                 Options options)
    : store_(store),
      bus_(bus),
      metrics_(metrics),
      options_(options),
      node_(bus.origin_node()),
      queue_(options_.queue_capacity),
      thread_([this] { run(); }) {
    // After a (re)connect, and after a failed publish: the time to sweep.
    bus_.on_connected([this] { queue_.push_always(SweepNow{}); });
}

OutboxPublisher::~OutboxPublisher() {
    queue_.close();
    thread_.join();
}

void OutboxPublisher::publish(model::Message stored) {
    Item item(std::move(stored));
    // Full: the message stays in the outbox and the publisher falls behind, so the writer
    // never waits for a broker.
    if (!queue_.try_push(item)) overflowed_ = true;
}

void OutboxPublisher::run() {
    std::vector<Item> items;
    for (;;) {
        items.clear();
        const bool open = behind_ ? queue_.take_until(items, next_sweep_) : queue_.take(items);
        // Set before the writer handed anything this batch holds after the refused message.
        if (overflowed_.exchange(false)) behind_ = true;
        Members members;
        bool sweep_now = false;
        for (auto& item : items) {
            if (auto* message = std::get_if<model::Message>(&item)) {
                if (!behind_ && failures_.load() != failures_seen_) behind_ = true;
                // Behind: it stays in the outbox for the sweep. At or below swept_up_to_: a
                // sweep published it.
                if (behind_ || message->id <= swept_up_to_) continue;
                if (!publish_one(std::move(*message), members)) behind_ = true;
            } else if (const auto* completed = std::get_if<Completed>(&item)) {
                in_flight_.erase(completed->id);
                if (completed->confirmed) {
                    confirmed_.push_back(completed->id);
                } else {
                    behind_ = true;  // it is in the outbox again
                }
            } else {
                sweep_now = true;
            }
        }
        mark_confirmed();
        if (!open) return;
        if (!behind_) continue;
        const auto now = std::chrono::steady_clock::now();
        if (!sweep_now && now < next_sweep_) continue;
        next_sweep_ = now + options_.retry;
        if (bus_.ready()) sweep();
    }
}

bool OutboxPublisher::publish_one(model::Message message, Members& members) {
    const auto id = message.id;
    std::optional<std::vector<std::string>> recipients;
    if (bus_.routes_by_member() && bus::addressed_to_members(message)) {
        // Read after the commit: a member who joined before the message was stored gets it,
        // one who left does not. One lookup per room per batch.
        auto it = members.find(message.room);
        if (it == members.end()) {
            try {
                it = members.emplace(message.room, store_.members_of(message.room)).first;
            } catch (const std::exception& e) {
                spdlog::warn("members of {}: {}", message.room, e.what());
                return false;
            }
        }
        recipients = it->second;
    }
    // A bus may complete at once, on this thread (down or full: failed; in-process: confirmed).
    std::optional<bool> outcome;
    inline_outcome_ = &outcome;
    auto done = [this, id](bool confirmed) {
        if (!confirmed) ++failures_;
        if (std::this_thread::get_id() == thread_.get_id() && inline_outcome_) {
            *inline_outcome_ = confirmed;
        } else {
            queue_.push_always(Completed{id, confirmed});
        }
    };
    auto event = std::make_shared<const model::Event>(std::move(message));
    if (recipients) {
        bus_.publish_to(std::move(event), std::move(*recipients), std::move(done));
    } else {
        bus_.publish(std::move(event), std::move(done));
    }
    inline_outcome_ = nullptr;
    if (!outcome) {
        in_flight_.insert(id);
        return true;
    }
    if (*outcome) confirmed_.push_back(id);
    return *outcome;
}

void OutboxPublisher::sweep() {
    const auto failures_before = failures_.load();
    std::vector<model::Message> pending;
    try {
        pending = store_.unpublished(node_, options_.sweep_limit);
    } catch (const std::exception& e) {
        spdlog::warn("publication outbox: {}", e.what());
        return;
    }
    metrics_.broker_outbox_pending.Set(static_cast<double>(pending.size()));
    const bool complete = pending.size() < options_.sweep_limit;
    if (!pending.empty()) {
        swept_up_to_ = std::max(swept_up_to_, pending.back().id);
        spdlog::info("republishing {} stored message(s) from the outbox", pending.size());
    }
    Members members;
    // Published earlier and not yet confirmed (or confirmed, not yet marked): once is enough,
    // but direct publishing waits for its outcome, since a failure puts it back in the outbox.
    bool awaiting_outcome = false;
    for (auto& message : pending) {
        if (in_flight_.contains(message.id) ||
            std::find(confirmed_.begin(), confirmed_.end(), message.id) != confirmed_.end()) {
            awaiting_outcome = true;
            continue;
        }
        if (!publish_one(std::move(message), members)) return;
    }
    if (complete && !awaiting_outcome && failures_.load() == failures_before) {
        behind_ = false;
        failures_seen_ = failures_before;
    } else if (!complete) {
        next_sweep_ = std::chrono::steady_clock::now();  // more to read: at once
    }
}

void OutboxPublisher::mark_confirmed() {
    if (confirmed_.empty()) return;
    try {
        store_.mark_published(confirmed_);
        confirmed_.clear();
    } catch (const std::exception& e) {
        // Kept: marked with the next batch. Republishing them meanwhile would deliver twice,
        // so the sweep skips them.
        spdlog::warn("publication outbox: marking {} published: {}", confirmed_.size(), e.what());
    }
}

}  // namespace chatd::delivery
