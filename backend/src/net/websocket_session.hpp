#pragma once

#include <functional>
#include <string>
#include <vector>

#include "chat/service.hpp"
#include "net/asio.hpp"
#include "net/server.hpp"

namespace chatd::net {

struct WebSocketContext {
    chat::ChatService& service;
    metrics::Metrics& metrics;
    const ServerOptions& options;
};

// Runs one upgraded connection until it closes: accepts the upgrade, registers with the
// service, reads frames, and writes the outbox through a single writer.
// Runs on the stream's strand. `rooms` are the native user's rooms.
asio::awaitable<void> run_websocket(beast::tcp_stream stream,
                                    Request request,
                                    chat::Identity identity,
                                    chat::Protocol protocol,
                                    std::vector<std::string> rooms,
                                    WebSocketContext context);

}  // namespace chatd::net
