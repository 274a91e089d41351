#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::store {
class Store;
}

namespace chatd::chat {

struct LoginThrottleOptions {
    // Failed sign-ins after which a key waits base_delay since its last failure, doubling with
    // each further failure up to max_delay: per (account, address), per address across
    // accounts (0: off; behind a proxy without --trusted-proxies every client shares one),
    // and per account from every address (0: off). The account's delay applies only to
    // addresses that have failed on that account themselves: it slows a guessing network,
    // never the owner signing in from an address that has not failed.
    std::size_t pair_max_failures = 3;
    std::size_t address_max_failures = 20;
    std::size_t account_max_failures = 100;
    std::chrono::milliseconds base_delay = std::chrono::seconds(1);
    std::chrono::milliseconds max_delay = std::chrono::minutes(15);
    // A key whose last failure is older counts from zero again and is purged from the store.
    std::chrono::milliseconds forget_after = std::chrono::hours(24);
    // How often, at most, a failure also purges the forgotten keys.
    std::chrono::milliseconds purge_interval = std::chrono::minutes(1);
};

// Throttles password guessing with growing delays, keeping the counts in the store (a restart
// forgets nothing; every node of a cluster sees the same counts; forgotten keys are purged).
// No in-memory state but the time of the last purge. Thread-safe; every function blocks on
// the store.
//
//   if (auto wait = throttle.check(name, address)) -> 429 rate_limited, Retry-After: *wait
//   ... verify ...; ok ? throttle.record_success(name, address)
//                      : throttle.record_failure(name, address);
class LoginThrottle {
  public:
    // Wall-clock milliseconds (model::now_ms; a fake one in tests).
    using Clock = std::function<std::int64_t()>;

    LoginThrottle(store::Store& store, LoginThrottleOptions options, Clock clock);

    // nullopt: go ahead. Otherwise how long this account and address must still wait.
    std::optional<std::chrono::milliseconds> check(std::string_view account,
                                                   std::string_view address);
    void record_failure(std::string_view account, std::string_view address);
    // Clears the (account, address) and account counts, not the address's: one good account
    // must not launder guesses at others.
    void record_success(std::string_view account, std::string_view address);
    // Deletes the keys whose last failure is older than forget_after; returns how many.
    std::size_t purge();

    // The wait after `failures` failures of a key that waits from `max_failures` on.
    static std::chrono::milliseconds delay(const LoginThrottleOptions& options,
                                           std::int64_t failures,
                                           std::size_t max_failures);

  private:
    std::vector<std::string> keys(std::string_view account, std::string_view address) const;

    store::Store& store_;
    const LoginThrottleOptions options_;
    const Clock clock_;
    std::atomic<std::int64_t> last_purge_ms_{0};
};

}  // namespace chatd::chat
