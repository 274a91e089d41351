// libFuzzer target: the bounded HTTP request read chatd does (net/http_read.hpp: Beast's parser
// with --max-body-bytes and --max-header-bytes, and the read buffer's bound, which is what stops
// an endless chunk-size line, chunk extension or trailer section), on a stream that returns the
// input in pieces of every size. Checked: the read buffer never passes its bound, a parsed body
// never passes the body limit, and every request ends (a result or an error) once the input does.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "net/asio.hpp"
#include "net/http_read.hpp"

namespace {

using namespace chatd::net;

constexpr std::size_t kMaxBody = 2048;
constexpr std::size_t kMaxHeader = 1024;

// A SyncReadStream over the fuzz input, `piece` bytes a read at most; end of stream after it.
class InputStream {
  public:
    using executor_type = asio::system_executor;
    InputStream(std::string_view input, std::size_t piece) : input_(input), piece_(piece) {}
    executor_type get_executor() { return {}; }

    template <class Buffers>
    std::size_t read_some(const Buffers& buffers, beast::error_code& ec) {
        if (input_.empty()) {
            ec = asio::error::eof;
            return 0;
        }
        const std::size_t n = asio::buffer_copy(
            buffers, asio::buffer(input_.data(), std::min(piece_, input_.size())));
        input_.remove_prefix(n);
        ec = {};
        return n;
    }
    template <class Buffers>
    std::size_t read_some(const Buffers& buffers) {
        beast::error_code ec;
        const auto n = read_some(buffers, ec);
        if (ec) throw beast::system_error(ec);
        return n;
    }

  private:
    std::string_view input_;
    std::size_t piece_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t piece = std::size_t{data[0]} * 16 + 1;  // 1-4081 bytes a read
    InputStream stream(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), piece);
    const std::size_t bound = http_read_buffer_bytes(kMaxHeader);
    beast::flat_buffer buffer(bound);
    // Requests back to back (keep-alive), as long as they parse.
    for (int request = 0; request < 64; ++request) {
        http::request_parser<http::string_body> parser;
        limit_http_parser(parser, kMaxBody, kMaxHeader);
        beast::error_code ec;
        http::read(stream, buffer, parser, ec);
        if (buffer.size() > bound || buffer.max_size() != bound) std::abort();
        if (ec) break;  // buffer_overflow, body_limit, header_limit, a parse error, the end
        if (!parser.is_done() || parser.get().body().size() > kMaxBody) std::abort();
        if (!parser.get().keep_alive()) break;
    }
    return 0;
}
