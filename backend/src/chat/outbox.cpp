#include "chat/outbox.hpp"

namespace chatd::chat {

Outbox::PushResult Outbox::push(Frame frame) {
    std::lock_guard lock(mutex_);
    if (closed_) return PushResult::Closed;
    if (bytes_ + beside_.load(std::memory_order_relaxed) + frame->size() > limits_.max_bytes ||
        frames_.size() >= limits_.max_frames) {
        closed_ = true;
        std::vector<Frame>().swap(frames_);
        bytes_ = 0;
        return PushResult::Overflow;
    }
    bytes_ += frame->size();
    frames_.push_back(std::move(frame));
    if (writer_idle_) {
        writer_idle_ = false;
        return PushResult::QueuedWakeUp;
    }
    return PushResult::Queued;
}

bool Outbox::take(std::vector<Frame>& out) {
    out.clear();
    {
        std::lock_guard lock(mutex_);
        if (!frames_.empty()) {
            out.swap(frames_);
            bytes_ = 0;
            return true;
        }
        writer_idle_ = true;
        std::vector<Frame>().swap(frames_);
    }
    std::vector<Frame>().swap(out);
    return false;
}

void Outbox::close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    std::vector<Frame>().swap(frames_);
    bytes_ = 0;
}

void Outbox::seal() {
    std::lock_guard lock(mutex_);
    closed_ = true;
}

std::size_t Outbox::queued_bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

}  // namespace chatd::chat
