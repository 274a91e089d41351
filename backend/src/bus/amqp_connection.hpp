#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

#include "bus/amqp_bus.hpp"

// rabbitmq-c's connection handle, opaque here: only amqp_connection.cpp includes rabbitmq-c.
struct amqp_connection_state_t_;

namespace chatd::bus {

using Channel = std::uint16_t;  // an AMQP channel number (rabbitmq-c's amqp_channel_t)

// The connection went away (or one of the bus's own channels did): tear down and reconnect.
struct ConnectionLost : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// An amqp:// URL taken apart.
struct BrokerAddress {
    // Throws std::invalid_argument for a URL amqp_parse_url refuses, and for amqps://.
    static BrokerAddress parse(const std::string& url);

    std::string host;
    int port = 5672;
    std::string user;
    std::string password;
    std::string vhost;  // "/" when the URL names none
};

// Reconnect delays with "full jitter": uniform in [0, min(cap, base * 2^attempt)], so nodes that
// lost the broker together do not reconnect together. Pure apart from its random generator.
class Backoff {
  public:
    Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, unsigned seed);
    std::chrono::milliseconds next();
    void reset() { attempt_ = 0; }
    // The upper bound the next call draws under.
    std::chrono::milliseconds ceiling() const;

  private:
    std::chrono::milliseconds base_;
    std::chrono::milliseconds cap_;
    unsigned attempt_ = 0;
    unsigned long long state_;
};

// An eventfd: any thread wakes the bus thread out of its poll; writes coalesce until drained.
class WakeSignal {
  public:
    WakeSignal();  // throws std::runtime_error when the eventfd cannot be made
    ~WakeSignal();
    WakeSignal(const WakeSignal&) = delete;
    WakeSignal& operator=(const WakeSignal&) = delete;

    void wake();
    // Waits up to `timeout` for a wake and consumes it.
    void wait(std::chrono::milliseconds timeout);
    int fd() const { return fd_; }
    void drain();

  private:
    int fd_;
};

// A method from the broker that the bus acts on; the connection answers the others itself
// (channel.close-ok, returned messages, and connection.close, which throws ConnectionLost).
struct Incoming {
    enum class Kind {
        Ack,                // publisher confirm: `tag`, `multiple`
        Nack,               // publisher confirm refused: `tag`, `multiple`
        Delivery,           // `tag`, `body`
        ConsumerCancelled,  // the broker cancelled the channel's consumer (its queue was deleted)
        ChannelClosed,      // the broker closed the channel (close-ok already sent)
    };
    Kind kind;
    Channel channel;
    std::uint64_t tag = 0;
    bool multiple = false;
    // Delivery: the message's own allocation, not the connection's buffers, so it stays valid
    // while the handler talks to the broker; freed after the handler returns.
    std::string_view body;
};

// Queue flags of a declaration.
struct QueueFlags {
    bool durable = false;
    bool exclusive = false;
    bool auto_delete = false;
};

// One logged-in AMQP 0-9-1 connection (rabbitmq-c), used by the bus thread only. Channels below
// `first_disposable` are the bus's own: the broker closing one of them is a failure of the
// connection (ConnectionLost). A channel from `first_disposable` on may be closed alone (an
// exclusive consume refused): the call answers close-ok and returns false. Every other failure
// throws ConnectionLost.
class AmqpConnection {
  public:
    // Opens the socket (2 s timeout) and logs in (PLAIN, frame max 128 KiB).
    AmqpConnection(const BrokerAddress& address, int heartbeat_s, Channel first_disposable);
    // Drops the socket without the close handshake (after close(), or when the link is lost).
    ~AmqpConnection();
    AmqpConnection(const AmqpConnection&) = delete;
    AmqpConnection& operator=(const AmqpConnection&) = delete;

    bool open_channel(Channel channel);
    bool select_confirms(Channel channel);
    // Fanout, not durable, not auto-delete, no arguments: exactly the brief's `chat`.
    bool declare_fanout(Channel channel, std::string_view exchange);
    bool declare_queue(Channel channel,
                       const std::string& queue,
                       QueueFlags flags,
                       std::span<const QueueArgument> arguments,
                       const char* what);
    bool bind(Channel channel,
              const std::string& queue,
              std::string_view exchange,
              const char* what);
    bool set_prefetch(Channel channel, int prefetch);
    // An exclusive consumer; `auto_ack`: the broker counts a message delivered once sent.
    bool consume(Channel channel, const std::string& queue, bool auto_ack, const char* what);
    bool delete_queue(Channel channel, const std::string& queue);
    void close_channel(Channel channel);
    // Graceful connection.close.
    void close();

    void publish(Channel channel,
                 std::string_view exchange,
                 const std::string& routing_key,
                 const std::string& body,
                 bool persistent);
    // basic.ack with multiple=true: `tag` and every earlier delivery of the channel.
    void ack_up_to(Channel channel, std::uint64_t tag);

    // Unless frames are buffered already, waits up to `wait` for the socket or `wake`; then hands
    // each method received so far (at most `max_frames`) to `on_incoming`, in order.
    void read(std::chrono::milliseconds wait,
              WakeSignal& wake,
              std::size_t max_frames,
              const std::function<void(const Incoming&)>& on_incoming);
    // Frees rabbitmq-c's buffers when nothing in them is in use (after a read).
    void release_buffers();

  private:
    bool check(const char* what, Channel channel);

    amqp_connection_state_t_* state_;
    Channel first_disposable_;
};

}  // namespace chatd::bus
