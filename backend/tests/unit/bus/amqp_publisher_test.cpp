// The publisher part of the RabbitMQ bus without a broker: confirm bookkeeping and the
// completion of a publish sent as one copy per member queue.
#include "bus/amqp_publisher.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace {

using namespace chatd;
using Clock = bus::ConfirmTracker::Clock;

struct Outcomes {
    std::vector<std::pair<int, bool>> seen;  // (publish number, confirmed)
    bus::Bus::Completion of(int n) {
        return [this, n](bool ok) { seen.emplace_back(n, ok); };
    }
};

auto finish_messages() {
    return [](bus::ConfirmTracker::Pending& p, bool ok) {
        if (p.message && p.done) p.done(ok);
    };
}

TEST(ConfirmTracker, TagsCountEveryPublishOnTheChannelFromOne) {
    bus::ConfirmTracker confirms;
    EXPECT_EQ(confirms.add(nullptr, true, Clock::now()), 1u);
    EXPECT_EQ(confirms.add(nullptr, false, Clock::now()), 2u);  // events take a tag too
    confirms.fail_all([](auto&, bool) {});
    confirms.restart();
    EXPECT_EQ(confirms.add(nullptr, true, Clock::now()), 1u);
}

TEST(ConfirmTracker, AMultipleAckConfirmsEveryEarlierTagInOrder) {
    bus::ConfirmTracker confirms;
    Outcomes outcomes;
    for (int n = 1; n <= 4; ++n) confirms.add(outcomes.of(n), true, Clock::now());
    confirms.confirm(3, true, true, finish_messages());
    EXPECT_EQ(outcomes.seen, (std::vector<std::pair<int, bool>>{{1, true}, {2, true}, {3, true}}));
    EXPECT_FALSE(confirms.empty());
    confirms.confirm(4, false, true, finish_messages());
    EXPECT_TRUE(confirms.empty());
}

TEST(ConfirmTracker, ASingleNackFailsOnlyItsTag) {
    bus::ConfirmTracker confirms;
    Outcomes outcomes;
    for (int n = 1; n <= 3; ++n) confirms.add(outcomes.of(n), true, Clock::now());
    confirms.confirm(2, false, false, finish_messages());
    EXPECT_EQ(outcomes.seen, (std::vector<std::pair<int, bool>>{{2, false}}));
    confirms.confirm(99, false, true, finish_messages());  // unknown tag: nothing
    EXPECT_EQ(outcomes.seen.size(), 1u);
    confirms.fail_all(finish_messages());
    EXPECT_EQ(outcomes.seen,
              (std::vector<std::pair<int, bool>>{{2, false}, {1, false}, {3, false}}));
    EXPECT_TRUE(confirms.empty());
}

TEST(AllConfirmed, TrueOnceEveryCopyIsConfirmed) {
    std::vector<bool> results;
    auto each = bus::all_confirmed(3, [&](bool ok) { results.push_back(ok); });
    each(true);
    each(true);
    EXPECT_TRUE(results.empty());
    each(true);
    EXPECT_EQ(results, std::vector<bool>{true});
}

TEST(AllConfirmed, FalseAtTheFirstFailureAndNothingAfter) {
    std::vector<bool> results;
    auto each = bus::all_confirmed(3, [&](bool ok) { results.push_back(ok); });
    each(true);
    each(false);
    each(true);
    each(false);
    EXPECT_EQ(results, std::vector<bool>{false});
}

}  // namespace
