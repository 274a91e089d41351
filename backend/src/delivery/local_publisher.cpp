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
    {
        std::lock_guard lock(progress_mutex_);
        ++handed_;
    }
    if (!queue_.push_wait(std::move(stored))) {
        // Stopping: the bus is stopped too, nobody is left to deliver to.
        std::lock_guard lock(progress_mutex_);
        ++published_;
    }
}

void LocalPublisher::flush() {
    std::unique_lock lock(progress_mutex_);
    const auto target = handed_;
    progress_.wait(lock, [&] { return published_ >= target; });
}

void LocalPublisher::run() {
    std::vector<model::Message> batch;
    while (queue_.take(batch)) {
        for (auto& message : batch) {
            bus_.publish(std::make_shared<const model::Event>(std::move(message)));
        }
        {
            std::lock_guard lock(progress_mutex_);
            published_ += batch.size();
        }
        progress_.notify_all();
        batch.clear();
    }
}

}  // namespace chatd::delivery
