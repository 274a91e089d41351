#include "net/ws_session_state.hpp"

namespace chatd::net {

void WsSessionState::upgraded() noexcept {
    if (writer_ == Writer::Held) writer_ = Writer::Idle;
}

bool WsSessionState::request_close(bool after_queued) noexcept {
    if (phase_ != Phase::Open) return false;
    phase_ = after_queued ? Phase::CloseAfterOutbox : Phase::CloseAfterBatch;
    return true;
}

bool WsSessionState::queue_close_frame() noexcept {
    if (phase_ >= Phase::CloseSent) return false;
    phase_ = Phase::CloseSent;
    return true;
}

bool WsSessionState::close_received() noexcept {
    if (!registered()) return false;
    const bool reply_due = phase_ != Phase::CloseSent;
    phase_ = Phase::Closing;
    return reply_due;
}

bool WsSessionState::shut_down(bool queue_idle) noexcept {
    if (phase_ != Phase::Closing || writer_ == Writer::Writing || !queue_idle) return false;
    phase_ = Phase::ShutDown;
    return true;
}

bool WsSessionState::drop() noexcept {
    if (phase_ == Phase::Dropped) return false;
    phase_ = Phase::Dropped;
    return true;
}

void WsSessionState::write_started(Clock::time_point now) noexcept {
    writer_ = Writer::Writing;
    write_progress_at_ = now;
}

void WsSessionState::write_ended() noexcept {
    if (writer_ == Writer::Writing) writer_ = Writer::Idle;
}

bool WsSessionState::pause_reading(bool pong_due) noexcept {
    if (!pong_due || writer_ != Writer::Writing) return false;
    reader_ = Reader::Paused;
    return true;
}

bool WsSessionState::resume_reading() noexcept {
    if (reader_ != Reader::Paused || phase_ == Phase::Dropped) return false;
    reader_ = Reader::Reading;
    return true;
}

WsSessionState::Tick WsSessionState::tick(Clock::time_point now) noexcept {
    if (phase_ == Phase::Dropped) return Tick::None;
    if (phase_ >= Phase::CloseSent) return Tick::HandshakeTimeout;
    // A peer that takes nothing written for a whole interval (it stopped reading, perhaps while
    // flooding pings) is dropped: its bytes would otherwise wait for it forever.
    if (writer_ == Writer::Writing && now - write_progress_at_ >= ping_interval_) {
        return Tick::WriteStalled;
    }
    if (wrote_since_tick_ || writer_ == Writer::Writing) {
        wrote_since_tick_ = false;
        return Tick::Rearm;
    }
    if (keep_alive_ == KeepAlive::Pinged) return Tick::PingTimeout;
    keep_alive_ = KeepAlive::Pinged;
    return Tick::Ping;
}

}  // namespace chatd::net
