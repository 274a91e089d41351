// LoginThrottle on a real SQLite store with a fake clock: no test waits for a delay.
#include "chat/login_guard.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "store/sqlite_store.hpp"
#include "support/temp_dir.hpp"

namespace chatd::chat {
namespace {

using namespace std::chrono_literals;
using test_support::TempDir;

LoginThrottleOptions small() {
    return {.pair_max_failures = 3,
            .address_max_failures = 6,
            .account_max_failures = 10,
            .base_delay = 1s,
            .max_delay = 60s,
            .forget_after = 1h,
            .purge_interval = 1min};
}

class LoginThrottleTest : public ::testing::Test {
  protected:
    void SetUp() override { use(small()); }

    void use(LoginThrottleOptions options) {
        throttle.reset();
        throttle = std::make_unique<LoginThrottle>(*store, options, [this] { return now_ms; });
    }
    void fail(std::string_view account, std::string_view address, int times = 1) {
        for (int i = 0; i < times; ++i) throttle->record_failure(account, address);
    }
    std::int64_t wait_ms(std::string_view account, std::string_view address) {
        const auto wait = throttle->check(account, address);
        return wait ? wait->count() : 0;
    }

    TempDir dir;
    std::unique_ptr<store::SqliteStore> store = std::make_unique<store::SqliteStore>(
        store::SqliteOptions{.path = (dir.path() / "chat.db").string(), .synchronous_full = false});
    std::int64_t now_ms = 1'000'000'000;
    std::unique_ptr<LoginThrottle> throttle;
};

TEST(LoginThrottleDelay, DoublesFromTheBaseAtTheLimitUpToTheCap) {
    const auto options = small();
    EXPECT_EQ(LoginThrottle::delay(options, 0, 3), 0ms);
    EXPECT_EQ(LoginThrottle::delay(options, 2, 3), 0ms);
    EXPECT_EQ(LoginThrottle::delay(options, 3, 3), 1s);
    EXPECT_EQ(LoginThrottle::delay(options, 4, 3), 2s);
    EXPECT_EQ(LoginThrottle::delay(options, 5, 3), 4s);
    EXPECT_EQ(LoginThrottle::delay(options, 8, 3), 32s);
    EXPECT_EQ(LoginThrottle::delay(options, 9, 3), 60s);
    EXPECT_EQ(LoginThrottle::delay(options, 1'000'000, 3), 60s);
}

TEST_F(LoginThrottleTest, FailuresUnderTheLimitAreAnsweredAtOnceThenTheDelayGrows) {
    fail("victim", "6.6.6.6", 2);
    EXPECT_EQ(wait_ms("victim", "6.6.6.6"), 0);
    fail("victim", "6.6.6.6");
    EXPECT_EQ(wait_ms("victim", "6.6.6.6"), 1000);
    now_ms += 400;
    EXPECT_EQ(wait_ms("victim", "6.6.6.6"), 600);
    now_ms += 600;  // the edge: waited exactly the delay
    EXPECT_EQ(wait_ms("victim", "6.6.6.6"), 0);
    fail("victim", "6.6.6.6");
    EXPECT_EQ(wait_ms("victim", "6.6.6.6"), 2000);
    now_ms += 2000;
    fail("victim", "6.6.6.6");
    EXPECT_EQ(wait_ms("victim", "6.6.6.6"), 4000);
}

TEST_F(LoginThrottleTest, TheOwnerFromAnotherAddressIsNeverSlowedByAFlood) {
    // Past every limit of the pair, the attacker's address and the account.
    for (int i = 0; i < 40; ++i) {
        now_ms += 61'000;
        fail("victim", "6.6.6.6");
    }
    EXPECT_GT(wait_ms("victim", "6.6.6.6"), 0);
    EXPECT_EQ(wait_ms("victim", "1.2.3.4"), 0);
}

TEST_F(LoginThrottleTest, TheAccountDelaySlowsOnlyAddressesThatFailedOnIt) {
    // A network: 12 addresses, 1 failure each (under the pair's and address's limits).
    for (int i = 0; i < 12; ++i) fail("victim", "10.0.0." + std::to_string(i));
    // The account is past its 10 (12 failures: 4 s): an address that failed on it waits, one
    // that never failed does not, and neither does the same address for another account.
    EXPECT_EQ(wait_ms("victim", "10.0.0.0"), 4000);
    EXPECT_EQ(wait_ms("victim", "1.2.3.4"), 0);
    EXPECT_EQ(wait_ms("other", "10.0.0.0"), 0);
}

TEST_F(LoginThrottleTest, AnAddressGuessingAcrossAccountsIsSlowedForEveryAccount) {
    for (int i = 0; i < 5; ++i) fail("ghost" + std::to_string(i), "6.6.6.6");
    EXPECT_EQ(wait_ms("someone", "6.6.6.6"), 0);
    fail("ghost5", "6.6.6.6");
    EXPECT_EQ(wait_ms("someone", "6.6.6.6"), 1000);
    EXPECT_EQ(wait_ms("someone", "1.2.3.4"), 0);
}

TEST_F(LoginThrottleTest, AddressLimitZeroTurnsItOff) {
    auto options = small();
    options.address_max_failures = 0;
    use(options);
    for (int i = 0; i < 20; ++i) fail("ghost" + std::to_string(i), "6.6.6.6");
    EXPECT_EQ(wait_ms("someone", "6.6.6.6"), 0);
}

TEST_F(LoginThrottleTest, SuccessClearsThePairAndTheAccountButNotTheAddress) {
    fail("victim", "6.6.6.6", 4);
    fail("ghost", "6.6.6.6", 2);  // the address is at its 6
    throttle->record_success("victim", "6.6.6.6");
    // The pair is clear but the address still waits.
    EXPECT_GT(wait_ms("victim", "6.6.6.6"), 0);
    now_ms += 60'000;
    EXPECT_EQ(wait_ms("victim", "6.6.6.6"), 0);
}

TEST_F(LoginThrottleTest, ARestartForgetsNothing) {
    fail("victim", "6.6.6.6", 5);
    const auto before = wait_ms("victim", "6.6.6.6");
    ASSERT_GT(before, 0);
    throttle.reset();
    const auto path = (dir.path() / "chat.db").string();
    store.reset();
    store = std::make_unique<store::SqliteStore>(
        store::SqliteOptions{.path = path, .synchronous_full = false});
    use(small());
    EXPECT_EQ(wait_ms("victim", "6.6.6.6"), before);
}

TEST_F(LoginThrottleTest, FailuresOlderThanTheForgetTimeAreForgottenAndPurged) {
    fail("victim", "6.6.6.6", 5);
    now_ms += 3'600'000;  // exactly forget_after: still remembered
    EXPECT_EQ(throttle->purge(), 0u);
    now_ms += 1;
    EXPECT_EQ(wait_ms("victim", "6.6.6.6"), 0);
    EXPECT_EQ(throttle->purge(), 3u);  // the pair, the address and the account keys
    fail("victim", "6.6.6.6");
    EXPECT_EQ(wait_ms("victim", "6.6.6.6"), 0);
}

TEST_F(LoginThrottleTest, AFailureAlsoPurgesAtMostOncePerInterval) {
    fail("old", "1.1.1.1");
    now_ms += 3'600'001;
    fail("new", "2.2.2.2");  // more than a minute after the last purge: purges
    EXPECT_EQ(throttle->purge(), 0u);
    EXPECT_EQ(store->login_failures({"pair:1.1.1.1 old"})[0].failures, 0);
}

}  // namespace
}  // namespace chatd::chat
