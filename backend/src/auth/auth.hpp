#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace chatd::auth {

// Must run once before any other function here (wraps sodium_init). Throws on failure.
void initialize();

// argon2id cost; the defaults are libsodium's "interactive" limits.
struct PasswordCost {
    unsigned long long ops_limit = 2;
    std::size_t mem_limit = 64ull * 1024 * 1024;
};

// Returns libsodium's self-describing argon2id string (salt and parameters included).
// Blocks for the hash's duration: call from a blocking pool.
std::string hash_password(std::string_view password, const PasswordCost& cost);
// Constant-time verification against a string from hash_password. False for malformed hashes.
bool verify_password(std::string_view password_hash, std::string_view password);

// A fresh bearer token: 32 random bytes, base64url without padding (43 characters).
std::string new_token();
// What the store keeps instead of the token: lowercase hex SHA-256 of the token.
std::string token_hash(std::string_view token);

}  // namespace chatd::auth
