#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace chatd::chat {

struct LoginGuardOptions {
    // Failed logins allowed per account, then per remote address, within `window`.
    // 0 addresses: no per-address lockout (behind a proxy every client shares its address).
    std::size_t max_account_failures = 5;
    std::size_t max_address_failures = 20;
    std::chrono::milliseconds window = std::chrono::minutes(15);
    // How long a key is refused once it reached its limit.
    std::chrono::milliseconds lockout = std::chrono::minutes(15);
    // Keys tracked at most per kind; past it, expired entries are swept, then the oldest dropped.
    std::size_t max_keys = 100'000;
};

// Counts failed logins per account and per remote address; a key that failed too often within
// the window is locked out for a while. Thread-safe. A success clears the account's count (not
// the address's: one good account must not launder guesses at others).
//
//   if (!guard.allow(name, address)) -> 429 rate_limited, counted as Limit::LoginRate
//   ... verify ...; ok ? guard.record_success(name) : guard.record_failure(name, address);
class LoginGuard {
  public:
    using Clock = std::chrono::steady_clock;

    explicit LoginGuard(LoginGuardOptions options = {}) : options_(options) {}

    // False while the account or the address is locked out.
    bool allow(std::string_view account,
               std::string_view address,
               Clock::time_point now = Clock::now());
    void record_failure(std::string_view account,
                        std::string_view address,
                        Clock::time_point now = Clock::now());
    void record_success(std::string_view account);
    std::size_t tracked_keys();

  private:
    struct Entry {
        std::size_t failures = 0;
        Clock::time_point window_start;
        Clock::time_point locked_until;
    };
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const {
            return std::hash<std::string_view>{}(s);
        }
    };
    using Table = std::unordered_map<std::string, Entry, Hash, std::equal_to<>>;

    bool locked(const Table& table, std::string_view key, Clock::time_point now) const;
    void fail(Table& table, std::string_view key, std::size_t limit, Clock::time_point now);
    void bound(Table& table, Clock::time_point now);

    const LoginGuardOptions options_;
    std::mutex mutex_;
    Table accounts_;
    Table addresses_;
};

}  // namespace chatd::chat
