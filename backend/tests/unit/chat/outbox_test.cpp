#include "chat/outbox.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace chatd;
using chat::Frame;
using chat::make_frame;
using chat::Outbox;
using Result = Outbox::PushResult;

std::vector<std::string> texts(const std::vector<Frame>& frames) {
    std::vector<std::string> out;
    for (const auto& frame : frames) out.push_back(*frame);
    return out;
}

Outbox::Limits limits(std::size_t max_bytes, std::size_t max_frames) {
    Outbox::Limits out;
    out.max_bytes = max_bytes;
    out.max_frames = max_frames;
    return out;
}

TEST(Outbox, FirstPushAsksForAWakeUpAndLaterPushesDoNot) {
    Outbox outbox(Outbox::Limits{});
    EXPECT_EQ(outbox.push(make_frame("a")), Result::QueuedWakeUp);
    EXPECT_EQ(outbox.push(make_frame("b")), Result::Queued);
    EXPECT_EQ(outbox.push(make_frame("c")), Result::Queued);
}

TEST(Outbox, PushesStayQuietWhileTheWriterIsBusyAndWakeItOnceItFoundTheQueueEmpty) {
    Outbox outbox(Outbox::Limits{});
    std::vector<Frame> batch;
    ASSERT_EQ(outbox.push(make_frame("a")), Result::QueuedWakeUp);
    ASSERT_TRUE(outbox.take(batch));
    // The writer is still busy (it has not seen an empty queue yet).
    EXPECT_EQ(outbox.push(make_frame("b")), Result::Queued);
    ASSERT_TRUE(outbox.take(batch));
    EXPECT_FALSE(outbox.take(batch));  // now idle
    EXPECT_EQ(outbox.push(make_frame("c")), Result::QueuedWakeUp);
    EXPECT_EQ(outbox.push(make_frame("d")), Result::Queued);
}

TEST(Outbox, TakeMovesEveryQueuedFrameInPushOrder) {
    Outbox outbox(Outbox::Limits{});
    for (const char* text : {"one", "two", "three"}) outbox.push(make_frame(text));
    std::vector<Frame> batch{make_frame("stale")};
    ASSERT_TRUE(outbox.take(batch));
    EXPECT_EQ(texts(batch), (std::vector<std::string>{"one", "two", "three"}));
    EXPECT_FALSE(outbox.take(batch));
    EXPECT_TRUE(batch.empty()) << "take clears `out` even when nothing was queued";
}

TEST(Outbox, TakeHandsOverTheSameFrameObjects) {
    Outbox outbox(Outbox::Limits{});
    const auto frame = make_frame("shared");
    outbox.push(frame);
    std::vector<Frame> batch;
    ASSERT_TRUE(outbox.take(batch));
    ASSERT_EQ(batch.size(), 1u);
    EXPECT_EQ(batch[0].get(), frame.get());
}

TEST(Outbox, TakeFromAnEmptyQueueReleasesTheWritersBatchMemory) {
    Outbox outbox(Outbox::Limits{});
    for (int i = 0; i < 100; ++i) outbox.push(make_frame("x"));
    std::vector<Frame> batch;
    ASSERT_TRUE(outbox.take(batch));
    EXPECT_EQ(batch.size(), 100u);
    // Idle: nothing queued, and the writer's batch keeps no capacity (memory per connection).
    EXPECT_FALSE(outbox.take(batch));
    EXPECT_TRUE(batch.empty());
    EXPECT_EQ(batch.capacity(), 0u);
}

TEST(Outbox, QueuedBytesCountsWhatIsWaitingAndDropsToZeroOnTake) {
    Outbox outbox(Outbox::Limits{});
    EXPECT_EQ(outbox.queued_bytes(), 0u);
    outbox.push(make_frame("12345"));
    outbox.push(make_frame("123"));
    EXPECT_EQ(outbox.queued_bytes(), 8u);
    std::vector<Frame> batch;
    outbox.take(batch);
    EXPECT_EQ(outbox.queued_bytes(), 0u);
}

TEST(Outbox, FramesUpToTheByteLimitAreQueued) {
    Outbox outbox(limits(10, 100));
    EXPECT_NE(outbox.push(make_frame("12345")), Result::Overflow);
    EXPECT_NE(outbox.push(make_frame("12345")), Result::Overflow);
    EXPECT_EQ(outbox.queued_bytes(), 10u);
}

TEST(Outbox, PassingTheByteLimitOverflowsDropsTheQueueAndClosesIt) {
    Outbox outbox(limits(10, 100));
    outbox.push(make_frame("123456"));
    EXPECT_EQ(outbox.push(make_frame("12345")), Result::Overflow);
    EXPECT_EQ(outbox.queued_bytes(), 0u);
    std::vector<Frame> batch;
    EXPECT_FALSE(outbox.take(batch));
    EXPECT_EQ(outbox.push(make_frame("x")), Result::Closed);
    EXPECT_EQ(outbox.queued_bytes(), 0u);
}

TEST(Outbox, ASingleFrameLargerThanTheByteLimitOverflows) {
    Outbox outbox(limits(4, 100));
    EXPECT_EQ(outbox.push(make_frame("12345")), Result::Overflow);
    EXPECT_EQ(outbox.push(make_frame("1")), Result::Closed);
}

TEST(Outbox, PassingTheFrameLimitOverflowsDropsTheQueueAndClosesIt) {
    Outbox outbox(limits(1 << 20, 3));
    EXPECT_NE(outbox.push(make_frame("a")), Result::Overflow);
    EXPECT_NE(outbox.push(make_frame("b")), Result::Overflow);
    EXPECT_NE(outbox.push(make_frame("c")), Result::Overflow);
    EXPECT_EQ(outbox.push(make_frame("d")), Result::Overflow);
    std::vector<Frame> batch;
    EXPECT_FALSE(outbox.take(batch));
    EXPECT_EQ(outbox.push(make_frame("e")), Result::Closed);
}

TEST(Outbox, TakingFramesMakesRoomUnderTheLimits) {
    Outbox outbox(limits(10, 2));
    std::vector<Frame> batch;
    for (int round = 0; round < 5; ++round) {
        EXPECT_NE(outbox.push(make_frame("12345")), Result::Overflow) << round;
        EXPECT_NE(outbox.push(make_frame("12345")), Result::Overflow) << round;
        ASSERT_TRUE(outbox.take(batch));
        EXPECT_EQ(batch.size(), 2u);
    }
}

TEST(Outbox, CloseDiscardsQueuedFramesAndRefusesLaterPushes) {
    Outbox outbox(Outbox::Limits{});
    outbox.push(make_frame("a"));
    outbox.push(make_frame("b"));
    outbox.close();
    EXPECT_EQ(outbox.queued_bytes(), 0u);
    std::vector<Frame> batch;
    EXPECT_FALSE(outbox.take(batch));
    EXPECT_EQ(outbox.push(make_frame("c")), Result::Closed);
    outbox.close();  // idempotent
    EXPECT_EQ(outbox.push(make_frame("d")), Result::Closed);
}

// Several producers push concurrently to one consumer that follows the writer protocol: it sleeps
// until woken, then takes until take() reports an empty queue. A push that answers QueuedWakeUp
// wakes it. Every frame must arrive, in push order per producer, and no wake-up may be lost
// (a lost one would leave frames queued forever: the wait below would time out).
TEST(Outbox, SealKeepsQueuedFramesForTheWriterAndRefusesLaterPushes) {
    Outbox outbox(Outbox::Limits{});
    outbox.push(make_frame("notice"));
    outbox.seal();
    EXPECT_EQ(outbox.push(make_frame("later")), Result::Closed);
    std::vector<Frame> batch;
    ASSERT_TRUE(outbox.take(batch));
    ASSERT_EQ(batch.size(), 1u);
    EXPECT_EQ(*batch[0], "notice");
    EXPECT_FALSE(outbox.take(batch));
}

TEST(Outbox, ConcurrentProducersLoseNoFrameAndKeepEachProducersOrder) {
    constexpr int kProducers = 4;
    constexpr int kFramesEach = 20'000;
    Outbox outbox(limits(std::size_t{1} << 30, std::size_t{1} << 30));

    std::mutex mutex;
    std::condition_variable wake;
    int pending_wakeups = 0;  // guarded by mutex
    int max_pending_wakeups = 0;
    int wakeups = 0;
    bool bad_result = false;

    std::vector<std::thread> producers;
    for (int p = 0; p < kProducers; ++p) {
        producers.emplace_back([&, p] {
            for (int i = 0; i < kFramesEach; ++i) {
                const auto result =
                    outbox.push(make_frame(std::to_string(p) + ":" + std::to_string(i)));
                if (result == Result::QueuedWakeUp) {
                    std::lock_guard lock(mutex);
                    ++pending_wakeups;
                    ++wakeups;
                    max_pending_wakeups = std::max(max_pending_wakeups, pending_wakeups);
                    wake.notify_one();
                } else if (result != Result::Queued) {
                    std::lock_guard lock(mutex);
                    bad_result = true;
                }
            }
        });
    }

    std::vector<int> next(kProducers, 0);
    bool out_of_order = false;
    int received = 0;
    int empty_takes = 0;
    bool lost_wakeup = false;
    std::vector<Frame> batch;
    while (received < kProducers * kFramesEach) {
        {
            std::unique_lock lock(mutex);
            if (!wake.wait_for(lock, std::chrono::seconds(30),
                               [&] { return pending_wakeups > 0; })) {
                lost_wakeup = true;
                break;
            }
            --pending_wakeups;
        }
        while (outbox.take(batch)) {
            for (const auto& frame : batch) {
                const auto colon = frame->find(':');
                const int producer = std::stoi(frame->substr(0, colon));
                const int index = std::stoi(frame->substr(colon + 1));
                if (index != next[static_cast<std::size_t>(producer)]) out_of_order = true;
                next[static_cast<std::size_t>(producer)] = index + 1;
                ++received;
            }
        }
        ++empty_takes;
    }
    for (auto& producer : producers) producer.join();

    ASSERT_FALSE(lost_wakeup) << "a wake-up was lost after " << received << " frames";
    EXPECT_EQ(received, kProducers * kFramesEach);
    EXPECT_FALSE(out_of_order);
    EXPECT_FALSE(bad_result);
    for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[static_cast<std::size_t>(p)], kFramesEach);
    // One wake-up per idle period: never two outstanding, and each one ended with an empty take.
    EXPECT_EQ(max_pending_wakeups, 1);
    EXPECT_EQ(wakeups, empty_takes);
    EXPECT_EQ(outbox.queued_bytes(), 0u);
}

}  // namespace
