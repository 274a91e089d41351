#include <spdlog/spdlog.h>

#include <exception>
#include <iostream>

#include "app/app.hpp"
#include "app/config.hpp"

#ifndef CHATD_VERSION
#define CHATD_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
    try {
        const auto config = chatd::app::parse_config(argc, argv, CHATD_VERSION);
        if (!config) return 0;
        spdlog::set_level(spdlog::level::from_str(config->log_level));
        spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
        return chatd::app::run(*config, CHATD_VERSION);
    } catch (const std::exception& error) {
        std::cerr << "chatd: " << error.what() << '\n';
        return 2;
    }
}
