#pragma once

#include <spdlog/spdlog.h>

#include <exception>

#include "metrics/metrics.hpp"

namespace chatd::net {

// The completion handler of a spawned coroutine (a connection, an accept loop): what escaped it
// is logged and counted in chat_handler_exceptions_total, where asio::detached would drop it.
inline auto log_failure(metrics::Metrics& metrics, const char* what) {
    return [&metrics, what](std::exception_ptr error) {
        if (!error) return;
        metrics.handler_exceptions.Increment();
        try {
            std::rethrow_exception(error);
        } catch (const std::exception& e) {
            spdlog::error("{} failed: {}", what, e.what());
        } catch (...) {
            spdlog::error("{} failed", what);
        }
    };
}

}  // namespace chatd::net
