#include "work/batch_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace chatd::work {
namespace {

TEST(BatchQueue, TakesEverythingQueuedInPushOrder) {
    BatchQueue<int> queue(8);
    for (int i = 1; i <= 5; ++i) ASSERT_TRUE(queue.push_wait(i));
    std::vector<int> out{0};
    ASSERT_TRUE(queue.take(out));
    EXPECT_EQ(out, (std::vector<int>{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(queue.size(), 0u);
}

TEST(BatchQueue, TryPushRefusesWhenFullAndLeavesTheItem) {
    BatchQueue<std::vector<int>> queue(1);
    std::vector<int> first{1};
    std::vector<int> second{2, 3};
    ASSERT_TRUE(queue.try_push(first));
    EXPECT_FALSE(queue.try_push(second));
    EXPECT_EQ(second, (std::vector<int>{2, 3}));
    EXPECT_TRUE(queue.push_always(second));
    EXPECT_EQ(queue.size(), 2u);
}

TEST(BatchQueue, PushWaitBlocksUntilTheWorkerTakes) {
    BatchQueue<int> queue(1);
    ASSERT_TRUE(queue.push_wait(1));
    std::atomic<bool> pushed{false};
    std::thread producer([&] {
        queue.push_wait(2);
        pushed = true;
    });
    std::vector<int> out;
    ASSERT_TRUE(queue.take(out));
    producer.join();
    EXPECT_TRUE(pushed);
    out.clear();
    ASSERT_TRUE(queue.take(out));
    EXPECT_EQ(out, std::vector<int>{2});
}

TEST(BatchQueue, CloseReleasesAWaitingProducerAndEndsTheWorkerAfterTheLastItem) {
    BatchQueue<int> queue(1);
    ASSERT_TRUE(queue.push_wait(1));
    bool second_pushed = true;
    std::thread producer([&] { second_pushed = queue.push_wait(2); });
    queue.close();
    producer.join();
    EXPECT_FALSE(second_pushed);
    EXPECT_FALSE(queue.push_always(3));
    std::vector<int> out;
    EXPECT_TRUE(queue.take(out));
    EXPECT_EQ(out, std::vector<int>{1});
    EXPECT_FALSE(queue.take(out));
}

TEST(BatchQueue, TakeUntilReturnsAtTheDeadlineWithNothing) {
    BatchQueue<int> queue(4);
    std::vector<int> out;
    EXPECT_TRUE(
        queue.take_until(out, std::chrono::steady_clock::now() + std::chrono::milliseconds(5)));
    EXPECT_TRUE(out.empty());
}

TEST(BatchQueue, ManyProducersLoseNothing) {
    BatchQueue<int> queue(16);
    constexpr int kPerProducer = 10000;
    std::vector<std::thread> producers;
    for (int p = 0; p < 4; ++p) {
        producers.emplace_back([&, p] {
            for (int i = 0; i < kPerProducer; ++i) queue.push_wait(p * kPerProducer + i);
        });
    }
    std::vector<int> seen;
    std::vector<int> last(4, -1);
    while (seen.size() < 4u * kPerProducer) {
        std::vector<int> batch;
        ASSERT_TRUE(queue.take(batch));
        for (int value : batch) {
            const int producer = value / kPerProducer;
            EXPECT_GT(value, last[producer]);  // each producer's items stay in its order
            last[producer] = value;
            seen.push_back(value);
        }
    }
    for (auto& producer : producers) producer.join();
    EXPECT_EQ(seen.size(), 4u * kPerProducer);
}

}  // namespace
}  // namespace chatd::work
