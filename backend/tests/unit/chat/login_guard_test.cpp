#include "chat/login_guard.hpp"

#include <gtest/gtest.h>

namespace chatd::chat {
namespace {

using namespace std::chrono_literals;
using Clock = LoginGuard::Clock;

LoginGuardOptions small() {
    return {.max_account_failures = 3,
            .max_address_failures = 5,
            .window = 60s,
            .lockout = 30s,
            .max_keys = 4};
}

TEST(LoginGuard, LocksAnAccountAfterItsFailuresFromAnyAddress) {
    LoginGuard guard(small());
    const auto t0 = Clock::time_point{} + 1h;
    guard.record_failure("alice", "10.0.0.1", t0);
    guard.record_failure("alice", "10.0.0.2", t0);
    EXPECT_TRUE(guard.allow("alice", "10.0.0.3", t0));
    guard.record_failure("alice", "10.0.0.3", t0);
    EXPECT_FALSE(guard.allow("alice", "10.0.0.9", t0));
    EXPECT_TRUE(guard.allow("bob", "10.0.0.9", t0));
    // The lockout ends on its own.
    EXPECT_FALSE(guard.allow("alice", "10.0.0.9", t0 + 29s));
    EXPECT_TRUE(guard.allow("alice", "10.0.0.9", t0 + 30s));
}

TEST(LoginGuard, LocksAnAddressSprayingManyAccounts) {
    LoginGuard guard(small());
    const auto t0 = Clock::time_point{} + 1h;
    for (int i = 0; i < 5; ++i) guard.record_failure("user" + std::to_string(i), "10.0.0.1", t0);
    EXPECT_FALSE(guard.allow("someone_else", "10.0.0.1", t0));
    EXPECT_TRUE(guard.allow("someone_else", "10.0.0.2", t0));
}

TEST(LoginGuard, FailuresOutsideTheWindowAreForgotten) {
    LoginGuard guard(small());
    const auto t0 = Clock::time_point{} + 1h;
    guard.record_failure("alice", "a", t0);
    guard.record_failure("alice", "a", t0 + 1s);
    guard.record_failure("alice", "a", t0 + 61s);  // a new window: count 1
    EXPECT_TRUE(guard.allow("alice", "a", t0 + 61s));
}

TEST(LoginGuard, SuccessClearsTheAccountButNotTheAddress) {
    LoginGuard guard(small());
    const auto t0 = Clock::time_point{} + 1h;
    guard.record_failure("alice", "a", t0);
    guard.record_failure("alice", "a", t0);
    guard.record_success("alice");
    guard.record_failure("alice", "a", t0);
    guard.record_failure("alice", "a", t0);
    EXPECT_TRUE(guard.allow("alice", "b", t0));
    guard.record_failure("alice", "a", t0);  // fifth failure from "a"
    EXPECT_FALSE(guard.allow("bob", "a", t0));
}

TEST(LoginGuard, MemoryStaysBounded) {
    LoginGuard guard(small());
    const auto t0 = Clock::time_point{} + 1h;
    for (int i = 0; i < 100; ++i) {
        guard.record_failure("u" + std::to_string(i), "addr" + std::to_string(i),
                             t0 + std::chrono::seconds(i));
    }
    EXPECT_LE(guard.tracked_keys(), 2 * small().max_keys);
}

}  // namespace
}  // namespace chatd::chat
