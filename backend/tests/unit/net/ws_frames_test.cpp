#include "net/ws_frames.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chatd::net {
namespace {

using Failure = WsFrameReader::Failure;

// A client frame as RFC 6455 section 5.2 lays it out, masked unless `masked` is false.
std::string client_frame(std::uint8_t opcode,
                         std::string_view payload,
                         bool fin = true,
                         bool masked = true,
                         std::uint8_t rsv = 0) {
    std::string frame;
    frame.push_back(static_cast<char>((fin ? 0x80 : 0) | rsv | opcode));
    const std::uint8_t mask_bit = masked ? 0x80 : 0;
    if (payload.size() < 126) {
        frame.push_back(static_cast<char>(mask_bit | payload.size()));
    } else if (payload.size() <= 0xFFFF) {
        frame.push_back(static_cast<char>(mask_bit | 126));
        frame.push_back(static_cast<char>(payload.size() >> 8));
        frame.push_back(static_cast<char>(payload.size() & 0xFF));
    } else {
        frame.push_back(static_cast<char>(mask_bit | 127));
        for (int i = 7; i >= 0; --i)
            frame.push_back(static_cast<char>((payload.size() >> (8 * i)) & 0xFF));
    }
    const std::uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
    if (masked) frame.append(reinterpret_cast<const char*>(mask), 4);
    for (std::size_t i = 0; i < payload.size(); ++i) {
        frame.push_back(static_cast<char>(payload[i] ^ (masked ? mask[i % 4] : 0)));
    }
    return frame;
}

struct Recorder final : WsFrameReader::Events {
    std::vector<std::string> log;
    void on_message(bool text, std::string_view payload) override {
        log.push_back((text ? "text:" : "binary:") + std::string(payload));
    }
    void on_ping(std::string_view payload) override {
        log.push_back("ping:" + std::string(payload));
    }
    void on_pong() override { log.push_back("pong"); }
    void on_close(std::optional<std::uint16_t> code, std::string_view reason) override {
        log.push_back("close:" + (code ? std::to_string(*code) : std::string("none")) + ":" +
                      std::string(reason));
    }
};

// Feeds `bytes` in pieces of `piece` bytes (0: all at once).
Failure feed(WsFrameReader& reader, Recorder& events, std::string bytes, std::size_t piece = 0) {
    auto* data = reinterpret_cast<std::uint8_t*>(bytes.data());
    if (piece == 0) return reader.feed(data, bytes.size(), events);
    Failure failure = Failure::None;
    for (std::size_t at = 0; at < bytes.size(); at += piece) {
        failure = reader.feed(data + at, std::min(piece, bytes.size() - at), events);
    }
    return failure;
}

WsFrameReader::Limits limits(std::size_t max_bytes = 1024, std::uint32_t max_frames = 4) {
    return {max_bytes, max_frames};
}

TEST(WsFrameReader, ReportsMessagesAndControlFramesInOrderWhateverTheReadBoundaries) {
    const std::string big(300, 'x');  // a 16-bit length
    const std::string stream = client_frame(0x1, "hello") + client_frame(0x9, "p") +
                               client_frame(0x1, "frag", false) + client_frame(0xA, "") +
                               client_frame(0x0, "men", false) + client_frame(0x0, "ted") +
                               client_frame(0x2, big) + client_frame(0x1, "");
    const std::vector<std::string> expected = {"text:hello",      "ping:p",        "pong",
                                               "text:fragmented", "binary:" + big, "text:"};
    for (std::size_t piece : {0, 1, 2, 3, 7, 64}) {
        WsFrameReader reader(limits());
        Recorder events;
        EXPECT_EQ(feed(reader, events, stream, piece), Failure::None) << piece;
        EXPECT_EQ(events.log, expected) << "pieces of " << piece;
    }
}

TEST(WsFrameReader, CloseFrameEndsParsing) {
    WsFrameReader reader(limits());
    Recorder events;
    std::string close_body =
        "\x03\xE8"
        "bye";  // 1000
    EXPECT_EQ(feed(reader, events, client_frame(0x8, close_body) + client_frame(0x1, "after")),
              Failure::None);
    EXPECT_TRUE(reader.closed());
    EXPECT_EQ(events.log, std::vector<std::string>{"close:1000:bye"});

    WsFrameReader empty(limits());
    Recorder empty_events;
    EXPECT_EQ(feed(empty, empty_events, client_frame(0x8, "")), Failure::None);
    EXPECT_EQ(empty_events.log, std::vector<std::string>{"close:none:"});
}

TEST(WsFrameReader, MessageSizeLimitIsCheckedAtTheEdgeFromDeclaredLengths) {
    {
        WsFrameReader reader(limits(8));
        Recorder events;
        EXPECT_EQ(feed(reader, events, client_frame(0x1, "12345678")), Failure::None);
        EXPECT_EQ(events.log, std::vector<std::string>{"text:12345678"});
    }
    {
        WsFrameReader reader(limits(8));
        Recorder events;
        // Refused from the header alone: the payload never has to arrive.
        std::string header = client_frame(0x1, "123456789").substr(0, 6);
        EXPECT_EQ(feed(reader, events, header), Failure::MessageTooBig);
        EXPECT_EQ(WsFrameReader::close_code(Failure::MessageTooBig), 1009);
    }
    {
        WsFrameReader reader(limits(8));
        Recorder events;
        EXPECT_EQ(
            feed(reader, events, client_frame(0x1, "12345", false) + client_frame(0x0, "6789")),
            Failure::MessageTooBig);
        EXPECT_TRUE(events.log.empty());
    }
}

TEST(WsFrameReader, FrameCountLimitAtTheEdge) {
    const auto message_of = [](int frames) {
        std::string bytes = client_frame(0x1, "a", frames == 1);
        for (int i = 2; i <= frames; ++i) bytes += client_frame(0x0, "", i == frames);
        return bytes;
    };
    {
        WsFrameReader reader(limits(1024, 4));
        Recorder events;
        EXPECT_EQ(feed(reader, events, message_of(4) + message_of(4)), Failure::None);
        EXPECT_EQ(events.log, (std::vector<std::string>{"text:a", "text:a"}));
    }
    {
        WsFrameReader reader(limits(1024, 4));
        Recorder events;
        EXPECT_EQ(feed(reader, events, message_of(5)), Failure::TooManyFrames);
        EXPECT_TRUE(events.log.empty());
    }
    {
        // Control frames between the fragments do not count.
        WsFrameReader reader(limits(1024, 2));
        Recorder events;
        EXPECT_EQ(feed(reader, events,
                       client_frame(0x1, "a", false) + client_frame(0x9, "") +
                           client_frame(0x9, "") + client_frame(0x0, "b")),
                  Failure::None);
        EXPECT_EQ(events.log, (std::vector<std::string>{"ping:", "ping:", "text:ab"}));
    }
    {
        WsFrameReader reader(limits(1024, 0));  // no limit
        Recorder events;
        EXPECT_EQ(feed(reader, events, message_of(100)), Failure::None);
    }
}

TEST(WsFrameReader, ProtocolViolationsFailWith1002) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"unmasked", client_frame(0x1, "x", true, false)},
        {"reserved bit (compression not negotiated)", client_frame(0x1, "x", true, true, 0x40)},
        {"unknown opcode", client_frame(0x3, "x")},
        {"continuation outside a message", client_frame(0x0, "x")},
        {"new message inside a message", client_frame(0x1, "x", false) + client_frame(0x1, "y")},
        {"fragmented control frame", client_frame(0x9, "x", false)},
        {"control frame over 125 bytes", client_frame(0x9, std::string(126, 'x'))},
        {"close payload of one byte", client_frame(0x8, "\x03")},
        {"close code 1005", client_frame(0x8, std::string("\x03\xED", 2))},
        {"close code 2000", client_frame(0x8, std::string("\x07\xD0", 2))},
        {"16-bit length under 126", std::string("\x81\xFE\x00\x05"
                                                "abcd"
                                                "xxxxx",
                                                13)},
        {"64-bit length under 65536", std::string("\x81\xFF\0\0\0\0\0\0\0\x05"
                                                  "abcd"
                                                  "xxxxx",
                                                  19)},
    };
    for (const auto& [what, bytes] : cases) {
        WsFrameReader reader(limits());
        Recorder events;
        EXPECT_EQ(feed(reader, events, bytes), Failure::ProtocolError) << what;
        // The failure sticks: nothing more is parsed.
        EXPECT_EQ(feed(reader, events, client_frame(0x1, "later")), Failure::ProtocolError) << what;
        EXPECT_TRUE(events.log.empty()) << what;
    }
    EXPECT_EQ(WsFrameReader::close_code(Failure::ProtocolError), 1002);
}

TEST(WsFrameReader, InvalidUtf8InTextOrCloseReasonFailsWith1007) {
    {
        WsFrameReader reader(limits());
        Recorder events;
        EXPECT_EQ(feed(reader, events, client_frame(0x1, "\xff\xfe")), Failure::InvalidUtf8);
        EXPECT_TRUE(events.log.empty());
    }
    {
        // A code point split between fragments is valid.
        WsFrameReader reader(limits());
        Recorder events;
        EXPECT_EQ(
            feed(reader, events, client_frame(0x1, "\xC3", false) + client_frame(0x0, "\xA9")),
            Failure::None);
        EXPECT_EQ(events.log, std::vector<std::string>{"text:\xC3\xA9"});
    }
    {
        WsFrameReader reader(limits());
        Recorder events;
        EXPECT_EQ(feed(reader, events, client_frame(0x2, "\xff")), Failure::None);  // binary
    }
    {
        WsFrameReader reader(limits());
        Recorder events;
        EXPECT_EQ(feed(reader, events, client_frame(0x8, std::string("\x03\xE8\xff", 3))),
                  Failure::InvalidUtf8);
    }
    EXPECT_EQ(WsFrameReader::close_code(Failure::InvalidUtf8), 1007);
}

TEST(WsServerFrames, HeadersUseTheShortestLengthEncoding) {
    for (std::size_t size : {0, 125, 126, 65535, 65536}) {
        std::string out;
        append_server_frame(out, WsOpcode::Text, std::string(size, 'x'));
        const std::size_t header = size < 126 ? 2 : size <= 0xFFFF ? 4 : 10;
        ASSERT_EQ(out.size(), header + size) << size;
        EXPECT_EQ(static_cast<std::uint8_t>(out[0]), 0x81);
        EXPECT_EQ(static_cast<std::uint8_t>(out[1]), size < 126       ? size
                                                     : size <= 0xFFFF ? 126
                                                                      : 127);
    }
    std::string pong;
    append_server_frame(pong, WsOpcode::Pong, "p");
    EXPECT_EQ(pong, std::string("\x8A\x01p", 3));
}

TEST(WsServerFrames, CloseReasonIsCutAtACodePointToFitAControlFrame) {
    EXPECT_EQ(close_payload(1008, "bye"), std::string("\x03\xF0"
                                                      "bye",
                                                      5));
    std::string long_reason(122, 'a');
    long_reason += "\xC3\xA9";  // ends at byte 124, past the 123 a close reason may have
    const std::string payload = close_payload(1000, long_reason);
    EXPECT_EQ(payload.size(), 2 + 122u);
}

}  // namespace
}  // namespace chatd::net

namespace chatd::net {
namespace {

// Cuts `text` into two fragments at every position, each fragment fed in reads of every size:
// an invalid text fails at the read holding its first invalid byte, before any later byte.
TEST(WsFrameReader, Utf8IsValidatedIncrementallyAcrossFragmentsAndReads) {
    struct Case {
        std::string text;
        std::size_t invalid_at;  // the first byte that can never be valid; npos: valid
    };
    const auto npos = std::string::npos;
    const std::vector<Case> cases = {
        {"ab\xC3\xA9"
         "c\xE2\x82\xAC\xF0\x9F\x98\x80z",
         npos},
        {"\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF", npos},  // U+D7FF, U+E000, U+10FFFF
        {"ab\xFF"
         "cd",
         2},
        {"a\xC0\x80", 1},          // overlong NUL: C0 never starts a sequence
        {"a\xE0\x80\x80", 2},      // overlong 3-byte form: fails at its 2nd byte
        {"a\xED\xA0\x80", 2},      // a surrogate
        {"a\xF4\x90\x80\x80", 2},  // past U+10FFFF
        {"a\xC3(b", 2},            // a sequence broken by ASCII
        {"\x80", 0},               // a lone continuation byte
        {"ok\xF0\x9F\x98", 5},     // cut at the message's end: fails at its end (FIN)
    };
    for (const auto& c : cases) {
        for (std::size_t cut = 0; cut <= c.text.size(); ++cut) {
            const std::string first = client_frame(0x1, c.text.substr(0, cut), false);
            const std::string second = client_frame(0x0, c.text.substr(cut), true);
            for (std::size_t piece : {1, 2, 5, 0}) {
                WsFrameReader reader(limits());
                Recorder events;
                // The first fragment alone fails when it holds the invalid byte.
                const Failure after_first = feed(reader, events, first, piece);
                const bool invalid_in_first = c.invalid_at != npos && c.invalid_at < cut;
                EXPECT_EQ(after_first, invalid_in_first ? Failure::InvalidUtf8 : Failure::None)
                    << "case " << testing::PrintToString(c.text) << " cut " << cut << " piece "
                    << piece;
                const Failure after_second = feed(reader, events, second, piece);
                if (c.invalid_at == npos) {
                    EXPECT_EQ(after_second, Failure::None);
                    EXPECT_EQ(events.log, std::vector<std::string>{"text:" + c.text});
                } else {
                    EXPECT_EQ(after_second, Failure::InvalidUtf8);
                    EXPECT_TRUE(events.log.empty());
                }
            }
        }
    }
}

TEST(WsFrameReader, InvalidUtf8FailsInTheReadThatHoldsItNotAtTheEnd) {
    WsFrameReader reader(limits(1 << 20, 0));
    Recorder events;
    // A first fragment with an invalid byte: failed at once, no later fragment needed.
    EXPECT_EQ(feed(reader, events, client_frame(0x1, "{\"x\":\"\xFE", false)),
              Failure::InvalidUtf8);
    // Binary messages are not UTF-8.
    WsFrameReader binary(limits());
    Recorder binary_events;
    EXPECT_EQ(feed(binary, binary_events, client_frame(0x2, "\xFF\xFE")), Failure::None);
    // A message after a valid one starts with a fresh decoder.
    WsFrameReader twice(limits());
    Recorder twice_events;
    EXPECT_EQ(feed(twice, twice_events, client_frame(0x1, "\xC3\xA9") + client_frame(0x1, "a")),
              Failure::None);
    EXPECT_EQ(twice_events.log, (std::vector<std::string>{"text:\xC3\xA9", "text:a"}));
}

TEST(WsWriteQueue, PongsAreCoalescedWhileAWriteIsInProgress) {
    WsWriteQueue queue;
    EXPECT_TRUE(queue.idle());
    queue.append(WsOpcode::Text, "hello");
    EXPECT_EQ(queue.start_write().size(), 7u);
    // A write in progress; a thousand pings arrive: one pong waits, the last one.
    for (int i = 0; i < 1000; ++i)
        queue.queue_pong(std::string(125, static_cast<char>('a' + i % 26)));
    EXPECT_EQ(queue.bytes(), 7u + 127u);
    queue.written(3);
    EXPECT_EQ(queue.unwritten().size(), 4u);
    EXPECT_EQ(queue.bytes(), 4u + 127u);
    queue.written(4);
    EXPECT_FALSE(queue.writing());
    const std::string_view next = queue.start_write();
    std::string expected;
    append_server_frame(expected, WsOpcode::Pong,
                        std::string(125, static_cast<char>('a' + 999 % 26)));
    EXPECT_EQ(next, expected);
    queue.written(next.size());
    EXPECT_TRUE(queue.idle());
    EXPECT_EQ(queue.bytes(), 0u);
}

TEST(WsWriteQueue, ThePongGoesFirstAndClearDropsEverything) {
    WsWriteQueue queue;
    queue.append(WsOpcode::Text, "a");
    queue.queue_pong("p");
    std::string expected;
    append_server_frame(expected, WsOpcode::Pong, "p");
    append_server_frame(expected, WsOpcode::Text, "a");
    EXPECT_EQ(queue.start_write(), expected);
    queue.append(WsOpcode::Close, "");
    EXPECT_EQ(queue.bytes(), expected.size() + 2);
    queue.clear();
    EXPECT_TRUE(queue.idle());
    EXPECT_EQ(queue.bytes(), 0u);
}

}  // namespace
}  // namespace chatd::net
