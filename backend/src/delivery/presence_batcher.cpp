#include "delivery/presence_batcher.hpp"

#include <cstddef>
#include <limits>

namespace chatd::delivery {

PresenceBatcher::PresenceBatcher(chat::Hub& hub, std::chrono::milliseconds window)
    : hub_(hub),
      window_(window),
      queue_(std::numeric_limits<std::size_t>::max()),
      thread_([this] { run(); }) {}

PresenceBatcher::~PresenceBatcher() {
    queue_.close();
    thread_.join();
}

void PresenceBatcher::add(const model::Presence& presence) {
    // One event per connect or disconnect of this node or another: bounded by the connections.
    queue_.push_always(presence);
}

void PresenceBatcher::run() {
    std::vector<model::Presence> batch;
    while (queue_.take(batch)) {
        // The window: what arrives meanwhile joins this batch.
        const auto deadline = std::chrono::steady_clock::now() + window_;
        while (std::chrono::steady_clock::now() < deadline) {
            if (!queue_.take_until(batch, deadline)) return;
        }
        hub_.deliver_presence(batch);
        batch.clear();
    }
}

}  // namespace chatd::delivery
