#include "chat/frame_guard.hpp"

#include <algorithm>

namespace chatd::chat {
namespace {
constexpr std::size_t kSweepEvery = 4096;
}

FrameGuard::Verdict FrameGuard::check(std::uint64_t connection,
                                      std::string_view user,
                                      Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto [it, inserted] =
        connections_.try_emplace(connection, State{limits_.connection_burst, now, now});
    State& state = it->second;
    const std::chrono::duration<double> elapsed = now - state.updated;
    state.tokens =
        std::min(limits_.connection_burst,
                 state.tokens + std::max(0.0, elapsed.count()) * limits_.connection_rate);
    state.updated = now;
    if (state.tokens < 1.0) return refuse(state, now);
    // The user's bucket is taken only for a frame the connection's own bucket lets through.
    if (!users_.try_acquire(user, now)) return refuse(state, now);
    state.tokens -= 1.0;
    return Verdict::Accept;
}

FrameGuard::Verdict FrameGuard::refuse(State& state, Clock::time_point now) {
    if (now - state.window_start >= kNoticeInterval) {
        state.window_start = now;
        state.refused = 0;
        state.told = false;
    }
    ++state.refused;
    if (state.closed) return Verdict::Refuse;
    if (limits_.close_after > 0 && state.refused > limits_.close_after) {
        state.closed = true;
        return Verdict::Close;
    }
    if (!state.told) {
        state.told = true;
        return Verdict::RefuseAndTell;
    }
    return Verdict::Refuse;
}

void FrameGuard::forget(std::uint64_t connection) {
    std::lock_guard lock(mutex_);
    connections_.erase(connection);
}

std::size_t FrameGuard::tracked_connections() {
    std::lock_guard lock(mutex_);
    return connections_.size();
}

std::string Coalescer::key(std::string_view user, std::string_view room) {
    std::string out;
    out.reserve(user.size() + 1 + room.size());
    out.append(user).push_back('\n');  // in neither a user nor a room name
    out.append(room);
    return out;
}

bool Coalescer::admit(std::string_view user, std::string_view room, Clock::time_point now) {
    if (interval_.count() <= 0) return true;
    std::lock_guard lock(mutex_);
    if (++calls_since_sweep_ >= kSweepEvery) {
        calls_since_sweep_ = 0;
        const auto open_for = std::max<Clock::duration>(interval_, kStopWithin);
        std::erase_if(last_, [&](const auto& entry) {
            return now - entry.second.last >= (entry.second.open ? open_for : interval_);
        });
    }
    auto [it, inserted] = last_.try_emplace(key(user, room), Entry{now, true});
    if (inserted) return true;
    if (now - it->second.last < interval_) return false;
    it->second = Entry{now, true};
    return true;
}

bool Coalescer::close(std::string_view user, std::string_view room, Clock::time_point now) {
    if (interval_.count() <= 0) return true;
    std::lock_guard lock(mutex_);
    const auto it = last_.find(key(user, room));
    if (it == last_.end() || !it->second.open || now - it->second.last >= kStopWithin) {
        return false;
    }
    it->second.open = false;
    return true;
}

void Coalescer::reset(std::string_view user, std::string_view room) {
    if (interval_.count() <= 0) return;
    std::lock_guard lock(mutex_);
    last_.erase(key(user, room));
}

std::size_t Coalescer::tracked_keys() {
    std::lock_guard lock(mutex_);
    return last_.size();
}

}  // namespace chatd::chat
