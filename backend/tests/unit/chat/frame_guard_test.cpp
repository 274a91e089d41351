#include "chat/frame_guard.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace {

using namespace chatd;
using namespace std::chrono_literals;
using chat::Coalescer;
using chat::FrameGuard;
using Verdict = FrameGuard::Verdict;
using Clock = FrameGuard::Clock;

// A fixed starting point: tests drive time explicitly and never read the clock.
const Clock::time_point t0 = Clock::time_point{} + 1000h;

FrameGuard::Limits limits(
    double rate, double burst, double user_rate, double user_burst, std::size_t close_after) {
    return FrameGuard::Limits{rate, burst, user_rate, user_burst, close_after};
}

TEST(FrameGuard, AcceptsTheConnectionsBurstThenRefuses) {
    FrameGuard guard(limits(1, 5, 1000, 1000, 0));
    for (int i = 0; i < 5; ++i) EXPECT_EQ(guard.check(1, "alice", t0), Verdict::Accept) << i;
    EXPECT_EQ(guard.check(1, "alice", t0), Verdict::RefuseAndTell);
    // Another connection of the same user has its own bucket.
    EXPECT_EQ(guard.check(2, "alice", t0), Verdict::Accept);
}

TEST(FrameGuard, RefillsAtTheConnectionsRate) {
    FrameGuard guard(limits(10, 1, 1000, 1000, 0));
    EXPECT_EQ(guard.check(1, "alice", t0), Verdict::Accept);
    EXPECT_NE(guard.check(1, "alice", t0 + 99ms), Verdict::Accept);
    EXPECT_EQ(guard.check(1, "alice", t0 + 101ms), Verdict::Accept);
}

TEST(FrameGuard, TheUsersBucketSpansTheirConnections) {
    FrameGuard guard(limits(1000, 1000, 1, 3, 0));
    EXPECT_EQ(guard.check(1, "alice", t0), Verdict::Accept);
    EXPECT_EQ(guard.check(2, "alice", t0), Verdict::Accept);
    EXPECT_EQ(guard.check(3, "alice", t0), Verdict::Accept);
    EXPECT_EQ(guard.check(4, "alice", t0), Verdict::RefuseAndTell);
    EXPECT_EQ(guard.check(5, "bob", t0), Verdict::Accept);
}

TEST(FrameGuard, TellsOncePerSecondAndRefusesTheRestSilently) {
    FrameGuard guard(limits(0.001, 1, 1000, 1000, 0));
    EXPECT_EQ(guard.check(1, "alice", t0), Verdict::Accept);
    EXPECT_EQ(guard.check(1, "alice", t0), Verdict::RefuseAndTell);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(guard.check(1, "alice", t0 + 999ms), Verdict::Refuse);
    EXPECT_EQ(guard.check(1, "alice", t0 + 1000ms), Verdict::RefuseAndTell);
    EXPECT_EQ(guard.check(1, "alice", t0 + 1001ms), Verdict::Refuse);
}

TEST(FrameGuard, ClosesOnceAtTheFloodBoundWithinOneSecond) {
    FrameGuard guard(limits(0.001, 1, 1000, 1000, 10));
    EXPECT_EQ(guard.check(1, "alice", t0), Verdict::Accept);
    // Refusals 1 to 10 (the bound): told once, then silent.
    EXPECT_EQ(guard.check(1, "alice", t0), Verdict::RefuseAndTell);
    for (int i = 2; i <= 10; ++i) EXPECT_EQ(guard.check(1, "alice", t0), Verdict::Refuse) << i;
    // The 11th within the second closes; later frames are refused silently.
    EXPECT_EQ(guard.check(1, "alice", t0), Verdict::Close);
    EXPECT_EQ(guard.check(1, "alice", t0), Verdict::Refuse);
    EXPECT_EQ(guard.check(1, "alice", t0 + 5s), Verdict::Refuse);
}

TEST(FrameGuard, RefusalsSpreadOverSecondsDoNotClose) {
    FrameGuard guard(limits(0.001, 1, 1000, 1000, 10));
    EXPECT_EQ(guard.check(1, "alice", t0), Verdict::Accept);
    for (int second = 0; second < 5; ++second) {
        for (int i = 0; i < 10; ++i) {
            EXPECT_NE(guard.check(1, "alice", t0 + std::chrono::seconds(second)), Verdict::Close);
        }
    }
}

TEST(FrameGuard, ForgetDropsTheConnectionsState) {
    FrameGuard guard(limits(1, 1, 1000, 1000, 0));
    guard.check(1, "alice", t0);
    guard.check(2, "alice", t0);
    EXPECT_EQ(guard.tracked_connections(), 2u);
    guard.forget(1);
    EXPECT_EQ(guard.tracked_connections(), 1u);
}

TEST(Coalescer, AdmitsOnePerKeyPerInterval) {
    Coalescer typing(1000ms);
    EXPECT_TRUE(typing.admit("alice", "general", t0));
    EXPECT_FALSE(typing.admit("alice", "general", t0 + 999ms));
    EXPECT_TRUE(typing.admit("alice", "general", t0 + 1000ms));
    EXPECT_FALSE(typing.admit("alice", "general", t0 + 1500ms));
    // Other rooms and other users are other keys.
    EXPECT_TRUE(typing.admit("alice", "rust", t0 + 1500ms));
    EXPECT_TRUE(typing.admit("bob", "general", t0 + 1500ms));
}

TEST(Coalescer, ResetLetsTheNextOneThrough) {
    Coalescer typing(1000ms);
    EXPECT_TRUE(typing.admit("alice", "general", t0));
    typing.reset("alice", "general");
    EXPECT_TRUE(typing.admit("alice", "general", t0 + 1ms));
}

TEST(Coalescer, AStopGoesOutOnlyToEndANoticeThatWentOut) {
    Coalescer typing(1000ms);
    EXPECT_FALSE(typing.close("alice", "general", t0));  // no notice yet
    EXPECT_TRUE(typing.admit("alice", "general", t0));
    EXPECT_TRUE(typing.close("alice", "general", t0 + 10ms));
    EXPECT_FALSE(typing.close("alice", "general", t0 + 20ms));  // already ended
    // A stop does not shorten the interval: a notice right after it is still coalesced...
    EXPECT_FALSE(typing.admit("alice", "general", t0 + 30ms));
    EXPECT_FALSE(typing.close("alice", "general", t0 + 40ms));
    // ...and the next one that goes out can be ended again.
    EXPECT_TRUE(typing.admit("alice", "general", t0 + 1000ms));
    EXPECT_TRUE(typing.close("alice", "general", t0 + 1500ms));
    // Other keys are their own.
    EXPECT_TRUE(typing.admit("bob", "general", t0 + 1500ms));
    EXPECT_FALSE(typing.close("bob", "rust", t0 + 1500ms));
}

TEST(Coalescer, AMessageEndsTheNoticeSoNoStopFollows) {
    Coalescer typing(1000ms);
    EXPECT_TRUE(typing.admit("alice", "general", t0));
    typing.reset("alice", "general");
    EXPECT_FALSE(typing.close("alice", "general", t0 + 1ms));
}

TEST(Coalescer, AStopLongAfterItsNoticeIsDropped) {
    Coalescer typing(1000ms);
    EXPECT_TRUE(typing.admit("alice", "general", t0));
    EXPECT_TRUE(typing.admit("bob", "general", t0));
    EXPECT_TRUE(typing.close("alice", "general", t0 + Coalescer::kStopWithin - 1ms));
    EXPECT_FALSE(typing.close("bob", "general", t0 + Coalescer::kStopWithin));
}

TEST(Coalescer, OpenNoticesAreKeptForTheirStopThenSwept) {
    Coalescer typing(1000ms);
    EXPECT_TRUE(typing.admit("alice", "general", t0));
    for (int i = 0; i < 5000; ++i) typing.admit("late", "general", t0 + 5s);
    EXPECT_EQ(typing.tracked_keys(), 2u);  // alice's notice is open: its stop may still come
    EXPECT_TRUE(typing.close("alice", "general", t0 + 5s));
    for (int i = 0; i < 5000; ++i) typing.admit("later", "general", t0 + 5s + 500ms);
    // Ended, and its notice older than the interval: gone; "late" is still open.
    EXPECT_EQ(typing.tracked_keys(), 2u);
    EXPECT_FALSE(typing.close("alice", "general", t0 + 5s + 500ms));
    for (int i = 0; i < 5000; ++i) typing.admit("last", "general", t0 + 30s);
    EXPECT_EQ(typing.tracked_keys(), 1u);
}

TEST(Coalescer, AZeroIntervalAdmitsEverything) {
    Coalescer typing(0ms);
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(typing.admit("alice", "general", t0));
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(typing.close("alice", "general", t0));
    EXPECT_EQ(typing.tracked_keys(), 0u);
}

TEST(Coalescer, TheWebClientsTypingEveryThreeSecondsAlwaysGoesThrough) {
    // frontend/src/stores/connection.ts: TYPING_THROTTLE_MS = 3000.
    Coalescer typing(1000ms);
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(typing.admit("alice", "general", t0 + i * 3000ms));
}

TEST(Coalescer, StaleKeysAreSwept) {
    Coalescer typing(1000ms);
    for (int i = 0; i < 100; ++i) typing.admit("user" + std::to_string(i), "general", t0);
    // The sweep runs every few thousand calls; one key, much later, triggers it eventually.
    for (int i = 0; i < 5000; ++i) typing.admit("late", "general", t0 + 10s);
    EXPECT_EQ(typing.tracked_keys(), 1u);
}

}  // namespace
