#include "chat/login_guard.hpp"

#include <algorithm>

#include "store/store.hpp"

namespace chatd::chat {
namespace {

// Indexes into keys().
constexpr std::size_t kPair = 0;
constexpr std::size_t kAddress = 1;
constexpr std::size_t kAccount = 2;

}  // namespace

LoginThrottle::LoginThrottle(store::Store& store, LoginThrottleOptions options, Clock clock)
    : store_(store), options_(options), clock_(std::move(clock)) {}

std::vector<std::string> LoginThrottle::keys(std::string_view account,
                                             std::string_view address) const {
    // Neither an address nor a user name holds a space.
    std::string pair = "pair:";
    pair.append(address).append(" ").append(account);
    std::string by_address = "address:";
    by_address.append(address);
    std::string by_account = "account:";
    by_account.append(account);
    return {std::move(pair), std::move(by_address), std::move(by_account)};
}

std::chrono::milliseconds LoginThrottle::delay(const LoginThrottleOptions& options,
                                               std::int64_t failures,
                                               std::size_t max_failures) {
    if (failures < static_cast<std::int64_t>(max_failures)) return std::chrono::milliseconds(0);
    // base * 2^(failures - max), capped; the doubling stops as soon as it reaches the cap.
    auto wait = options.base_delay;
    for (std::int64_t i = static_cast<std::int64_t>(max_failures);
         i < failures && wait < options.max_delay; ++i) {
        wait *= 2;
    }
    return std::min(wait, options.max_delay);
}

std::optional<std::chrono::milliseconds> LoginThrottle::check(std::string_view account,
                                                              std::string_view address) {
    const auto now = clock_();
    const auto forget_before = now - options_.forget_after.count();
    const auto counts = store_.login_failures(keys(account, address));
    // The time until which a key waits (0 when it does not), forgotten keys counting nothing.
    const auto until = [&](std::size_t index, std::size_t max_failures) -> std::int64_t {
        const auto& count = counts[index];
        if (count.failures == 0 || count.last_failure_ms < forget_before) return 0;
        return count.last_failure_ms + delay(options_, count.failures, max_failures).count();
    };
    std::int64_t wait_until = until(kPair, options_.pair_max_failures);
    if (options_.address_max_failures > 0) {
        wait_until = std::max(wait_until, until(kAddress, options_.address_max_failures));
    }
    const bool address_failed_here =
        counts[kPair].failures > 0 && counts[kPair].last_failure_ms >= forget_before;
    if (options_.account_max_failures > 0 && address_failed_here) {
        wait_until = std::max(wait_until, until(kAccount, options_.account_max_failures));
    }
    if (wait_until <= now) return std::nullopt;
    return std::chrono::milliseconds(wait_until - now);
}

void LoginThrottle::record_failure(std::string_view account, std::string_view address) {
    const auto now = clock_();
    store_.add_login_failure(keys(account, address), now, now - options_.forget_after.count());
    auto last = last_purge_ms_.load();
    if (now - last >= options_.purge_interval.count() &&
        last_purge_ms_.compare_exchange_strong(last, now)) {
        purge();
    }
}

void LoginThrottle::record_success(std::string_view account, std::string_view address) {
    auto all = keys(account, address);
    store_.clear_login_failures({std::move(all[kPair]), std::move(all[kAccount])});
}

std::size_t LoginThrottle::purge() {
    return store_.purge_login_failures(clock_() - options_.forget_after.count());
}

}  // namespace chatd::chat
