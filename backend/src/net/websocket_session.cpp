#include "net/websocket_session.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include "chat/codec.hpp"
#include "chat/outbox.hpp"
#include "metrics/metrics.hpp"
#include "net/coalescing_stream.hpp"

namespace chatd::net {
namespace {

using asio::awaitable;

using asio::use_awaitable;
constexpr auto kTuple = asio::as_tuple(use_awaitable);

// One client connection. Only write_pending() writes frames to the stream, on the strand;
// deliver() and close() only queue and post it, from any thread. The hub holds a reference while
// the connection is registered, so the session lives until it is both detached and its last
// handler ended.
//
// The writer is driven by completion handlers, not a coroutine: a delivery to an idle
// connection is one post that writes the queued frames at once (on a 1,000-recipient fan-out the
// coroutine's wake-up, a timer cancellation and a resumption per recipient, was a third of
// chatd's own CPU), and an idle connection holds no coroutine frame.
class WebSocketSession final : public chat::Sink,
                               public std::enable_shared_from_this<WebSocketSession> {
  public:
    WebSocketSession(beast::tcp_stream stream,
                     ConnectionLimits::Slot slot,
                     const WebSocketContext& context,
                     std::size_t shard)
        : shard_(shard),
          ws_(std::move(stream)),
          slot_(std::move(slot)),
          context_(context),
          outbox_(chat::Outbox::Limits{context.options.outbox_max_bytes,
                                       context.options.outbox_max_frames}),
          ping_timer_(ws_.get_executor()),
          ping_interval_(std::chrono::seconds(std::max(1u, context.options.ws_ping_interval_s))) {}

    // The upgrade; then spawns the reader and the writer and returns, so that its frame (the
    // request, the parameters, the subscription timer) does not stay allocated for the
    // connection's life. `self` keeps the session alive until it returns.
    awaitable<void> run(std::shared_ptr<WebSocketSession> self,
                        Request request,
                        chat::Identity identity,
                        chat::Protocol protocol,
                        std::vector<std::string> rooms);

    void deliver(const chat::Frame& frame) override { push(frame, false); }
    std::size_t shard() const override { return shard_; }
    void deliver_on_shard(const chat::Frame& frame, bool write_now) override {
        push(frame, write_now);
    }

    void close(chat::CloseCode code, std::string_view reason) override {
        // Nothing delivered after close() returns is sent: a client told to resync must not get
        // a newer id first (its resync would start past what it missed).
        outbox_.close();
        asio::post(ws_.get_executor(),
                   [self = shared_from_this(), code, reason = std::string(reason)]() mutable {
                       if (self->close_requested_) return;
                       self->close_requested_ = true;
                       self->close_code_ = code;
                       self->close_reason_ = std::move(reason);
                       self->write_pending();
                   });
    }

  private:
    // `write_now`: the caller runs on this connection's shard and the writer should run now.
    void push(const chat::Frame& frame, bool write_now) {
        switch (outbox_.push(frame)) {
            case chat::Outbox::PushResult::QueuedWakeUp:
                if (write_now) {
                    write_pending();
                } else {
                    asio::post(ws_.get_executor(),
                               [self = shared_from_this()] { self->write_pending(); });
                }
                break;
            case chat::Outbox::PushResult::Overflow:
                context_.metrics.slow_consumer_disconnects.Increment();
                context_.metrics.limit_hit(metrics::Limit::OutboxOverflow);
                spdlog::info("closing slow consumer {} (outbox over {} bytes)", user_name_,
                             context_.options.outbox_max_bytes);
                abort_connection();
                break;
            case chat::Outbox::PushResult::Queued:
            case chat::Outbox::PushResult::Closed:
                break;
        }
    }

    // The reader, driven by completion handlers rather than a coroutine: an idle connection
    // then holds only Beast's pending read, not a coroutine frame, its awaitable state and a
    // co_spawn entry (~1 KiB). Each handler holds `self`, so the session lives while it reads.
    void read_next(std::shared_ptr<WebSocketSession> self);
    // Handles one completed read; false when the connection's reading is over.
    bool on_read(beast::error_code ec);
    void reader_finished();

    // The client stopped reading: no close frame could get through, so drop the TCP connection.
    void abort_connection() {
        asio::post(ws_.get_executor(), [self = shared_from_this()] {
            self->drop_tcp();
            self->outbox_.close();
            self->ping_timer_.cancel();
        });
    }

    // Ends the TCP connection without a close handshake. On the strand only.
    void drop_tcp() {
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(ws_).socket().close(ignored);
    }

    // Writes what the outbox holds: whole frames appended in place, each batch in one socket
    // write; a frame that does not fit goes through Beast, and its completion calls back here.
    // Starts the close handshake once the batch in hand is written. On the strand only.
    void write_pending();
    void on_frame_written(beast::error_code ec, std::size_t bytes);
    void start_close();
    // Pings a connection idle for a whole interval (nothing written); drops a peer silent since
    // the last ping. The timer is the only handler an idle connection has pending for writing.
    void arm_ping_timer();
    void on_ping_timer();

    const std::size_t shard_;
    websocket::stream<CoalescingStream> ws_;
    ConnectionLimits::Slot slot_;  // counted against the connection limits until destroyed
    WebSocketContext context_;
    chat::Outbox outbox_;
    asio::steady_timer ping_timer_;
    const std::chrono::steady_clock::duration ping_interval_;
    chat::ConnectionId id_ = 0;
    std::string user_name_;
    chat::Protocol protocol_ = chat::Protocol::Native;
    // Touched on the strand only.
    bool close_requested_ = false;
    chat::CloseCode close_code_ = chat::CloseCode::Normal;
    std::string close_reason_;
    bool reader_done_ = false;
    // A Beast write (a frame past the fast path, a ping, the close) or the handshake is in
    // flight: write_pending() waits for its completion.
    bool writing_ = true;
    bool closing_ = false;
    bool sent_since_ping_timer_ = false;
    std::vector<chat::Frame> batch_;  // taken from the outbox, written up to batch_next_
    std::size_t batch_next_ = 0;
    std::size_t batch_bytes_ = 0;
    beast::flat_buffer read_buffer_;  // empty (no heap) between messages
    std::optional<std::chrono::steady_clock::time_point> pinged_at_;
    std::chrono::steady_clock::time_point last_received_ = std::chrono::steady_clock::now();
};

awaitable<void> WebSocketSession::run(std::shared_ptr<WebSocketSession> self,
                                      Request request,
                                      chat::Identity identity,
                                      chat::Protocol protocol,
                                      std::vector<std::string> rooms) {
    protocol_ = protocol;
    user_name_ = identity.user_name;
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = std::chrono::seconds(10);
    // Liveness is ours, not Beast's: the writer pings an idle connection every ping interval
    // (it already holds the timer) and drops it when nothing arrived for two intervals.
    timeout.idle_timeout = websocket::stream_base::none();
    timeout.keep_alive_pings = false;
    ws_.set_option(timeout);
    ws_.control_callback([this](websocket::frame_type, beast::string_view) {
        last_received_ = std::chrono::steady_clock::now();
    });
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(http::field::server, "chatd"); }));
    ws_.read_message_max(context_.options.max_frame_bytes);
    ws_.next_layer().set_max_message_frames(context_.options.ws_max_message_frames);
    ws_.auto_fragment(false);

    // Registered before the upgrade completes: frames delivered meanwhile wait in the outbox.
    // The 101 answer waits (bounded) until the bus routes this user's events here, so a client
    // that is connected misses nothing (per-user RabbitMQ queues are bound asynchronously).
    // The welcome is the first frame (docs/protocol.md), queued before the connection is
    // registered so that nothing the bus delivers meanwhile overtakes it: a client resyncs
    // after each welcome from the last id it saw, and a message seen first would move that
    // mark past what it missed (found by the chaos checker, docs/reliability.md).
    if (protocol == chat::Protocol::Native) {
        auto online = context_.service.online_users(chat::Hub::kDefaultPresenceLimit);
        const auto at = std::lower_bound(online.begin(), online.end(), user_name_);
        if (at == online.end() || *at != user_name_) online.insert(at, user_name_);
        deliver(chat::make_frame(chat::encode_welcome(user_name_, rooms, online)));
    }
    id_ = context_.service.connect(identity, protocol, self, rooms);
    {
        asio::steady_timer subscribed(ws_.get_executor(), std::chrono::seconds(2));
        auto done = std::make_shared<bool>(false);
        context_.service.when_subscribed(
            user_name_, [self, done, timer = &subscribed, executor = ws_.get_executor()] {
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
    auto [accept_ec] = co_await ws_.async_accept(request, kTuple);
    if (accept_ec) {
        reader_done_ = true;
        context_.service.disconnect(id_, user_name_);
        outbox_.close();
        co_return;
    }
    writing_ = false;
    arm_ping_timer();
    write_pending();
    read_next(std::move(self));
}

void WebSocketSession::read_next(std::shared_ptr<WebSocketSession> self) {
    // Beast sizes the buffer before any byte arrives (1,536 bytes for async_read), so an idle
    // connection would hold that much: the first read of each message asks for at most
    // kFirstReadBytes, the rest of the message follows in later reads.
    constexpr std::size_t kFirstReadBytes = 64;
    const std::size_t limit = read_buffer_.size() == 0 ? kFirstReadBytes : 0;  // 0: no limit
    ws_.async_read_some(read_buffer_, limit,
                        [self = std::move(self)](beast::error_code ec, std::size_t) mutable {
                            auto* session = self.get();
                            if (session->on_read(ec)) {
                                session->read_next(std::move(self));
                            } else {
                                session->reader_finished();
                            }
                        });
}

bool WebSocketSession::on_read(beast::error_code ec) {
    if (!ec && !ws_.is_message_done()) return true;
    if (ec) {
        if (ec == websocket::error::message_too_big) {
            context_.metrics.limit_hit(metrics::Limit::FrameSize);
        } else if (ws_.next_layer().message_frame_limit_hit()) {
            // Dropped, without a close frame: Beast's stream failed with the read.
            context_.metrics.limit_hit(metrics::Limit::WsProtocol);
            spdlog::debug("dropping {}: a message of more than {} frames", user_name_,
                          context_.options.ws_max_message_frames);
        } else if (ec == websocket::error::bad_frame_payload) {
            context_.metrics.limit_hit(metrics::Limit::InvalidUtf8);
        } else if (ec != websocket::error::closed &&
                   ec.category() ==
                       websocket::make_error_code(websocket::error::closed).category()) {
            // Beast's own errors: protocol violations (reserved bits, bad opcode, ...).
            // Compared by category: condition::protocol_violation did not match them in
            // the tsan build (the condition's category was a different instance there).
            context_.metrics.limit_hit(metrics::Limit::WsProtocol);
        } else if (ec != websocket::error::closed && ec != asio::error::operation_aborted &&
                   ec != asio::error::eof && ec != beast::error::timeout &&
                   ec != asio::error::connection_reset) {
            spdlog::debug("websocket read from {} ended: {}", user_name_, ec.message());
        }
        return false;
    }
    last_received_ = std::chrono::steady_clock::now();
    context_.metrics.ws_frames_received.Increment();
    if (protocol_ == chat::Protocol::Native) {
        if (ws_.got_binary()) {
            context_.metrics.limit_hit(metrics::Limit::BadRequest);
            deliver(chat::make_frame(
                chat::encode_error("bad_request", "frames are JSON text, not binary")));
        } else {
            const auto data = read_buffer_.cdata();
            context_.service.handle_frame(
                id_, user_name_, shared_from_this(),
                std::string_view(static_cast<const char*>(data.data()), data.size()));
        }
    }
    read_buffer_.consume(read_buffer_.size());
    // An idle connection keeps no read buffer (memory per connection, docs/architecture.md).
    read_buffer_.shrink_to_fit();
    return true;
}

void WebSocketSession::reader_finished() {
    reader_done_ = true;
    context_.service.disconnect(id_, user_name_);
    outbox_.close();
    ping_timer_.cancel();
}

void WebSocketSession::write_pending() {
    if (writing_ || closing_) return;
    for (;;) {
        if (batch_next_ == batch_.size()) {
            if (close_requested_) return start_close();
            if (!outbox_.take(batch_)) {
                batch_next_ = 0;
                return;
            }
            batch_next_ = 0;
            batch_bytes_ = 0;
            context_.metrics.outbox_frames.Observe(static_cast<double>(batch_.size()));
            // The whole batch leaves in one socket write (or one per max-pending bytes).
            ws_.next_layer().cork();
        }
        for (; batch_next_ < batch_.size(); ++batch_next_) {
            const chat::Frame& frame = batch_[batch_next_];
            // Beast takes a frame that does not fit, and the frames of a closing connection
            // (it then fails the write).
            if (ws_.is_open() && ws_.next_layer().try_append_text_frame(*frame)) {
                batch_bytes_ += frame->size();
                continue;
            }
            writing_ = true;
            ws_.text(true);
            ws_.async_write(asio::buffer(*frame),
                            [self = shared_from_this()](beast::error_code ec, std::size_t bytes) {
                                self->on_frame_written(ec, bytes);
                            });
            return;
        }
        ws_.next_layer().uncork();
        sent_since_ping_timer_ = true;
        context_.metrics.ws_frames_sent.Increment(static_cast<double>(batch_.size()));
        context_.metrics.ws_bytes_sent.Increment(static_cast<double>(batch_bytes_));
        batch_.clear();  // release the shared frames now
        batch_next_ = 0;
    }
}

void WebSocketSession::on_frame_written(beast::error_code ec, std::size_t bytes) {
    writing_ = false;
    if (ec) {
        ws_.next_layer().uncork();
        outbox_.close();
        std::vector<chat::Frame>().swap(batch_);
        batch_next_ = 0;
        return;
    }
    batch_bytes_ += bytes;
    ++batch_next_;
    write_pending();
}

void WebSocketSession::start_close() {
    closing_ = true;
    writing_ = true;
    ws_.async_close(
        websocket::close_reason(static_cast<websocket::close_code>(close_code_), close_reason_),
        [self = shared_from_this()](beast::error_code) { self->ping_timer_.cancel(); });
}

void WebSocketSession::arm_ping_timer() {
    ping_timer_.expires_after(ping_interval_);
    ping_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->on_ping_timer();
    });
}

void WebSocketSession::on_ping_timer() {
    if (reader_done_ || closing_) return;
    if (sent_since_ping_timer_ || writing_) {
        sent_since_ping_timer_ = false;
        return arm_ping_timer();
    }
    if (pinged_at_ && last_received_ < *pinged_at_) {
        context_.metrics.limit_hit(metrics::Limit::PingTimeout);
        drop_tcp();
        outbox_.close();
        return;
    }
    pinged_at_ = std::chrono::steady_clock::now();
    writing_ = true;
    ws_.async_ping({}, [self = shared_from_this()](beast::error_code ec) {
        self->writing_ = false;
        if (ec) {
            self->outbox_.close();
            return;
        }
        self->write_pending();
    });
    arm_ping_timer();
}

}  // namespace

void start_websocket(beast::tcp_stream stream,
                     Request request,
                     chat::Identity identity,
                     chat::Protocol protocol,
                     std::vector<std::string> rooms,
                     ConnectionLimits::Slot slot,
                     WebSocketContext context,
                     std::size_t shard) {
    auto executor = stream.get_executor();
    auto session =
        std::make_shared<WebSocketSession>(std::move(stream), std::move(slot), context, shard);
    auto* raw = session.get();
    asio::co_spawn(executor,
                   raw->run(std::move(session), std::move(request), std::move(identity), protocol,
                            std::move(rooms)),
                   asio::detached);
}

}  // namespace chatd::net
