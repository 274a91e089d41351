#include "bench_stats.hpp"

#include <gtest/gtest.h>

using chatd::bench::sends_due;

TEST(SendsDue, SendersTakeTurnsAtTheTotalRate) {
    // 100 msg/s from 4 senders: one message every 10 ms overall, each sender every 40 ms.
    EXPECT_EQ(sends_due(0.0, 100, 4, 0), 1u);
    EXPECT_EQ(sends_due(0.0, 100, 4, 1), 0u);
    EXPECT_EQ(sends_due(0.0099, 100, 4, 1), 0u);
    EXPECT_EQ(sends_due(0.0101, 100, 4, 1), 1u);
    EXPECT_EQ(sends_due(0.0301, 100, 4, 3), 1u);
    EXPECT_EQ(sends_due(0.0399, 100, 4, 0), 1u);
    EXPECT_EQ(sends_due(0.0401, 100, 4, 0), 2u);
}

TEST(SendsDue, TheTotalAfterOneSecondIsTheRate) {
    std::uint64_t total = 0;
    for (std::size_t sender = 0; sender < 4; ++sender) total += sends_due(0.9999, 100, 4, sender);
    EXPECT_EQ(total, 100u);
}

TEST(SendsDue, NoRateMeansNothingIsScheduled) {
    EXPECT_EQ(sends_due(5.0, 0, 4, 0), 0u);
}
