#pragma once

#include <chrono>
#include <cstdint>

namespace chatd::net {

// The state of one WebSocket connection, without I/O: the session (net/websocket_session.cpp)
// reports what happened, asks what is allowed, and does the I/O. Four orthogonal parts:
// - the phase: the close handshake (RFC 6455 section 7) and the connection's end, in order;
// - the writer: held until the 101 answer is out, then idle or with one write in flight;
// - the reader: reading, or paused while a pong waits behind the write in flight;
// - the keep-alive: a ping unanswered, and whether anything was written since the timer's tick.
class WsSessionState {
  public:
    using Clock = std::chrono::steady_clock;

    // Only moves forward (Dropped from any phase).
    enum class Phase : std::uint8_t {
        Open,              // frames flow both ways
        CloseAfterBatch,   // close(): our close frame follows the frames already taken
        CloseAfterOutbox,  // close_after_queued(): it follows all the sealed outbox holds
        CloseSent,         // our close frame is queued, nothing is written after it
        Closing,           // and the client's came (or its bytes broke the protocol)
        ShutDown,          // our sending side is shut down; reads are discarded
        Dropped,           // the socket is closed
    };
    enum class Writer : std::uint8_t {
        Held,     // before the upgrade's answer: frames wait in the outbox
        Idle,     // nothing in flight; the next bytes leave by a non-blocking send
        Writing,  // one asynchronous write in flight (what the socket did not take)
    };
    enum class Reader : std::uint8_t {
        Reading,
        // A pong waits behind a write the client does not take: reading more pings would only
        // replace it. Resumes when the write completes; if it never does, the tick drops.
        Paused,
    };
    enum class KeepAlive : std::uint8_t {
        Quiet,   // no ping unanswered
        Pinged,  // a ping is out and nothing was received since
    };
    // What the timer's tick asks of the session.
    enum class Tick : std::uint8_t {
        None,              // the connection was dropped already
        HandshakeTimeout,  // the close handshake took too long: drop
        WriteStalled,      // the write in flight moved no byte for a ping interval: drop
        Rearm,             // bytes moved in this interval: no ping is needed
        PingTimeout,       // nothing came since the last ping: drop
        Ping,              // idle for an interval: ping, then rearm
    };

    explicit WsSessionState(Clock::duration ping_interval) : ping_interval_(ping_interval) {}

    Phase phase() const noexcept { return phase_; }
    Writer writer() const noexcept { return writer_; }
    Reader reader() const noexcept { return reader_; }
    KeepAlive keep_alive() const noexcept { return keep_alive_; }
    bool dropped() const noexcept { return phase_ == Phase::Dropped; }

    // The client's frames are parsed and its messages handled: the connection is registered with
    // the service. It leaves the service when this turns false (close_received() or drop()).
    bool registered() const noexcept { return phase_ < Phase::Closing; }
    // Messages are handled and pings answered until our close frame is queued.
    bool takes_messages() const noexcept { return phase_ < Phase::CloseSent; }
    // The outbox's frames may be written: after the upgrade, before our close frame.
    bool writes_messages() const noexcept {
        return writer_ != Writer::Held && phase_ < Phase::CloseSent;
    }
    // The service asked for a close that is not yet queued.
    bool close_requested() const noexcept {
        return phase_ == Phase::CloseAfterBatch || phase_ == Phase::CloseAfterOutbox;
    }
    // A write may start: none in flight and the socket open.
    bool may_write() const noexcept {
        return writer_ != Writer::Writing && phase_ != Phase::Dropped;
    }

    // The upgrade's answer is out: the writer may run.
    void upgraded() noexcept;
    // The service's close() or close_after_queued(). False when a close is already under way.
    bool request_close(bool after_queued) noexcept;
    // Our close frame is to be queued. False when it already was, or the connection dropped.
    bool queue_close_frame() noexcept;
    // The client's close frame came, or its bytes broke the protocol (then no close frame of its
    // own is awaited). Only while registered(). Returns whether our close frame is still to be
    // queued (the reply); the connection leaves the service.
    bool close_received() noexcept;
    // Both close frames are through and nothing is left to write (`queue_idle`): our sending
    // side is to be shut down. True once.
    bool shut_down(bool queue_idle) noexcept;
    // The socket is to be closed. False when it already was.
    bool drop() noexcept;

    // Frames were queued for the writer.
    void wrote() noexcept { wrote_since_tick_ = true; }
    // An asynchronous write starts (or moves on after writing some bytes) at `now`.
    void write_started(Clock::time_point now) noexcept;
    // The asynchronous write in flight completed.
    void write_ended() noexcept;

    // After a read: pauses reading when a pong is due behind the write in flight. Returns
    // whether reading is paused.
    bool pause_reading(bool pong_due) noexcept;
    // After a write completed: whether reading was paused and resumes now.
    bool resume_reading() noexcept;
    // Bytes came from the client: a ping outstanding is answered.
    void received() noexcept { keep_alive_ = KeepAlive::Quiet; }

    // The timer fired at `now` (armed for a ping interval, or for the close handshake's bound).
    Tick tick(Clock::time_point now) noexcept;

  private:
    const Clock::duration ping_interval_;
    Phase phase_ = Phase::Open;
    Writer writer_ = Writer::Held;
    Reader reader_ = Reader::Reading;
    KeepAlive keep_alive_ = KeepAlive::Quiet;
    bool wrote_since_tick_ = false;
    Clock::time_point write_progress_at_{};  // when the write in flight last moved
};

}  // namespace chatd::net
