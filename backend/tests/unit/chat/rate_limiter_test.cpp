#include "chat/rate_limiter.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>

namespace {

using namespace chatd;
using namespace std::chrono_literals;
using chat::RateLimiter;
using Clock = RateLimiter::Clock;

// A fixed starting point: tests drive time explicitly and never read the clock.
const Clock::time_point t0 = Clock::time_point{} + 1000h;

// How many tokens `key` can take at `now` before being refused.
int drain(RateLimiter& limiter, std::string_view key, Clock::time_point now) {
    int taken = 0;
    while (limiter.try_acquire(key, now)) {
        ++taken;
        if (taken > 1000) break;  // guards against an unlimited bucket
    }
    return taken;
}

TEST(RateLimiter, AllowsABurstThenRefuses) {
    RateLimiter limiter(2, 3);
    EXPECT_TRUE(limiter.try_acquire("alice", t0));
    EXPECT_TRUE(limiter.try_acquire("alice", t0));
    EXPECT_TRUE(limiter.try_acquire("alice", t0));
    EXPECT_FALSE(limiter.try_acquire("alice", t0));
    EXPECT_FALSE(limiter.try_acquire("alice", t0));
}

TEST(RateLimiter, RefusedCallsDoNotConsumeFutureTokens) {
    RateLimiter limiter(2, 3);
    EXPECT_EQ(drain(limiter, "alice", t0), 3);
    for (int i = 0; i < 10; ++i) EXPECT_FALSE(limiter.try_acquire("alice", t0));
    EXPECT_TRUE(limiter.try_acquire("alice", t0 + 500ms));
}

TEST(RateLimiter, RefillsAtTheConfiguredRate) {
    RateLimiter limiter(2, 3);  // one token every 500 ms
    EXPECT_EQ(drain(limiter, "alice", t0), 3);
    EXPECT_FALSE(limiter.try_acquire("alice", t0 + 499ms));
    EXPECT_TRUE(limiter.try_acquire("alice", t0 + 500ms));
    EXPECT_FALSE(limiter.try_acquire("alice", t0 + 500ms));
    EXPECT_EQ(drain(limiter, "alice", t0 + 1500ms), 2);
}

TEST(RateLimiter, FractionalTokensAccumulateAcrossCalls) {
    RateLimiter limiter(4, 1);  // one token every 250 ms
    EXPECT_TRUE(limiter.try_acquire("alice", t0));
    EXPECT_FALSE(limiter.try_acquire("alice", t0 + 125ms));
    EXPECT_TRUE(limiter.try_acquire("alice", t0 + 250ms));
}

TEST(RateLimiter, KeysHaveIndependentBuckets) {
    RateLimiter limiter(1, 2);
    EXPECT_EQ(drain(limiter, "alice", t0), 2);
    EXPECT_FALSE(limiter.try_acquire("alice", t0));
    EXPECT_EQ(drain(limiter, "bob", t0), 2);
    EXPECT_TRUE(limiter.try_acquire("carol", t0));
}

TEST(RateLimiter, RefillIsCappedAtTheBurst) {
    RateLimiter limiter(10, 5);
    EXPECT_EQ(drain(limiter, "alice", t0), 5);
    // An hour idle would be 36000 tokens uncapped.
    EXPECT_EQ(drain(limiter, "alice", t0 + 1h), 5);
}

TEST(RateLimiter, ClockGoingBackwardsAddsNoTokens) {
    RateLimiter limiter(1, 2);
    EXPECT_EQ(drain(limiter, "alice", t0), 2);
    EXPECT_FALSE(limiter.try_acquire("alice", t0 - 10s));
}

TEST(RateLimiter, TracksOneBucketPerActiveKey) {
    RateLimiter limiter(1, 2);
    EXPECT_EQ(limiter.tracked_keys(), 0u);
    limiter.try_acquire("alice", t0);
    limiter.try_acquire("bob", t0);
    limiter.try_acquire("alice", t0);
    EXPECT_EQ(limiter.tracked_keys(), 2u);
}

TEST(RateLimiter, SweepingIdleKeysKeepsTrackedKeysBounded) {
    RateLimiter limiter(10, 5);  // a bucket used once is full again 100 ms later
    auto now = t0;
    std::size_t peak = 0;
    for (int i = 0; i < 50'000; ++i) {
        now += 1ms;
        limiter.try_acquire("user-" + std::to_string(i), now);
        peak = std::max(peak, limiter.tracked_keys());
    }
    // Without sweeping 50000 buckets would exist. A sweep happens every 4096 calls and keeps at
    // most the buckets touched in the last 100 ms (100 calls).
    EXPECT_LE(peak, 4096u + 100u);
    EXPECT_LT(limiter.tracked_keys(), 50'000u);
}

TEST(RateLimiter, AfterLongIdlenessASweepForgetsEveryFullBucket) {
    RateLimiter limiter(10, 5);
    for (int i = 0; i < 1000; ++i) limiter.try_acquire("user-" + std::to_string(i), t0);
    EXPECT_EQ(limiter.tracked_keys(), 1000u);
    // 4096 calls guarantee a sweep; by then every other bucket has refilled.
    for (int i = 0; i < 4096; ++i) limiter.try_acquire("hot", t0 + 1h);
    EXPECT_EQ(limiter.tracked_keys(), 1u);
}

TEST(RateLimiter, SweepingKeepsBucketsThatAreStillRefilling) {
    RateLimiter limiter(1, 5);  // an empty bucket takes 5 s to refill
    auto now = t0;
    EXPECT_EQ(drain(limiter, "alice", now), 5);
    // Enough calls on other keys to trigger sweeps while alice's bucket is still empty.
    for (int i = 0; i < 5000; ++i) limiter.try_acquire("other", now);
    now += 1s;
    EXPECT_EQ(drain(limiter, "alice", now), 1) << "alice's bucket must not have been forgotten";
}

}  // namespace
