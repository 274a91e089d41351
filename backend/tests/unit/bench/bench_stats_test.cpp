#include "bench_stats.hpp"

#include <gtest/gtest.h>

using namespace chatd::bench;

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

TEST(Mix, ParsesThreePercentagesThatSumToAHundred) {
    const auto mix = parse_mix("80,15,5");
    ASSERT_TRUE(mix);
    EXPECT_EQ(mix->send, 80u);
    EXPECT_EQ(mix->react, 15u);
    EXPECT_EQ(mix->edit, 5u);
    EXPECT_FALSE(parse_mix("80,15,6"));
    EXPECT_FALSE(parse_mix("80,15"));
    EXPECT_FALSE(parse_mix("80,15,5,0"));
    EXPECT_FALSE(parse_mix("80,x,5"));
    EXPECT_FALSE(parse_mix(""));
}

TEST(Mix, EveryHundredSeqsHoldTheMixAndItsKindsInterleave) {
    const Mix mix{80, 15, 5};
    for (std::uint64_t start : {0u, 37u, 1000u}) {
        unsigned counts[3] = {};
        for (std::uint64_t seq = start; seq < start + 100; ++seq) {
            ++counts[static_cast<int>(action_of(mix, seq))];
        }
        EXPECT_EQ(counts[0], 80u);
        EXPECT_EQ(counts[1], 15u);
        EXPECT_EQ(counts[2], 5u);
    }
    // Not 80 sends and then 20 changes: a change comes within the first ten frames.
    bool early_change = false;
    for (std::uint64_t seq = 0; seq < 10; ++seq) {
        early_change = early_change || action_of(mix, seq) != Action::Send;
    }
    EXPECT_TRUE(early_change);
    EXPECT_EQ(action_of(Mix{}, 12345), Action::Send);
}

TEST(ChangeId, RoundTripsAndEndsWithTheSeqAsAcksReadIt) {
    const Payload p{42, 3, 17, 123456789};
    const auto id = format_change_id(p);
    EXPECT_EQ(id.substr(id.rfind('-') + 1), "17");
    const auto back = parse_change_id(id);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->run, 42u);
    EXPECT_EQ(back->sender, 3u);
    EXPECT_EQ(back->seq, 17u);
    EXPECT_EQ(back->sent_ns, 123456789u);
    EXPECT_FALSE(parse_change_id("42-3-17"));
    EXPECT_FALSE(parse_change_id("42-3-x-17"));
    EXPECT_FALSE(parse_change_id("42-3-1-17-"));
}

TEST(JsonIntField, ReadsAnIntegerValue) {
    EXPECT_EQ(json_int_field(R"({"type":"ack","id":42,"room":"general"})", "id"), 42);
    EXPECT_EQ(json_int_field(R"({"type":"ack","client_msg_id":"a","id":-7})", "id"), -7);
    EXPECT_FALSE(json_int_field(R"({"type":"ack","id":"42"})", "id"));
    EXPECT_FALSE(json_int_field(R"({"type":"ack"})", "id"));
}
