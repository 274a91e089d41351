// libFuzzer target: chatd's WebSocket frame parser (net/ws_frames), fed in pieces of every size,
// with the invariants the session relies on checked on every event.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <vector>

#include "chat/validation.hpp"
#include "net/ws_frames.hpp"

namespace {

constexpr std::size_t kMaxMessageBytes = 4096;

struct Checker final : chatd::net::WsFrameReader::Events {
    void on_message(bool text, std::string_view payload) override {
        if (payload.size() > kMaxMessageBytes) std::abort();
        if (text && !chatd::chat::valid_utf8(payload)) std::abort();
    }
    void on_ping(std::string_view payload) override {
        if (payload.size() > 125) std::abort();
    }
    void on_pong() override {}
    void on_close(std::optional<std::uint16_t>, std::string_view reason) override {
        if (closed || reason.size() > 123 || !chatd::chat::valid_utf8(reason)) std::abort();
        closed = true;
    }
    bool closed = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    // The first byte picks the read size (1-256): the parser must give the same answer however
    // the bytes are split.
    const std::size_t piece = std::size_t{data[0]} + 1;
    std::vector<std::uint8_t> bytes(data + 1, data + size);
    chatd::net::WsFrameReader reader({kMaxMessageBytes, 8});
    Checker checker;
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
        reader.feed(bytes.data() + at, std::min(piece, bytes.size() - at), checker);
    }
    return 0;
}
