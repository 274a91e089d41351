#include "delivery/local_publisher.hpp"

#include <memory>
#include <vector>

namespace chatd::delivery {

LocalPublisher::LocalPublisher(bus::Bus& bus, std::size_t capacity)
    : bus_(bus), queue_(capacity), thread_([this] { run(); }) {}

LocalPublisher::~LocalPublisher() {
    queue_.close();
    thread_.join();
}

void LocalPublisher::publish(model::Message stored) {
    // False only while stopping: the bus is stopped too, nobody is left to deliver to.
    queue_.push_wait(Item(std::move(stored)));
}

void LocalPublisher::flush() {
    std::promise<void> reached;
    auto done = reached.get_future();
    if (!queue_.push_wait(Item(std::move(reached)))) return;  // stopping: nothing is published
    done.wait();
}

void LocalPublisher::run() {
    std::vector<Item> batch;
    while (queue_.take(batch)) {
        for (auto& item : batch) {
            if (auto* message = std::get_if<model::Message>(&item)) {
                bus_.publish(std::make_shared<const model::Event>(std::move(*message)));
            } else {
                std::get<std::promise<void>>(item).set_value();
            }
        }
        batch.clear();
    }
}

}  // namespace chatd::delivery
