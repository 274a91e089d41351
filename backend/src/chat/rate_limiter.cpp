#include "chat/rate_limiter.hpp"

#include <algorithm>

namespace chatd::chat {
namespace {
constexpr std::size_t kSweepEvery = 4096;
}

bool RateLimiter::try_acquire(std::string_view key, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (++calls_since_sweep_ >= kSweepEvery) {
        calls_since_sweep_ = 0;
        std::erase_if(buckets_, [&](const auto& entry) {
            const std::chrono::duration<double> idle = now - entry.second.updated;
            return entry.second.tokens + idle.count() * rate_ >= burst_;
        });
    }
    auto it = buckets_.find(key);
    if (it == buckets_.end()) it = buckets_.emplace(std::string(key), Bucket{burst_, now}).first;
    Bucket& bucket = it->second;
    const std::chrono::duration<double> elapsed = now - bucket.updated;
    bucket.tokens = std::min(burst_, bucket.tokens + std::max(0.0, elapsed.count()) * rate_);
    bucket.updated = now;
    if (bucket.tokens < 1.0) return false;
    bucket.tokens -= 1.0;
    return true;
}

std::size_t RateLimiter::tracked_keys() {
    std::lock_guard lock(mutex_);
    return buckets_.size();
}

}  // namespace chatd::chat
