#include "app/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using chatd::app::Config;
using chatd::app::parse_config;

std::optional<Config> parse(std::vector<std::string> args) {
    args.insert(args.begin(), "chatd");
    std::vector<const char*> argv;
    for (const auto& arg : args) argv.push_back(arg.c_str());
    return parse_config(static_cast<int>(argv.size()), argv.data(), "test");
}

// Sets an environment variable for one test and restores it afterwards.
class ScopedEnv {
  public:
    ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
    ~ScopedEnv() { unsetenv(name_); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

  private:
    const char* name_;
};

TEST(Config, DefaultsMatchTheDesign) {
    const auto config = parse({});
    ASSERT_TRUE(config);
    EXPECT_EQ(config->listen, "127.0.0.1:8080");
    EXPECT_EQ(config->db, "sqlite:data/chatd.db");
    EXPECT_EQ(config->auth, "password");
    EXPECT_EQ(config->amqp_url, "");
    EXPECT_EQ(config->amqp_topology, "per-user");
}

TEST(Config, FlagsOverrideDefaults) {
    const auto config = parse({"--listen", "0.0.0.0:9000", "--auth", "open", "--max-frame-bytes",
                               "4096", "--cors-origins", "http://a,http://b"});
    ASSERT_TRUE(config);
    EXPECT_EQ(config->listen, "0.0.0.0:9000");
    EXPECT_EQ(config->auth, "open");
    EXPECT_EQ(config->max_frame_bytes, 4096u);
    EXPECT_EQ(config->cors_origins, (std::vector<std::string>{"http://a", "http://b"}));
}

TEST(Config, EnvironmentFillsWhatFlagsDoNotSet) {
    ScopedEnv auth("CHATD_AUTH", "open");
    ScopedEnv rate("CHATD_RATE_BURST", "9");
    const auto config = parse({"--rate-burst", "5"});
    ASSERT_TRUE(config);
    EXPECT_EQ(config->auth, "open");
    EXPECT_EQ(config->rate_burst, 5);
}

TEST(Config, ConfigFileBeatsTheEnvironment) {
    const auto path = std::filesystem::temp_directory_path() / "chatd_config_test.toml";
    std::ofstream(path) << "# comment\nlisten = \"127.0.0.1:9001\"\nmax-message-length = 77\n"
                           "rate-burst = 7\n";
    ScopedEnv rate("CHATD_RATE_BURST", "9");
    const auto config = parse({"--config", path.string()});
    std::filesystem::remove(path);
    ASSERT_TRUE(config);
    EXPECT_EQ(config->listen, "127.0.0.1:9001");
    EXPECT_EQ(config->max_message_length, 77u);
    EXPECT_EQ(config->rate_burst, 7);
}

TEST(Config, RejectsBadValuesWithAReadableMessage) {
    EXPECT_THROW(parse({"--auth", "bogus"}), std::invalid_argument);
    EXPECT_THROW(parse({"--db", "mysql://x"}), std::invalid_argument);
    EXPECT_THROW(parse({"--listen", "nocolon"}), std::invalid_argument);
    EXPECT_THROW(parse({"--max-frame-bytes", "10"}), std::invalid_argument);
    EXPECT_THROW(parse({"--no-such-flag"}), std::invalid_argument);
}

TEST(Config, RoomEventLimitsHaveDefaultsAndBounds) {
    const auto defaults = parse({});
    ASSERT_TRUE(defaults);
    EXPECT_EQ(defaults->edit_window_seconds, 0u);
    EXPECT_EQ(defaults->max_reactions_per_message, 50u);
    const auto set = parse({"--edit-window-seconds", "900", "--max-reactions-per-message", "1"});
    ASSERT_TRUE(set);
    EXPECT_EQ(set->edit_window_seconds, 900u);
    EXPECT_EQ(set->max_reactions_per_message, 1u);
    const auto at_most =
        parse({"--edit-window-seconds", "316224000", "--max-reactions-per-message", "10000"});
    ASSERT_TRUE(at_most);
    EXPECT_THROW(parse({"--edit-window-seconds", "316224001"}), std::invalid_argument);
    EXPECT_THROW(parse({"--edit-window-seconds", "-1"}), std::invalid_argument);
    EXPECT_THROW(parse({"--max-reactions-per-message", "0"}), std::invalid_argument);
    EXPECT_THROW(parse({"--max-reactions-per-message", "10001"}), std::invalid_argument);
}

TEST(Config, TheUnreadCountCapHasADefaultAndBounds) {
    EXPECT_EQ(parse({})->max_unread_count, 999u);
    EXPECT_EQ(parse({"--max-unread-count", "1"})->max_unread_count, 1u);
    EXPECT_EQ(parse({"--max-unread-count", "100000"})->max_unread_count, 100000u);
    EXPECT_THROW(parse({"--max-unread-count", "0"}), std::invalid_argument);
    EXPECT_THROW(parse({"--max-unread-count", "100001"}), std::invalid_argument);
}

TEST(Config, FrameLimitsDefaultToTheLargerOfAFloorAndAMultipleOfTheMessageLimit) {
    const auto defaults = chatd::app::frame_limits(*parse({}));
    EXPECT_EQ(defaults.connection_rate, 50);
    EXPECT_EQ(defaults.connection_burst, 200);
    EXPECT_EQ(defaults.user_rate, 100);
    EXPECT_EQ(defaults.user_burst, 400);
    // A load test's high message limit raises them with it.
    const auto raised =
        chatd::app::frame_limits(*parse({"--rate-per-second", "1000", "--rate-burst", "2000"}));
    EXPECT_EQ(raised.connection_rate, 2000);
    EXPECT_EQ(raised.connection_burst, 4000);
    EXPECT_EQ(raised.user_rate, 4000);
    EXPECT_EQ(raised.user_burst, 8000);
    // A flag wins.
    const auto set = chatd::app::frame_limits(
        *parse({"--frame-rate-per-second", "7", "--user-frame-rate-burst", "9"}));
    EXPECT_EQ(set.connection_rate, 7);
    EXPECT_EQ(set.user_burst, 9);
    const auto config = parse({"--frame-flood-close", "0", "--typing-interval-ms", "250",
                               "--ephemeral-queue-bytes", "1024"});
    EXPECT_EQ(config->frame_flood_close, 0u);
    EXPECT_EQ(config->typing_interval_ms, 250u);
    EXPECT_EQ(config->ephemeral_queue_bytes, 1024u);
    EXPECT_THROW(parse({"--frame-rate-per-second", "-1"}), std::invalid_argument);
    EXPECT_THROW(parse({"--typing-interval-ms", "60001"}), std::invalid_argument);
}

TEST(Config, DescribeRedactsPasswordsInUrls) {
    Config config;
    config.amqp_url = "amqp://chat:s3cret@rabbit:5672/%2f";
    config.db = "postgresql://app:hunter2@db/chat";
    const auto line = chatd::app::describe(config);
    EXPECT_EQ(line.find("s3cret"), std::string::npos);
    EXPECT_EQ(line.find("hunter2"), std::string::npos);
    EXPECT_NE(line.find("amqp://chat:***@rabbit:5672/%2f"), std::string::npos);
}

TEST(Config, RedactUrlLeavesUrlsWithoutPasswordsAlone) {
    EXPECT_EQ(chatd::app::redact_url("sqlite:data/x.db"), "sqlite:data/x.db");
    EXPECT_EQ(chatd::app::redact_url("amqp://host:5672/"), "amqp://host:5672/");
    EXPECT_EQ(chatd::app::redact_url("amqp://user@host/"), "amqp://user@host/");
}

}  // namespace

namespace {

TEST(Config, TrustedProxiesFromFlagAndEnvironment) {
    EXPECT_TRUE(parse({})->trusted_proxies.empty());
    const auto config = parse({"--trusted-proxies", "10.0.0.0/8,127.0.0.1,fd00::/8"});
    ASSERT_TRUE(config);
    EXPECT_EQ(config->trusted_proxies,
              (std::vector<std::string>{"10.0.0.0/8", "127.0.0.1", "fd00::/8"}));
    ScopedEnv env("CHATD_TRUSTED_PROXIES", "192.168.0.0/16");
    EXPECT_EQ(parse({})->trusted_proxies, std::vector<std::string>{"192.168.0.0/16"});
}

TEST(Config, TrustedProxiesMustBeAddressesOrNetworks) {
    EXPECT_THROW(parse({"--trusted-proxies", "10.0.0.0/33"}), std::invalid_argument);
    EXPECT_THROW(parse({"--trusted-proxies", "nginx"}), std::invalid_argument);
    EXPECT_THROW(parse({"--trusted-proxies", "10.0.0.1/8"}), std::invalid_argument);  // host bits
    EXPECT_THROW(parse({"--http-request-timeout", "0"}), std::invalid_argument);
}

TEST(Config, StoreMaxBatchIsBetweenOneAnd65536) {
    EXPECT_EQ(parse({})->store_max_batch, 4096u);
    EXPECT_EQ(parse({"--store-max-batch", "1"})->store_max_batch, 1u);
    EXPECT_EQ(parse({"--store-max-batch", "65536"})->store_max_batch, 65536u);
    EXPECT_THROW(parse({"--store-max-batch", "0"}), std::invalid_argument);
    EXPECT_THROW(parse({"--store-max-batch", "65537"}), std::invalid_argument);
}

TEST(Config, PresenceWindowIsAtMostOneSecond) {
    EXPECT_EQ(parse({})->presence_window_ms, 20u);
    EXPECT_EQ(parse({"--presence-window-ms", "0"})->presence_window_ms, 0u);
    EXPECT_EQ(parse({"--presence-window-ms", "1000"})->presence_window_ms, 1000u);
    EXPECT_THROW(parse({"--presence-window-ms", "1001"}), std::invalid_argument);
}

}  // namespace

TEST(Config, MetricsListenFromFlagEnvironmentAndFile) {
    EXPECT_EQ(parse({})->metrics_listen, "");
    EXPECT_EQ(parse({"--metrics-listen", "10.0.0.5:9100"})->metrics_listen, "10.0.0.5:9100");
    {
        ScopedEnv env("CHATD_METRICS_LISTEN", "127.0.0.1:0");
        EXPECT_EQ(parse({})->metrics_listen, "127.0.0.1:0");
    }
    const auto path = std::filesystem::temp_directory_path() / "chatd_metrics_listen_test.toml";
    std::ofstream(path) << "metrics-listen = \"::1:9100\"\n";
    const auto config = parse({"--config", path.string()});
    std::filesystem::remove(path);
    ASSERT_TRUE(config);
    EXPECT_EQ(config->metrics_listen, "::1:9100");
}

TEST(Config, MetricsListenMustBeAnAddressAndAPort) {
    for (const char* bad : {"nowhere", "localhost:9100", "127.0.0.1:", "127.0.0.1:x", ":9100",
                            "127.0.0.1:65536", "127.0.0.1:9100000"}) {
        EXPECT_THROW(parse({"--metrics-listen", bad}), std::invalid_argument) << bad;
    }
}

namespace {

TEST(Config, ConnectionAdmissionFlagsAndTheirEnvironmentVariables) {
    const auto defaults = parse({});
    ASSERT_TRUE(defaults);
    EXPECT_EQ(defaults->headroom_connections_per_address, 16u);
    EXPECT_EQ(defaults->http_first_request_timeout_s, 5u);
    const auto flags =
        parse({"--headroom-connections-per-address", "0", "--http-first-request-timeout", "2"});
    ASSERT_TRUE(flags);
    EXPECT_EQ(flags->headroom_connections_per_address, 0u);
    EXPECT_EQ(flags->http_first_request_timeout_s, 2u);
    ScopedEnv headroom("CHATD_HEADROOM_CONNECTIONS_PER_ADDRESS", "7");
    ScopedEnv first("CHATD_HTTP_FIRST_REQUEST_TIMEOUT", "9");
    const auto env = parse({});
    ASSERT_TRUE(env);
    EXPECT_EQ(env->headroom_connections_per_address, 7u);
    EXPECT_EQ(env->http_first_request_timeout_s, 9u);
    EXPECT_THROW(parse({"--http-first-request-timeout", "0"}), std::invalid_argument);
}

}  // namespace
