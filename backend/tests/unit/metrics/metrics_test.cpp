#include "metrics/metrics.hpp"

#include <gtest/gtest.h>

namespace {

using chatd::metrics::Limit;
using chatd::metrics::Metrics;

TEST(Metrics, ExposesCountersInTextFormat) {
    Metrics metrics("1.2.3");
    metrics.messages_stored.Increment(3);
    const auto text = metrics.serialize();
    EXPECT_NE(text.find("chat_messages_stored_total 3"), std::string::npos) << text;
    EXPECT_NE(text.find("chat_build_info{version=\"1.2.3\"} 1"), std::string::npos);
}

TEST(Metrics, CountsLimitHitsByKind) {
    Metrics metrics("x");
    metrics.limit_hit(Limit::Rate);
    metrics.limit_hit(Limit::Rate);
    const auto text = metrics.serialize();
    EXPECT_NE(text.find("chat_limit_hits_total{kind=\"rate\"} 2"), std::string::npos) << text;
    EXPECT_NE(text.find("chat_limit_hits_total{kind=\"frame_size\"} 0"), std::string::npos);
}

TEST(Metrics, CountsHttpResponsesByRoutePattern) {
    Metrics metrics("x");
    metrics.http_response("/api/rooms/{room}/messages", 200);
    metrics.http_response("/api/rooms/{room}/messages", 200);
    metrics.http_response("/api/rooms/{room}/messages", 404);
    const auto text = metrics.serialize();
    EXPECT_NE(
        text.find("chat_http_responses_total{code=\"200\",route=\"/api/rooms/{room}/messages\"} 2"),
        std::string::npos)
        << text;
}

}  // namespace
