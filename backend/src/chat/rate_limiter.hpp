#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chatd::chat {

// One token bucket per key (a user name): `rate` tokens per second up to `burst`.
// Thread-safe. A bucket that has refilled completely is the same as no bucket, so such buckets
// are swept now and then: memory follows the number of recently active keys.
class RateLimiter {
  public:
    using Clock = std::chrono::steady_clock;

    RateLimiter(double rate_per_second, double burst) : rate_(rate_per_second), burst_(burst) {}

    // Takes one token; false when the bucket is empty.
    bool try_acquire(std::string_view key, Clock::time_point now = Clock::now());
    std::size_t tracked_keys();

  private:
    struct Bucket {
        double tokens;
        Clock::time_point updated;
    };
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };

    const double rate_;
    const double burst_;
    std::mutex mutex_;
    std::unordered_map<std::string, Bucket, Hash, std::equal_to<>> buckets_;
    std::size_t calls_since_sweep_ = 0;
};

}  // namespace chatd::chat
