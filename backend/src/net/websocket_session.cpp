#include "net/websocket_session.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

#include "chat/codec.hpp"
#include "chat/outbox.hpp"
#include "metrics/metrics.hpp"
#include "net/spawn.hpp"
#include "net/ws_frames.hpp"
#include "net/ws_session_state.hpp"

namespace chatd::net {
namespace {

using asio::awaitable;

using asio::use_awaitable;
constexpr auto kTuple = asio::as_tuple(use_awaitable);

constexpr auto kHandshakeTimeout = std::chrono::seconds(10);
// Bytes of frames the writer queues beside the socket write in flight; past it, the writer waits
// for that write (a reader that stops reading stops the writer, and the outbox bound cuts it).
constexpr std::size_t kMaxPendingBytes = 64 * 1024;
// Full reads in a row before the connection lets the shard's other connections run.
constexpr int kReadsPerTurn = 4;

// The I/O thread's read buffer: every connection of a shard reads into it, so a connection holds
// no read buffer of its own (only a message that spans reads, until it is whole).
std::span<std::uint8_t> thread_read_buffer() {
    thread_local std::vector<std::uint8_t> buffer;
    if (buffer.empty()) buffer.resize(64 * 1024);  // on the I/O threads only
    return buffer;
}

// One client connection, after Beast accepted the upgrade: chatd's own framing (net/ws_frames)
// on the socket (why: docs/design/decisions.md). All members run on the
// connection's shard thread, except deliver() and close(), which only queue and post. The hub
// holds a reference while the connection is registered; every pending handler holds one too, so
// the session lives until it is detached and its last handler ended.
//
// Reading: a readiness wait, then non-blocking reads into the shard's buffer until the socket
// has nothing more (an idle connection holds only the wait). Writing: the outbox's frames are
// appended to the write queue (`queue_`) and leave by a non-blocking send, what the socket does
// not take by asynchronous writes, at most one in flight; a delivery to an idle connection is
// one post and one send, and a batch of frames leaves in one send.
//
// Every byte queued for the connection (the outbox, the frames waiting and in the write, the
// pong, a ping, the close frame) counts against --outbox-max-bytes: past it the connection is
// dropped (over_bound()). Pongs are coalesced (WsWriteQueue). A write that makes no progress for
// a whole ping interval drops the connection (on_timer()). A handler that throws (an allocation
// failure included) drops its connection and leaves the process running (guarded()). What the
// connection may do next is decided by its state (`state_`, net/ws_session_state.hpp).
class WebSocketSession final : public chat::Sink,
                               public std::enable_shared_from_this<WebSocketSession>,
                               private WsFrameReader::Events {
  public:
    WebSocketSession(tcp::socket socket,
                     ConnectionLimits::Slot slot,
                     const WebSocketContext& context,
                     std::size_t shard)
        : shard_(shard),
          socket_(std::move(socket)),
          slot_(std::move(slot)),
          context_(context),
          outbox_(chat::Outbox::Limits{context.options.outbox_max_bytes,
                                       context.options.outbox_max_frames}),
          reader_(WsFrameReader::Limits{context.options.max_frame_bytes,
                                        context.options.ws_max_message_frames}),
          timer_(socket_.get_executor()),
          ping_interval_(std::chrono::seconds(std::max(1u, context.options.ws_ping_interval_s))),
          state_(ping_interval_) {}

    // The upgrade; then starts reading and writing and returns, so that its frame (the request,
    // the parameters, the subscription timer) does not stay allocated for the connection's life.
    // `self` keeps the session alive until it returns.
    awaitable<void> run(std::shared_ptr<WebSocketSession> self,
                        Request request,
                        chat::Identity identity,
                        chat::Protocol protocol,
                        std::vector<std::string> rooms,
                        std::vector<model::ReadState> read_state,
                        std::vector<model::RoomNotifyLevel> notify);

    void deliver(const chat::Frame& frame) override { push(frame, false); }
    std::size_t queued_bytes() const override { return outbox_.queued_bytes(); }
    // Runs a handler's work; an exception (std::bad_alloc included) drops this connection only.
    template <class F>
    void guarded(F&& work) noexcept {
        try {
            work();
        } catch (const std::exception& error) {
            on_handler_exception(error.what());
        } catch (...) {
            on_handler_exception("unknown exception");
        }
    }
    void on_handler_exception(const char* what) noexcept;
    std::size_t shard() const override { return shard_; }
    void deliver_on_shard(const chat::Frame& frame, bool write_now) override {
        push(frame, write_now);
    }

    void close(chat::CloseCode code, std::string_view reason) override {
        // Nothing delivered after close() returns is sent: a client told to resync must not get
        // a newer id first (its resync would start past what it missed).
        outbox_.close();
        request_close(code, reason, false);
    }

    void close_after_queued(chat::CloseCode code, std::string_view reason) override {
        // The writer sends what the outbox holds, then the close frame (write_pending).
        outbox_.seal();
        request_close(code, reason, true);
    }

  private:
    void request_close(chat::CloseCode code, std::string_view reason, bool after_queued) {
        asio::post(socket_.get_executor(), [self = shared_from_this(), code, after_queued,
                                            reason = std::string(reason)]() mutable {
            if (!self->state_.request_close(after_queued)) return;
            self->close_code_ = static_cast<std::uint16_t>(code);
            self->close_reason_ = std::move(reason);
            self->guarded([&] { self->write_pending(); });
        });
    }

    // `write_now`: the caller runs on this connection's shard and the writer should run now.
    void push(const chat::Frame& frame, bool write_now) {
        switch (outbox_.push(frame)) {
            case chat::Outbox::PushResult::QueuedWakeUp:
                if (write_now) {
                    write_pending();
                } else {
                    asio::post(socket_.get_executor(), [self = shared_from_this()] {
                        self->guarded([&] { self->write_pending(); });
                    });
                }
                break;
            case chat::Outbox::PushResult::Overflow:
                context_.metrics.slow_consumer_disconnects.Increment();
                context_.metrics.limit_hit(metrics::Limit::OutboxOverflow);
                spdlog::info("closing slow consumer {} (outbox over {} bytes)", user_name_,
                             context_.options.outbox_max_bytes);
                // The client stopped reading: no close frame could get through.
                asio::post(socket_.get_executor(), [self = shared_from_this()] { self->drop(); });
                break;
            case chat::Outbox::PushResult::Queued:
            case chat::Outbox::PushResult::Closed:
                break;
        }
    }

    // Reads until the socket has nothing more, then waits for readiness. (Asio re-arms the
    // descriptor with an epoll_ctl for each wait, which also reports bytes already there.)
    void read_available();
    void read_some();
    void wait_readable();
    // Parses what was read.
    void consume(std::uint8_t* data, std::size_t size);
    void on_message(bool text, std::string_view payload) override;
    void on_ping(std::string_view payload) override;
    void on_pong() override {}
    void on_close(std::optional<std::uint16_t> code, std::string_view reason) override;
    // The connection takes no more messages (state_.registered() turned false).
    void leave_service();

    // Writes what the outbox holds, then the close frame once one is due. Never more than
    // kMaxPendingBytes queued beside the write in flight, except one frame larger than that.
    void write_pending();
    void append_frame(WsOpcode opcode, std::string_view payload) { queue_.append(opcode, payload); }
    // Every byte queued for this connection is past --outbox-max-bytes: dropped and counted.
    bool over_bound();
    void flush();
    void on_flushed(beast::error_code ec, std::size_t written);
    // Queues the close frame once (without a code: an empty one); nothing is written after it.
    void send_close(std::optional<std::uint16_t> code, std::string_view reason);
    // The client's close frame came, or the connection failed: our close frame (`code`) unless
    // it was sent, then the teardown.
    void on_peer_closed(std::optional<std::uint16_t> code);
    void append_close_frame(std::optional<std::uint16_t> code, std::string_view reason);
    // After both close frames (or a failure's close frame) are through: the TCP teardown. The
    // server ends its sending side first and reads what the client still sends until it closes
    // (closing with unread bytes would reset the connection and could lose the close frame).
    void maybe_shut_down();
    // Ends the TCP connection at once, without a close handshake.
    void drop();

    // Pings a connection idle for a whole interval (nothing written); drops a peer silent since
    // the last ping. While closing, the same timer bounds the close handshake.
    void arm_timer(std::chrono::steady_clock::duration after);
    void on_timer();

    const std::size_t shard_;
    tcp::socket socket_;
    ConnectionLimits::Slot slot_;  // counted against the connection limits until destroyed
    WebSocketContext context_;
    chat::Outbox outbox_;
    WsFrameReader reader_;
    asio::steady_timer timer_;
    const std::chrono::steady_clock::duration ping_interval_;
    WsSessionState state_;
    chat::ConnectionId id_ = 0;
    std::string user_name_;
    chat::Protocol protocol_ = chat::Protocol::Native;
    std::vector<chat::Frame> batch_;  // taken from the outbox, appended up to batch_next_
    std::size_t batch_next_ = 0;
    WsWriteQueue queue_;        // frames waiting, the pong due, the write in flight
    std::string close_reason_;  // of the close the service requested
    std::uint16_t close_code_ = 0;
};

awaitable<void> WebSocketSession::run(std::shared_ptr<WebSocketSession> self,
                                      Request request,
                                      chat::Identity identity,
                                      chat::Protocol protocol,
                                      std::vector<std::string> rooms,
                                      std::vector<model::ReadState> read_state,
                                      std::vector<model::RoomNotifyLevel> notify) {
    protocol_ = protocol;
    user_name_ = identity.user_name;

    // Registered before the upgrade completes: frames delivered meanwhile wait in the outbox.
    // The 101 answer waits (bounded) until the bus routes this user's events here, so a client
    // that is connected misses nothing (per-user RabbitMQ queues are bound asynchronously).
    // The welcome is the first frame (docs/protocol.md), queued before the connection is
    // registered so that nothing the bus delivers meanwhile overtakes it: a client resyncs
    // after each welcome from the last id it saw, and a message seen first would move that
    // mark past what it missed (found by the chaos checker, docs/reliability.md).
    if (protocol == chat::Protocol::Native) {
        deliver(context_.service.welcome(user_name_, rooms, read_state, notify));
    }
    id_ = context_.service.connect(identity, protocol, self, rooms);
    {
        asio::steady_timer subscribed(socket_.get_executor(), std::chrono::seconds(2));
        auto done = std::make_shared<bool>(false);
        context_.service.when_subscribed(
            user_name_, [self, done, timer = &subscribed, executor = socket_.get_executor()] {
                asio::post(executor, [self, done, timer] {
                    if (*done) return;
                    *done = true;
                    timer->cancel();
                });
            });
        // The posted handler runs on this strand: either before this check or while waiting.
        if (!*done) {
            co_await subscribed.async_wait(kTuple);
        }
        *done = true;  // the timer is about to go away: a late callback must not touch it
    }
    // Beast checks the upgrade request and writes the 101 answer (or the refusal); the frames
    // are ours from then on. No extension is offered, so none is negotiated.
    beast::error_code accept_ec;
    {
        websocket::stream<tcp::socket&> handshake(socket_);
        websocket::stream_base::timeout timeout{};
        timeout.handshake_timeout = kHandshakeTimeout;
        timeout.idle_timeout = websocket::stream_base::none();
        timeout.keep_alive_pings = false;
        handshake.set_option(timeout);
        handshake.set_option(websocket::stream_base::decorator(
            [](websocket::response_type& res) { res.set(http::field::server, "chatd"); }));
        auto [ec] = co_await handshake.async_accept(request, kTuple);
        accept_ec = ec;
    }
    beast::error_code blocking_ec;
    if (!accept_ec) socket_.non_blocking(true, blocking_ec);
    if (accept_ec || blocking_ec) {
        drop();
        co_return;
    }
    state_.upgraded();
    arm_timer(ping_interval_);
    guarded([&] { write_pending(); });
    read_available();
}

void WebSocketSession::read_available() {
    guarded([&] { read_some(); });
}

void WebSocketSession::read_some() {
    const auto buffer = thread_read_buffer();
    for (int turn = 0; turn < kReadsPerTurn; ++turn) {
        beast::error_code ec;
        const std::size_t n = socket_.read_some(asio::buffer(buffer.data(), buffer.size()), ec);
        if (ec == asio::error::would_block) return wait_readable();
        if (ec) {
            if (ec != asio::error::eof && ec != asio::error::connection_reset &&
                ec != asio::error::bad_descriptor && ec != asio::error::operation_aborted) {
                spdlog::debug("websocket read from {} ended: {}", user_name_, ec.message());
            }
            return drop();
        }
        // During the teardown the client's last bytes are read and dropped.
        if (state_.registered()) consume(buffer.data(), n);
        if (state_.dropped()) return;
        // Paused until the write in flight completes (on_flushed()): a ping flood then costs
        // nothing once the socket is full.
        if (state_.pause_reading(queue_.pong_due())) return;
        // A short read took everything the socket held: nothing is gained by reading again.
        if (n < buffer.size()) return wait_readable();
    }
    // More may wait: continue after the shard's other work.
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->read_available(); });
}

void WebSocketSession::wait_readable() {
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
        if (ec) return self->drop();
        self->read_available();
    });
}

void WebSocketSession::consume(std::uint8_t* data, std::size_t size) {
    state_.received();
    const auto failure = reader_.feed(data, size, *this);
    if (failure == WsFrameReader::Failure::None) return;
    switch (failure) {
        case WsFrameReader::Failure::TooManyFrames:
            // An endless message of empty frames is an attack: dropped without a close frame.
            context_.metrics.limit_hit(metrics::Limit::WsProtocol);
            spdlog::debug("dropping {}: a message of more than {} frames", user_name_,
                          context_.options.ws_max_message_frames);
            return drop();
        case WsFrameReader::Failure::MessageTooBig:
            context_.metrics.limit_hit(metrics::Limit::FrameSize);
            break;
        case WsFrameReader::Failure::InvalidUtf8:
            context_.metrics.limit_hit(metrics::Limit::InvalidUtf8);
            break;
        case WsFrameReader::Failure::ProtocolError:
        case WsFrameReader::Failure::None:
            context_.metrics.limit_hit(metrics::Limit::WsProtocol);
            break;
    }
    // The connection failed (RFC 6455 section 7.1.7): our close frame, then the teardown
    // without waiting for the client's.
    on_peer_closed(WsFrameReader::close_code(failure));
}

void WebSocketSession::on_message(bool text, std::string_view payload) {
    context_.metrics.ws_frames_received.Increment();
    if (!state_.takes_messages() || protocol_ != chat::Protocol::Native) return;
    if (!text) {
        context_.metrics.limit_hit(metrics::Limit::BadRequest);
        deliver(chat::make_frame(
            chat::encode_error("bad_request", "frames are JSON text, not binary")));
        return;
    }
    context_.service.handle_frame(id_, user_name_, shared_from_this(), payload);
}

void WebSocketSession::on_ping(std::string_view payload) {
    if (!state_.takes_messages()) return;
    queue_.queue_pong(payload);  // replaces a pong still waiting
    if (over_bound()) return;
    flush();
}

void WebSocketSession::on_close(std::optional<std::uint16_t> code, std::string_view) {
    on_peer_closed(code);  // the reply echoes the client's code (none when it gave none)
}

void WebSocketSession::on_peer_closed(std::optional<std::uint16_t> code) {
    if (!state_.registered()) return;
    const bool reply_due = state_.close_received();
    leave_service();
    if (reply_due) append_close_frame(code, {});
    maybe_shut_down();  // when our close frame was already out
}

void WebSocketSession::leave_service() {
    context_.service.disconnect(id_, user_name_);
    outbox_.close();
}

void WebSocketSession::write_pending() {
    if (!state_.writes_messages()) return;
    for (;;) {
        if (batch_next_ == batch_.size()) {
            batch_.clear();  // release the shared frames now
            batch_next_ = 0;
            // close_after_queued(): the sealed outbox's frames go first, then the close frame.
            if (state_.phase() == WsSessionState::Phase::CloseAfterBatch) {
                return send_close(close_code_, close_reason_);
            }
            if (!outbox_.take(batch_)) {
                if (state_.close_requested()) send_close(close_code_, close_reason_);
                return;
            }
            context_.metrics.outbox_frames.Observe(static_cast<double>(batch_.size()));
        }
        std::size_t frames = 0;
        std::size_t bytes = 0;
        for (; batch_next_ < batch_.size(); ++batch_next_) {
            const std::string& frame = *batch_[batch_next_];
            if (queue_.waiting_bytes() != 0 &&
                queue_.waiting_bytes() + frame.size() + 10 > kMaxPendingBytes)
                break;
            append_frame(WsOpcode::Text, frame);
            ++frames;
            bytes += frame.size();
        }
        state_.wrote();
        context_.metrics.ws_frames_sent.Increment(static_cast<double>(frames));
        context_.metrics.ws_bytes_sent.Increment(static_cast<double>(bytes));
        if (over_bound()) return;
        flush();
        // The bound is reached and the socket did not take it all: on_flushed() continues.
        if (!state_.may_write()) return;
    }
}

bool WebSocketSession::over_bound() {
    outbox_.set_beside(queue_.bytes());
    const std::size_t queued = queue_.bytes() + outbox_.queued_bytes();
    if (queued <= context_.options.outbox_max_bytes) return false;
    context_.metrics.slow_consumer_disconnects.Increment();
    context_.metrics.limit_hit(metrics::Limit::QueuedBytes);
    spdlog::info("dropping {}: {} bytes queued for it, over {}", user_name_, queued,
                 context_.options.outbox_max_bytes);
    drop();
    return true;
}

void WebSocketSession::flush() {
    if (!state_.may_write()) return;
    const std::string_view bytes = queue_.start_write();
    if (bytes.empty()) return;
    const ssize_t sent =
        ::send(socket_.native_handle(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return drop();
    if (sent > 0) {
        queue_.written(static_cast<std::size_t>(sent));
        outbox_.set_beside(queue_.bytes());
        if (!queue_.writing()) return maybe_shut_down();
    }
    // What the socket did not take leaves by one asynchronous write_some at a time, so that
    // on_timer() sees whether the write moves.
    state_.write_started(std::chrono::steady_clock::now());
    const auto rest = queue_.unwritten();
    socket_.async_write_some(asio::buffer(rest.data(), rest.size()),
                             [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                 self->guarded([&] { self->on_flushed(ec, n); });
                             });
}

void WebSocketSession::on_flushed(beast::error_code ec, std::size_t written) {
    state_.write_ended();
    if (ec || state_.dropped()) {
        queue_.clear();  // the write that used it has ended
        return drop();
    }
    queue_.written(written);
    outbox_.set_beside(queue_.bytes());
    if (queue_.writing()) {
        state_.write_started(std::chrono::steady_clock::now());
        const auto rest = queue_.unwritten();
        socket_.async_write_some(asio::buffer(rest.data(), rest.size()),
                                 [self = shared_from_this()](beast::error_code ec2, std::size_t n) {
                                     self->guarded([&] { self->on_flushed(ec2, n); });
                                 });
        return;
    }
    flush();  // what was queued meanwhile (the pong first)
    if (state_.writer() != WsSessionState::Writer::Writing) {
        write_pending();
        maybe_shut_down();
    }
    if (state_.resume_reading()) read_available();
}

void WebSocketSession::send_close(std::optional<std::uint16_t> code, std::string_view reason) {
    if (state_.queue_close_frame()) append_close_frame(code, reason);
}

void WebSocketSession::append_close_frame(std::optional<std::uint16_t> code,
                                          std::string_view reason) {
    outbox_.close();
    batch_.clear();
    append_frame(WsOpcode::Close, code ? close_payload(*code, reason) : std::string());
    arm_timer(kHandshakeTimeout);
    if (over_bound()) return;
    flush();
    maybe_shut_down();
}

void WebSocketSession::maybe_shut_down() {
    if (!state_.shut_down(queue_.idle())) return;
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    // The reader goes on (dropping what it reads) until the client closes: then drop().
}

void WebSocketSession::drop() {
    const bool registered = state_.registered();
    if (!state_.drop()) return;
    if (registered) leave_service();
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);  // ends the pending wait and write: their handlers release `self`
    timer_.cancel();
    batch_.clear();
    // The buffer of a write in flight stays until its handler runs (with operation_aborted).
    if (state_.writer() != WsSessionState::Writer::Writing) queue_.clear();
}

void WebSocketSession::on_handler_exception(const char* what) noexcept {
    try {
        context_.metrics.handler_exceptions.Increment();
        spdlog::error("connection of {} dropped: its handler threw: {}", user_name_, what);
    } catch (...) {
    }
    try {
        drop();
    } catch (...) {
    }
}

void WebSocketSession::arm_timer(std::chrono::steady_clock::duration after) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->guarded([&] { self->on_timer(); });
    });
}

void WebSocketSession::on_timer() {
    switch (state_.tick(std::chrono::steady_clock::now())) {
        case WsSessionState::Tick::None:
            return;
        case WsSessionState::Tick::HandshakeTimeout:
            return drop();
        case WsSessionState::Tick::WriteStalled:
            context_.metrics.slow_consumer_disconnects.Increment();
            context_.metrics.limit_hit(metrics::Limit::WriteStalled);
            spdlog::info("dropping {}: nothing written for {} s", user_name_,
                         std::chrono::duration_cast<std::chrono::seconds>(ping_interval_).count());
            return drop();
        case WsSessionState::Tick::Rearm:
            return arm_timer(ping_interval_);
        case WsSessionState::Tick::PingTimeout:
            context_.metrics.limit_hit(metrics::Limit::PingTimeout);
            return drop();
        case WsSessionState::Tick::Ping:
            append_frame(WsOpcode::Ping, {});
            if (over_bound()) return;
            flush();
            return arm_timer(ping_interval_);
    }
}

}  // namespace

void start_websocket(beast::tcp_stream stream,
                     Request request,
                     chat::Identity identity,
                     chat::Protocol protocol,
                     std::vector<std::string> rooms,
                     std::vector<model::ReadState> read_state,
                     std::vector<model::RoomNotifyLevel> notify,
                     ConnectionLimits::Slot slot,
                     WebSocketContext context,
                     std::size_t shard) {
    auto executor = stream.get_executor();
    // The TCP stream's own state (timers for deadlines chatd does not use here) is not kept.
    auto session = std::make_shared<WebSocketSession>(stream.release_socket(), std::move(slot),
                                                      context, shard);
    auto* raw = session.get();
    asio::co_spawn(executor,
                   raw->run(std::move(session), std::move(request), std::move(identity), protocol,
                            std::move(rooms), std::move(read_state), std::move(notify)),
                   log_failure(context.metrics, "WebSocket session"));
}

}  // namespace chatd::net
