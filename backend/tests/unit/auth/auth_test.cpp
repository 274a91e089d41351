#include "auth/auth.hpp"

#include <gtest/gtest.h>

#include <set>

namespace {

using namespace chatd::auth;

// The smallest cost libsodium accepts keeps the suite fast; production uses the defaults.
const PasswordCost kCheap{1, 8192};

class Auth : public ::testing::Test {
  protected:
    static void SetUpTestSuite() { initialize(); }
};

TEST_F(Auth, VerifiesTheRightPasswordAndRejectsOthers) {
    const auto hash = hash_password("correct horse", kCheap);
    EXPECT_TRUE(hash.starts_with("$argon2id$"));
    EXPECT_TRUE(verify_password(hash, "correct horse"));
    EXPECT_FALSE(verify_password(hash, "correct horse "));
    EXPECT_FALSE(verify_password(hash, ""));
}

TEST_F(Auth, SaltsEveryHash) {
    EXPECT_NE(hash_password("same", kCheap), hash_password("same", kCheap));
}

TEST_F(Auth, RejectsMalformedHashes) {
    EXPECT_FALSE(verify_password("", "x"));
    EXPECT_FALSE(verify_password("$argon2id$garbage", "x"));
    EXPECT_FALSE(verify_password(std::string(500, 'a'), "x"));
}

TEST_F(Auth, TokensAreLongUrlSafeAndUnique) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        auto token = new_token();
        ASSERT_EQ(token.size(), 43u);
        ASSERT_EQ(token.find_first_not_of(
                      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                  std::string::npos);
        seen.insert(std::move(token));
    }
    EXPECT_EQ(seen.size(), 1000u);
}

TEST_F(Auth, TokenHashIsHexSha256) {
    EXPECT_EQ(token_hash("abc"),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
