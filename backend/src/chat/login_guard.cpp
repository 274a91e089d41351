#include "chat/login_guard.hpp"

#include <algorithm>

namespace chatd::chat {

bool LoginGuard::allow(std::string_view account, std::string_view address, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    return !locked(accounts_, account, now) && !locked(addresses_, address, now);
}

void LoginGuard::record_failure(std::string_view account,
                                std::string_view address,
                                Clock::time_point now) {
    std::lock_guard lock(mutex_);
    fail(accounts_, account, options_.max_account_failures, now);
    if (options_.max_address_failures > 0) {
        fail(addresses_, address, options_.max_address_failures, now);
    }
}

void LoginGuard::record_success(std::string_view account) {
    std::lock_guard lock(mutex_);
    if (auto it = accounts_.find(account); it != accounts_.end()) accounts_.erase(it);
}

std::size_t LoginGuard::tracked_keys() {
    std::lock_guard lock(mutex_);
    return accounts_.size() + addresses_.size();
}

bool LoginGuard::locked(const Table& table, std::string_view key, Clock::time_point now) const {
    const auto it = table.find(key);
    return it != table.end() && it->second.locked_until > now;
}

void LoginGuard::fail(Table& table,
                      std::string_view key,
                      std::size_t limit,
                      Clock::time_point now) {
    auto it = table.find(key);
    if (it == table.end()) {
        bound(table, now);
        it = table.emplace(std::string(key), Entry{0, now, {}}).first;
    }
    auto& entry = it->second;
    if (now - entry.window_start >= options_.window && entry.locked_until <= now) {
        entry.failures = 0;
        entry.window_start = now;
    }
    if (++entry.failures >= limit) entry.locked_until = now + options_.lockout;
}

void LoginGuard::bound(Table& table, Clock::time_point now) {
    if (table.size() < options_.max_keys) return;
    std::erase_if(table, [&](const auto& item) {
        const auto& entry = item.second;
        return entry.locked_until <= now && now - entry.window_start >= options_.window;
    });
    if (table.size() < options_.max_keys) return;
    // Still full of live entries (a spray of addresses or names): forget the oldest window.
    auto oldest = std::min_element(table.begin(), table.end(), [](const auto& a, const auto& b) {
        return a.second.window_start < b.second.window_start;
    });
    table.erase(oldest);
}

}  // namespace chatd::chat
