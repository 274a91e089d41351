#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// chatd's own WebSocket framing (RFC 6455 section 5), server side, after Beast has done the
// opening handshake. Why not Beast's websocket::stream for the frames
// (docs/design/decisions.md): its state embeds a 1,536-byte read buffer and an idle connection must
// keep one of its reads pending, about 4 KiB per connection together, where the brief allows
// 4 KiB for everything. With these two pieces an idle connection holds no read buffer and no
// read operation, only a readiness wait; the bytes are read into a buffer of the I/O thread.
namespace chatd::net {

enum class WsOpcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

// Appends one whole unmasked server frame (FIN set) to `out`.
void append_server_frame(std::string& out, WsOpcode opcode, std::string_view payload);
// A close frame's payload: the code (big-endian) and the reason, cut to fit a control frame.
std::string close_payload(std::uint16_t code, std::string_view reason);

// Incremental parser of the frames a client sends. Feed it the bytes as they arrive, in any
// pieces; it unmasks them in place and reports each whole message and control frame. Between
// messages it holds no heap memory (a partial message is kept only until it is whole).
//
// Enforced, failing the connection (the caller then sends a close frame with
// close_code(failure), except for TooManyFrames, which drops the connection, as an endless
// message of empty frames is an attack rather than a mistake): every frame masked; reserved bits
// zero (no extension is negotiated); known opcodes; control frames unfragmented and at most 125
// bytes; continuation frames only inside a fragmented message and data frames only outside
// one; lengths in their shortest encoding; a message at most `max_message_bytes` (counted
// from the declared lengths, before the payload arrives); at most `max_message_frames` frames
// per message (0: no limit); text messages and close reasons valid UTF-8; close codes valid.
// A text message is validated as its bytes arrive (the decoder state is kept across frames and
// reads): it fails at the first byte that can never be part of valid UTF-8, not after its last
// fragment; a sequence cut by a fragment's or a read's end is completed by the next bytes.
class WsFrameReader {
  public:
    struct Limits {
        std::size_t max_message_bytes = 64 * 1024;
        std::uint32_t max_message_frames = 1024;
    };

    enum class Failure : std::uint8_t {
        None,
        ProtocolError,  // close 1002
        MessageTooBig,  // close 1009
        InvalidUtf8,    // close 1007
        TooManyFrames,  // dropped without a close frame
    };

    // Receives what feed() finds. Payload views are valid during the call only.
    class Events {
      public:
        virtual void on_message(bool text, std::string_view payload) = 0;
        virtual void on_ping(std::string_view payload) = 0;
        virtual void on_pong() = 0;
        // Nothing is parsed after a close frame.
        virtual void on_close(std::optional<std::uint16_t> code, std::string_view reason) = 0;

      protected:
        ~Events() = default;
    };

    explicit WsFrameReader(Limits limits) : limits_(limits) {}

    // Parses `size` bytes at `data` (unmasked in place). Stops at the first failure (returned
    // now and by every later call) or after a close frame (later bytes are ignored).
    Failure feed(std::uint8_t* data, std::size_t size, Events& events);

    bool closed() const noexcept { return closed_; }
    static std::uint16_t close_code(Failure failure) noexcept;

  private:
    // The first two header bytes are in header_: checks what they decide, before the rest of
    // the header arrives.
    Failure check_frame_start();
    // The frame header is complete in header_: checks its length and starts its payload.
    Failure start_frame();
    // The payload of the current frame is complete (in `payload`, or accumulated).
    Failure end_frame(std::string_view payload, Events& events);
    bool is_control() const noexcept { return (frame_opcode_ & 0x8) != 0; }
    // Feeds a text message's bytes to the UTF-8 decoder; false at an invalid byte.
    bool utf8_step(std::string_view bytes) noexcept;

    const Limits limits_;
    std::string message_;  // the data message in progress, when it spans reads or frames
    std::string control_;  // a control frame's payload that spans reads
    std::uint64_t payload_left_ = 0;
    std::uint32_t message_frames_ = 0;  // frames of the data message in progress
    std::uint8_t header_[14] = {};
    std::uint8_t header_size_ = 0;
    std::uint8_t mask_[4] = {};
    std::uint8_t mask_at_ = 0;
    std::uint8_t frame_opcode_ = 0;
    std::uint8_t message_opcode_ = 0;  // Text or Binary while a message is in progress, else 0
    // The UTF-8 decoder of the text message in progress: continuation bytes still needed and
    // the range the next one must fall in (RFC 3629 section 4).
    std::uint8_t utf8_need_ = 0;
    std::uint8_t utf8_low_ = 0x80;
    std::uint8_t utf8_high_ = 0xBF;
    bool frame_fin_ = false;
    bool in_payload_ = false;
    bool closed_ = false;
    Failure failure_ = Failure::None;
};

// The bytes queued for one connection beside its outbox: whole frames waiting for the next
// socket write, the bytes of the write in flight, and at most one pong. Pongs are coalesced: a
// ping that arrives while a pong is still waiting replaces it (RFC 6455 section 5.5.3 allows
// answering only the most recent ping), so a ping flood from a client that does not read queues
// one pong, not one per ping. No socket: the session writes unwritten() and reports written().
class WsWriteQueue {
  public:
    // Appends one whole server frame to the frames waiting.
    void append(WsOpcode opcode, std::string_view payload) {
        append_server_frame(pending_, opcode, payload);
    }
    // Queues a pong for `payload` (at most 125 bytes), replacing one not yet in a write.
    void queue_pong(std::string_view payload) {
        pong_.assign(payload);
        pong_due_ = true;
    }
    // Every byte queued: waiting, the pong, and the unwritten part of the write in flight.
    std::size_t bytes() const noexcept {
        return pending_.size() + (pong_due_ ? pong_.size() + 2 : 0) + (writing_.size() - written_);
    }
    // Bytes waiting for the next write (what the writer bounds beside the write in flight).
    std::size_t waiting_bytes() const noexcept { return pending_.size(); }
    bool writing() const noexcept { return written_ < writing_.size(); }
    bool idle() const noexcept { return !writing() && pending_.empty() && !pong_due_; }
    bool pong_due() const noexcept { return pong_due_; }

    // Starts a write of everything waiting (the pong first) and returns its bytes; only when no
    // write is in progress. Empty when nothing waits.
    std::string_view start_write();
    // What the write in progress has still to write.
    std::string_view unwritten() const noexcept {
        return std::string_view(writing_).substr(written_);
    }
    // `n` more bytes of the write in progress left; at its end its buffer is released.
    void written(std::size_t n) noexcept;
    // Drops everything and releases the buffers.
    void clear() noexcept;

  private:
    std::string pending_;  // whole frames waiting for the next write
    std::string writing_;  // the write in progress
    std::size_t written_ = 0;
    std::string pong_;  // the payload of the pong due
    bool pong_due_ = false;
};

}  // namespace chatd::net
