#pragma once

#include <functional>
#include <string>
#include <vector>

#include "chat/service.hpp"
#include "net/asio.hpp"
#include "net/connection_limits.hpp"
#include "net/server.hpp"

namespace chatd::net {

struct WebSocketContext {
    chat::ChatService& service;
    metrics::Metrics& metrics;
    const ServerOptions& options;
};

// Starts one upgraded connection and returns at once: the session, detached from the HTTP
// session that upgraded it, owns the stream, the upgrade request and the connection's `slot`
// (released when the connection ends), so no frame of the HTTP session stays allocated for the
// connection's life. It accepts the upgrade, registers with the service, reads frames, and
// writes the outbox through a single writer, on the stream's strand. `rooms` are the native
// user's rooms, `read_state` their read state and `notify` their notification levels that are not
// the default (the welcome frame's). `shard` is the I/O shard
// (IoShards) whose context runs the stream.
void start_websocket(beast::tcp_stream stream,
                     Request request,
                     chat::Identity identity,
                     chat::Protocol protocol,
                     std::vector<std::string> rooms,
                     std::vector<model::ReadState> read_state,
                     std::vector<model::RoomNotifyLevel> notify,
                     ConnectionLimits::Slot slot,
                     WebSocketContext context,
                     std::size_t shard);

}  // namespace chatd::net
