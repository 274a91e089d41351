#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "bus/bus.hpp"
#include "chat/publisher.hpp"
#include "work/batch_queue.hpp"

namespace chatd::delivery {

// One process, no broker: the store's writer hands each commit's messages to this thread and
// returns to committing; the thread gives them to the in-process bus in the order handed (id
// order), which delivers them to the hub. Bounded: a full queue makes the writer wait, the
// back-pressure the fan-out would apply if it ran on the writer itself.
class LocalPublisher final : public chat::Publisher {
  public:
    static constexpr std::size_t kCapacity = 16384;

    explicit LocalPublisher(bus::Bus& bus, std::size_t capacity = kCapacity);
    ~LocalPublisher() override;  // publishes what is queued, then stops
    LocalPublisher(const LocalPublisher&) = delete;
    LocalPublisher& operator=(const LocalPublisher&) = delete;

    void publish(model::Message stored) override;
    std::string_view outbox_origin() const override { return {}; }
    // Returns once every message handed before the call reached the bus.
    void flush();

  private:
    void run();

    bus::Bus& bus_;
    work::BatchQueue<model::Message> queue_;
    std::mutex progress_mutex_;
    std::condition_variable progress_;
    std::uint64_t handed_ = 0;     // guarded by progress_mutex_
    std::uint64_t published_ = 0;  // guarded by progress_mutex_
    std::thread thread_;           // last: starts once the members above exist
};

}  // namespace chatd::delivery
