// libFuzzer target: command-line parsing (app::parse_config). The input is split on newlines
// into arguments. --config (a file path) and --help/--version (they print) are left out.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "app/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> args{"chatd"};
    std::size_t start = 0;
    while (start <= input.size() && args.size() < 64) {
        const auto end = input.find('\n', start);
        args.emplace_back(input.substr(start, end == std::string_view::npos ? end : end - start));
        if (end == std::string_view::npos) break;
        start = end + 1;
    }
    std::vector<const char*> argv;
    for (const auto& arg : args) {
        // Reads a file, or prints and returns: not what this target is about.
        const std::string_view a(arg);
        const bool short_flags = a.size() > 1 && a[0] == '-' && a[1] != '-';
        if (a.starts_with("--conf") || a.starts_with("--help") || a.starts_with("--version") ||
            (short_flags && a.find('h') != std::string_view::npos)) {
            return 0;
        }
        argv.push_back(arg.c_str());
    }
    try {
        if (auto config =
                chatd::app::parse_config(static_cast<int>(argv.size()), argv.data(), "0")) {
            (void)chatd::app::describe(*config);
        }
    } catch (const std::invalid_argument&) {
    }
    (void)chatd::app::redact_url(std::string(input));
    return 0;
}
