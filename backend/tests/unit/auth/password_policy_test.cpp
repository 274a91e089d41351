#include "auth/password_policy.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace {

using chatd::auth::PasswordChecker;

// One checker for the suite: the same settings chatd uses (its minimum of 8).
const PasswordChecker& checker() {
    static const PasswordChecker instance(8);
    return instance;
}

void expect_refused(const std::string& password, const std::string& user, const char* reason_part) {
    const auto weakness = checker().weakness(password, user);
    ASSERT_TRUE(weakness.has_value()) << password << " for " << user;
    EXPECT_NE(weakness->find(reason_part), std::string::npos)
        << password << " for " << user << ": " << *weakness;
}

TEST(PasswordChecker, RefusesCommonPasswordsWithAReason) {
    expect_refused("12345678", "alice", "sequence");
    expect_refused("password", "alice", "dictionary");
    expect_refused("qwertyuiop", "alice", "dictionary");
    expect_refused("Password1", "alice", "dictionary");
    expect_refused("aaaaaaaaaa", "alice", "");
    expect_refused("abcdefghij", "alice", "sequence");
}

TEST(PasswordChecker, RefusesTheUserNameInAnyCaseOrWithADigitAppended) {
    for (const char* password : {"margaret", "Margaret", "MARGARET", "mArGaReT", "margaret1",
                                 "Margaret7", "margaret2024", "teragram", "xx-margaret-xx"}) {
        expect_refused(password, "margaret", "user name");
    }
    expect_refused("alice123!", "alice", "user name");
}

TEST(PasswordChecker, RefusesShortPasswords) {
    expect_refused("Zq7!x", "alice", "shorter");
}

TEST(PasswordChecker, AcceptsStrongPasswordsAndPassphrases) {
    for (const char* password : {"correct horse battery", "correct horse", "vq7-Hm2x!Lr9",
                                 "Tr0ub4dor&3", "mauve lantern drifts slowly"}) {
        EXPECT_EQ(checker().weakness(password, "margaret"), std::nullopt) << password;
    }
    // Another user's name is not refused as a name.
    EXPECT_EQ(checker().weakness("correct horse margaret", "alice"), std::nullopt);
}

TEST(PasswordChecker, IsSafeFromSeveralThreads) {
    std::vector<std::thread> threads;
    std::atomic<int> refused{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20; ++i) {
                if (checker().weakness("password", "alice")) ++refused;
                if (checker().weakness("correct horse battery", "alice")) refused += 1000;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    EXPECT_EQ(refused.load(), 80);
}

}  // namespace
