#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "net/asio.hpp"

// How chatd reads one HTTP request: the parser's limits and the bound of the read buffer, shared
// by the server (net/server.cpp) and the fuzz target that drives the same read without a socket.
namespace chatd::net {

// The bound of an HTTP connection's read buffer: what the parser has not consumed yet (the
// header, a chunk-size line with its extensions, the trailer section) never grows past it.
// Beast's own limits cover the header (--max-header-bytes) and the body (--max-body-bytes, every
// chunk counted) but neither the chunk lines nor the trailer; past this bound the read fails with
// http::error::buffer_overflow. --max-header-bytes, at least 16 KiB.
inline std::size_t http_read_buffer_bytes(std::size_t max_header_bytes) {
    return std::max<std::size_t>(max_header_bytes + 1, 16 * 1024);
}

template <class Parser>
void limit_http_parser(Parser& parser, std::size_t max_body_bytes, std::size_t max_header_bytes) {
    parser.body_limit(max_body_bytes);
    parser.header_limit(static_cast<std::uint32_t>(max_header_bytes));
}

}  // namespace chatd::net
