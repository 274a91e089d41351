// libFuzzer target: the ping and control-frame path of a WebSocket connection without a socket:
// chatd's frame reader (net/ws_frames) feeding the per-connection write queue (WsWriteQueue) as
// the session does (a pong per ping, coalesced; data frames appended; the peer taking some bytes
// or none between reads). Checked: however many pings arrive, at most one pong waits beside the
// frames and the write in progress, and a write moves the queued bytes by what it took; the reader
// gives the same outcome however the bytes are split; a text message reported is valid UTF-8.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/validation.hpp"
#include "net/ws_frames.hpp"

namespace {

using namespace chatd::net;

constexpr std::size_t kMaxMessageBytes = 4096;
constexpr std::size_t kMaxPong = 125 + 2;

struct Session final : WsFrameReader::Events {
    void on_message(bool text, std::string_view payload) override {
        if (payload.size() > kMaxMessageBytes) std::abort();
        if (text && !chatd::chat::valid_utf8(payload)) std::abort();
        log.push_back('m');
        // An answer, as the service would queue one.
        queue.append(WsOpcode::Text, payload.substr(0, 16));
    }
    void on_ping(std::string_view payload) override {
        if (payload.size() > 125) std::abort();
        log.push_back('p');
        queue.queue_pong(payload);
    }
    void on_pong() override { log.push_back('o'); }
    void on_close(std::optional<std::uint16_t>, std::string_view reason) override {
        if (!chatd::chat::valid_utf8(reason)) std::abort();
        log.push_back('c');
    }

    WsWriteQueue queue;
    std::string log;
};

WsFrameReader::Failure run(const std::vector<std::uint8_t>& input,
                           std::size_t piece,
                           std::uint8_t take,
                           std::string& log) {
    std::vector<std::uint8_t> bytes = input;
    WsFrameReader reader({kMaxMessageBytes, 8});
    Session session;
    WsFrameReader::Failure failure = WsFrameReader::Failure::None;
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
        failure = reader.feed(bytes.data() + at, std::min(piece, bytes.size() - at), session);
        // The peer takes `take` bytes between reads (0: it never reads).
        if (!session.queue.writing() && !session.queue.idle()) session.queue.start_write();
        // However many pings came, one pong at most waits beside the frames and the write.
        const std::size_t pong = session.queue.bytes() - session.queue.waiting_bytes() -
                                 session.queue.unwritten().size();
        if (pong > kMaxPong) std::abort();
        const std::size_t before = session.queue.bytes();
        const std::size_t n = std::min<std::size_t>(take, session.queue.unwritten().size());
        session.queue.written(n);
        if (session.queue.bytes() != before - n) std::abort();
    }
    log = session.log;
    return failure;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t piece = std::size_t{data[0]} + 1;
    const std::uint8_t take = data[1];
    const std::vector<std::uint8_t> bytes(data + 2, data + size);
    std::string pieces_log;
    std::string whole_log;
    const auto in_pieces = run(bytes, piece, take, pieces_log);
    const auto whole = run(bytes, bytes.size() + 1, take, whole_log);
    if (in_pieces != whole || pieces_log != whole_log) std::abort();
    return 0;
}
