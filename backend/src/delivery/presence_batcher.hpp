#pragma once

#include <chrono>
#include <thread>
#include <vector>

#include "chat/hub.hpp"
#include "model/message.hpp"
#include "work/batch_queue.hpp"

namespace chatd::delivery {

// Gathers presence events for `window` after the first one and delivers them together
// (Hub::deliver_presence), in arrival order. A burst of N connects then costs each connection
// one write per window instead of one per connect (N^2 writes in all).
class PresenceBatcher {
  public:
    PresenceBatcher(chat::Hub& hub, std::chrono::milliseconds window);
    ~PresenceBatcher();  // delivers nothing after it returns
    PresenceBatcher(const PresenceBatcher&) = delete;
    PresenceBatcher& operator=(const PresenceBatcher&) = delete;

    // Never waits.
    void add(const model::Presence& presence);

  private:
    void run();

    chat::Hub& hub_;
    const std::chrono::milliseconds window_;
    work::BatchQueue<model::Presence> queue_;
    std::thread thread_;  // last: starts once the members above exist
};

}  // namespace chatd::delivery
