#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "net/asio.hpp"

namespace chatd::net {

// The layer between websocket::stream and the TCP stream that turns many small writes into
// few socket writes (DESIGN.md §4: one sendmsg per frame per recipient was 58% of the CPU).
//
// async_write_some copies the bytes into a pending buffer and completes at once (posted, never
// inline). Pending bytes leave by a non-blocking send when the socket takes them all, else by
// one asynchronous socket write of everything pending, at most one in flight, and the bytes
// written meanwhile go out together in the next one. Every byte Beast writes (the 101 answer,
// frames, pongs, close replies) passes through here in call order, and Beast writes each frame
// under its own write lock, so frames cannot interleave on the wire.
//
// Bounds: at most `max_pending_bytes` wait beside the write in flight; a write past the bound
// takes what fits and waits for the write in flight to finish (so a reader that stops reading
// stops the writer, and the outbox bound then cuts it). Both buffers are released whenever
// nothing is left to write (memory per idle connection).
//
// cork() holds the bytes back until uncork() (or until the bound is reached), so the writer's
// whole batch of frames leaves in one socket write.
//
// Reads pass through with one check: the frame headers of the incoming bytes are followed (no
// payload is looked at), and a message fragmented into more than `max_message_frames` frames
// fails the read (message_frame_limit_hit() tells this error from others). Beast skips empty
// continuation frames inside its read, so without this a client could keep one read busy forever
// with an endless message of empty frames, unseen by the session.
//
// All members run on the stream's strand. The state is shared with the socket write in flight,
// which may end after this object is gone (the destructor closes the socket to end it).
class CoalescingStream {
  public:
    using next_layer_type = beast::tcp_stream;
    using executor_type = next_layer_type::executor_type;

    static constexpr std::size_t kDefaultMaxPendingBytes = 64 * 1024;

    explicit CoalescingStream(next_layer_type&& next,
                              std::size_t max_pending_bytes = kDefaultMaxPendingBytes)
        : state_(std::make_shared<State>(std::move(next),
                                         std::max<std::size_t>(1, max_pending_bytes))) {}

    CoalescingStream(CoalescingStream&&) noexcept = default;
    CoalescingStream& operator=(CoalescingStream&&) = delete;
    CoalescingStream(const CoalescingStream&) = delete;
    CoalescingStream& operator=(const CoalescingStream&) = delete;

    ~CoalescingStream() {
        if (!state_) return;
        // A write in flight holds the state; closing the socket makes it end now.
        beast::error_code ignored;
        state_->next.socket().close(ignored);
    }

    executor_type get_executor() noexcept { return state_->next.get_executor(); }
    next_layer_type& next_layer() noexcept { return state_->next; }
    const next_layer_type& next_layer() const noexcept { return state_->next; }

    // Bytes accepted and not yet handed to the socket.
    std::size_t pending_bytes() const noexcept { return state_->pending.size(); }
    // Heap bytes held by the buffers (0 when idle: they are released after each flush).
    std::size_t buffer_capacity() const noexcept {
        return heap_capacity(state_->pending) + heap_capacity(state_->flushing);
    }

    void cork() noexcept { state_->corked = true; }

    // 0: no limit. Frames of one message: its first frame and its continuation frames; control
    // frames in between do not count. Only frames may be read from the moment it is set on (so
    // after an HTTP handshake read through this stream; chatd accepts with the request already
    // parsed, so it sets it before async_accept).
    void set_max_message_frames(std::uint32_t max_frames) noexcept {
        state_->incoming.max_message_frames = max_frames;
    }
    // True once a read failed at the limit; every later read fails too.
    bool message_frame_limit_hit() const noexcept { return state_->incoming_failed; }

    // The writer's fast path: appends one whole unmasked server text frame (header + payload)
    // synchronously, without a Beast operation, a post and a coroutine resumption per frame.
    // Only between whole frames (never inside a Beast write that was partly accepted) and only
    // while it fits under the bound; returns false otherwise, and the caller writes the frame
    // through Beast, which waits for room. The caller must not use it once the WebSocket is
    // closing (no data frame after a close frame).
    bool try_append_text_frame(std::string_view payload) {
        State& s = *state_;
        if (s.error || s.split_write) return false;
        unsigned char header[10];
        std::size_t header_size = 2;
        header[0] = 0x81;  // FIN + text
        if (payload.size() < 126) {
            header[1] = static_cast<unsigned char>(payload.size());
        } else if (payload.size() <= 0xFFFF) {
            header[1] = 126;
            header[2] = static_cast<unsigned char>(payload.size() >> 8);
            header[3] = static_cast<unsigned char>(payload.size());
            header_size = 4;
        } else {
            header[1] = 127;
            const auto size = static_cast<std::uint64_t>(payload.size());
            for (int i = 0; i < 8; ++i) {
                header[2 + i] = static_cast<unsigned char>(size >> (8 * (7 - i)));
            }
            header_size = 10;
        }
        if (s.pending.size() + header_size + payload.size() > s.max_pending_bytes) return false;
        s.pending.append(reinterpret_cast<const char*>(header), header_size);
        s.pending.append(payload);
        if (!s.corked) State::start_flush(state_);
        return true;
    }
    void uncork() {
        state_->corked = false;
        State::start_flush(state_);
    }

    template <class MutableBufferSequence, class ReadToken>
    auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
        return asio::async_compose<ReadToken, void(beast::error_code, std::size_t)>(
            ReadSomeOp<MutableBufferSequence>{state_, buffers}, token, state_->next);
    }

    template <class ConstBufferSequence, class WriteToken>
    auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
        return asio::async_compose<WriteToken, void(beast::error_code, std::size_t)>(
            WriteSomeOp<ConstBufferSequence>{state_, buffers}, token, state_->next);
    }

    // Found by ADL from websocket::stream's close: everything pending leaves before the TCP
    // teardown (FIN), in order.
    template <class TeardownHandler>
    friend void async_teardown(beast::role_type role,
                               CoalescingStream& stream,
                               TeardownHandler&& handler) {
        asio::async_compose<TeardownHandler, void(beast::error_code)>(
            TeardownOp{stream.state_, role}, handler, stream.state_->next);
    }

    friend void teardown(beast::role_type role, CoalescingStream& stream, beast::error_code& ec) {
        auto& state = *stream.state_;
        // Synchronous use only (never with a write in flight): write what is pending, then
        // tear down the TCP stream.
        if (!state.flush_in_flight && !state.pending.empty() && !state.error) {
            asio::write(state.next.socket(), asio::buffer(state.pending), ec);
            state.release_buffers();
            if (ec) return;
        }
        using beast::websocket::teardown;
        teardown(role, state.next.socket(), ec);
    }

  private:
    static beast::error_code too_many_fragments_error() {
        return make_error_code(boost::system::errc::message_size);
    }

    static std::size_t heap_capacity(const std::string& s) noexcept {
        return s.capacity() > std::string().capacity() ? s.capacity() : 0;
    }

    // Follows the frame headers of the bytes read (RFC 6455 section 5.2), skipping payloads.
    struct FrameCounter {
        std::uint32_t max_message_frames = 0;  // 0: no limit
        std::uint32_t message_frames = 0;      // frames of the data message in progress
        std::uint64_t payload_left = 0;        // payload bytes of the current frame to skip
        std::uint8_t header[14] = {};          // the current frame's header, as far as read
        std::uint8_t header_size = 0;

        // False when the bytes exceed the limit.
        bool scan(const std::uint8_t* data, std::size_t size) {
            while (size > 0) {
                if (payload_left > 0) {
                    const auto skip = static_cast<std::size_t>(
                        std::min<std::uint64_t>(payload_left, static_cast<std::uint64_t>(size)));
                    payload_left -= skip;
                    data += skip;
                    size -= skip;
                    continue;
                }
                if (header_size == 0 && !count_frame(data[0])) return false;
                header[header_size++] = *data++;
                --size;
                if (header_size < 2) continue;
                const std::uint8_t length7 = header[1] & 0x7f;
                const std::size_t length_bytes = length7 == 126 ? 2 : length7 == 127 ? 8 : 0;
                const std::size_t full = 2 + length_bytes + ((header[1] & 0x80) ? 4 : 0);
                if (header_size < full) continue;
                std::uint64_t length = length7;
                if (length_bytes > 0) {
                    length = 0;
                    for (std::size_t i = 0; i < length_bytes; ++i)
                        length = (length << 8) | header[2 + i];
                }
                payload_left = length;
                header_size = 0;
            }
            return true;
        }

        // On a frame's first byte (FIN and opcode).
        bool count_frame(std::uint8_t first) {
            const std::uint8_t opcode = first & 0x0f;
            const bool fin = (first & 0x80) != 0;
            if (opcode >= 0x8) return true;  // control frames may come between fragments
            message_frames = opcode == 0x0 ? message_frames + 1 : 1;
            const bool within = max_message_frames == 0 || message_frames <= max_message_frames;
            if (fin) message_frames = 0;
            return within;
        }
    };

    struct State {
        State(next_layer_type&& stream, std::size_t max_pending)
            : next(std::move(stream)), max_pending_bytes(max_pending) {}

        next_layer_type next;
        const std::size_t max_pending_bytes;
        std::string pending;   // accepted, waiting for the next socket write
        std::string flushing;  // the bytes of the socket write in flight
        bool flush_in_flight = false;
        bool corked = false;
        bool split_write = false;  // the pending bytes end part-way through a Beast write
        beast::error_code error;   // the first socket write error: later writes fail with it
        // The one operation (a write past the bound, or the teardown) waiting for the write in
        // flight to finish. Beast never has two writes outstanding on its next layer.
        asio::any_completion_handler<void()> waiter;
        FrameCounter incoming;
        bool incoming_failed = false;  // the limit was exceeded: every later read fails

        void release_buffers() {
            std::string().swap(pending);
            std::string().swap(flushing);
        }

        // Writes what is pending: a non-blocking send first, which takes all of it whenever
        // the socket buffer has room (the usual case), so most flushes need no asynchronous
        // operation and no posted completion; what it leaves goes out asynchronously.
        // Afterwards either a write is in flight or nothing is pending (or the stream failed).
        static void start_flush(const std::shared_ptr<State>& self) {
            State& s = *self;
            if (s.flush_in_flight || s.pending.empty() || s.error) return;
            const ssize_t sent = ::send(s.next.socket().native_handle(), s.pending.data(),
                                        s.pending.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
            if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                s.error = beast::error_code(errno, boost::system::system_category());
                s.release_buffers();
                return;
            }
            if (sent > 0) {
                if (static_cast<std::size_t>(sent) == s.pending.size()) {
                    s.release_buffers();
                    return;
                }
                s.pending.erase(0, static_cast<std::size_t>(sent));
            }
            s.flushing.swap(s.pending);
            s.flush_in_flight = true;
            asio::async_write(s.next, asio::buffer(s.flushing),
                              [self](beast::error_code ec, std::size_t) { on_flushed(self, ec); });
        }

        static void on_flushed(const std::shared_ptr<State>& self, beast::error_code ec) {
            State& s = *self;
            s.flush_in_flight = false;
            s.flushing.clear();
            if (ec && !s.error) s.error = ec;
            if (!s.error && (!s.corked || s.pending.size() >= s.max_pending_bytes)) {
                start_flush(self);
            }
            if (!s.flush_in_flight && (s.pending.empty() || s.error)) s.release_buffers();
            if (s.waiter) {
                auto waiter = std::move(s.waiter);
                asio::post(s.next.get_executor(), std::move(waiter));
            }
        }
    };

    struct Done {};

    // Not `waiter = ...`: any_completion_handler's move assignment in Asio 1.26 copies its
    // argument as an lvalue and wraps itself forever.
    template <class Self>
    static void wait_for_flush(State& s, Self&& self) {
        asio::any_completion_handler<void()>(std::forward<Self>(self)).swap(s.waiter);
    }

    template <class ConstBufferSequence>
    struct WriteSomeOp {
        std::shared_ptr<State> state;
        ConstBufferSequence buffers;

        // Start, and retry after the write in flight finished.
        template <class Self>
        void operator()(Self& self) {
            State& s = *state;
            if (s.error) return finish(self, s.error, 0);
            const std::size_t size = asio::buffer_size(buffers);
            if (size == 0) return finish(self, {}, 0);
            const std::size_t room =
                s.max_pending_bytes > s.pending.size() ? s.max_pending_bytes - s.pending.size() : 0;
            if (room == 0) {
                State::start_flush(state);  // even when corked: the bound is reached
                if (s.flush_in_flight) return wait_for_flush(s, std::move(self));
                return (*this)(self);  // the send took it all, or failed
            }
            const std::size_t n = std::min(size, room);
            const std::size_t offset = s.pending.size();
            s.pending.resize(offset + n);
            asio::buffer_copy(asio::buffer(s.pending.data() + offset, n), buffers, n);
            // Beast's async_write offers the rest of a partly accepted write next: until then
            // the pending bytes end inside one of its frames.
            s.split_write = n < size;
            if (!s.corked || s.pending.size() >= s.max_pending_bytes) State::start_flush(state);
            finish(self, {}, n);
        }

        template <class Self>
        void operator()(Self& self, Done, beast::error_code ec, std::size_t n) {
            self.complete(ec, n);
        }

        // Never completes inline: the caller's continuation runs from the executor.
        template <class Self>
        void finish(Self& self, beast::error_code ec, std::size_t n) {
            auto executor = state->next.get_executor();
            asio::post(executor, asio::append(std::move(self), Done{}, ec, n));
        }
    };

    template <class MutableBufferSequence>
    struct ReadSomeOp {
        std::shared_ptr<State> state;
        MutableBufferSequence buffers;
        bool started = false;

        template <class Self>
        void operator()(Self& self, beast::error_code ec = {}, std::size_t n = 0) {
            if (!started) {
                started = true;
                if (state->incoming_failed) {
                    return asio::post(
                        state->next.get_executor(),
                        asio::append(std::move(self), too_many_fragments_error(), std::size_t{0}));
                }
                return state->next.async_read_some(buffers, std::move(self));
            }
            if (ec || state->incoming_failed || state->incoming.max_message_frames == 0) {
                return self.complete(ec, n);
            }
            std::size_t left = n;
            for (auto it = asio::buffer_sequence_begin(buffers);
                 left > 0 && it != asio::buffer_sequence_end(buffers); ++it) {
                const asio::mutable_buffer b = *it;
                const std::size_t take = std::min(left, b.size());
                if (!state->incoming.scan(static_cast<const std::uint8_t*>(b.data()), take)) {
                    state->incoming_failed = true;
                    return self.complete(too_many_fragments_error(), 0);
                }
                left -= take;
            }
            self.complete(ec, n);
        }
    };

    struct TeardownOp {
        std::shared_ptr<State> state;
        beast::role_type role;

        template <class Self>
        void operator()(Self& self) {
            State& s = *state;
            if (!s.error && !s.pending.empty()) {
                s.corked = false;
                State::start_flush(state);
            }
            if (!s.error && s.flush_in_flight) return wait_for_flush(s, std::move(self));
            using beast::websocket::async_teardown;
            async_teardown(role, s.next, std::move(self));
        }

        template <class Self>
        void operator()(Self& self, beast::error_code ec) {
            self.complete(ec);
        }
    };

    std::shared_ptr<State> state_;
};

}  // namespace chatd::net
