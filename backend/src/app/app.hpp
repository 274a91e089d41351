#pragma once

#include "app/config.hpp"

namespace chatd::app {

// The composition root: builds every layer from the config, runs the server until a signal,
// then shuts down in reverse order (server, store flush, bus). Returns the exit code.
int run(const Config& config, const std::string& version);

}  // namespace chatd::app
