#pragma once

#include <shared_mutex>
#include <string>
#include <vector>

#include "bus/bus.hpp"

namespace chatd::bus {

// Single-process bus: publish hands the event straight to the handler on the caller's thread
// and completes at once. Ordering: events published by one thread are delivered in that order.
class LocalBus final : public Bus {
  public:
    void start(Handler on_event) override;
    void publish(model::EventPtr event, Completion done = nullptr) override;
    void user_online(const std::string&) override {}
    void user_offline(const std::string&) override {}
    bool ready() const override { return true; }
    std::vector<std::string> remote_users() const override { return {}; }
    void stop() override;

  private:
    mutable std::shared_mutex mutex_;
    Handler handler_;
};

}  // namespace chatd::bus
