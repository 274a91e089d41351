#include "bus/local_bus.hpp"

#include <mutex>

namespace chatd::bus {

void LocalBus::start(Handler on_event) {
    std::unique_lock lock(mutex_);
    handler_ = std::move(on_event);
}

void LocalBus::publish(model::EventPtr event, Completion done) {
    {
        static const std::string kEveryone;
        std::shared_lock lock(mutex_);
        if (handler_) handler_(event, kEveryone);
    }
    if (done) done(true);
}

void LocalBus::stop() {
    std::unique_lock lock(mutex_);
    handler_ = nullptr;
}

}  // namespace chatd::bus
