#pragma once

#include <future>
#include <thread>
#include <variant>

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
    // Returns once every message handed before the call reached the bus: a marker queued
    // behind them, which the thread fulfils when it gets there.
    void flush();

  private:
    using Item = std::variant<model::Message, std::promise<void>>;

    void run();

    bus::Bus& bus_;
    work::BatchQueue<Item> queue_;
    std::thread thread_;  // last: starts once the members above exist
};

}  // namespace chatd::delivery
