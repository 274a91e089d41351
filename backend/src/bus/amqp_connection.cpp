#include "bus/amqp_connection.hpp"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace chatd::bus {
namespace {

amqp_bytes_t bytes(std::string_view s) {
    return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

std::string describe(const amqp_rpc_reply_t& reply) {
    switch (reply.reply_type) {
        case AMQP_RESPONSE_NORMAL:
            return "ok";
        case AMQP_RESPONSE_NONE:
            return "missing reply";
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return std::string("library: ") + amqp_error_string2(reply.library_error);
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
                const auto* m = static_cast<amqp_connection_close_t*>(reply.reply.decoded);
                return "connection closed: " + std::to_string(m->reply_code) + " " +
                       std::string(static_cast<const char*>(m->reply_text.bytes),
                                   m->reply_text.len);
            }
            if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
                const auto* m = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
                return "channel closed: " + std::to_string(m->reply_code) + " " +
                       std::string(static_cast<const char*>(m->reply_text.bytes),
                                   m->reply_text.len);
            }
            return "server exception";
    }
    return "unknown reply";
}

// Hands a method the bus acts on to `on_incoming` and answers the others.
void handle_frame(amqp_connection_state_t state,
                  const amqp_frame_t& frame,
                  const std::function<void(const Incoming&)>& on_incoming) {
    if (frame.frame_type != AMQP_FRAME_METHOD) return;
    const Channel ch = frame.channel;
    const void* decoded = frame.payload.method.decoded;
    switch (frame.payload.method.id) {
        case AMQP_BASIC_ACK_METHOD: {
            const auto* ack = static_cast<const amqp_basic_ack_t*>(decoded);
            on_incoming({Incoming::Kind::Ack, ch, ack->delivery_tag, ack->multiple != 0, {}});
            break;
        }
        case AMQP_BASIC_NACK_METHOD: {
            const auto* nack = static_cast<const amqp_basic_nack_t*>(decoded);
            on_incoming({Incoming::Kind::Nack, ch, nack->delivery_tag, nack->multiple != 0, {}});
            break;
        }
        case AMQP_BASIC_DELIVER_METHOD: {
            const std::uint64_t tag =
                static_cast<const amqp_basic_deliver_t*>(decoded)->delivery_tag;
            amqp_message_t message;
            const auto reply = amqp_read_message(state, ch, &message, 0);
            if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
                throw ConnectionLost("read message: " + describe(reply));
            }
            struct Destroy {
                amqp_message_t& m;
                ~Destroy() { amqp_destroy_message(&m); }
            } destroy{message};
            on_incoming(
                {Incoming::Kind::Delivery, ch, tag, false,
                 std::string_view(static_cast<const char*>(message.body.bytes), message.body.len)});
            break;
        }
        case AMQP_BASIC_RETURN_METHOD: {
            amqp_message_t message;
            const auto reply = amqp_read_message(state, ch, &message, 0);
            if (reply.reply_type != AMQP_RESPONSE_NORMAL) throw ConnectionLost("return");
            amqp_destroy_message(&message);
            break;
        }
        case AMQP_BASIC_CANCEL_METHOD:
            on_incoming({Incoming::Kind::ConsumerCancelled, ch, 0, false, {}});
            break;
        case AMQP_CHANNEL_CLOSE_METHOD: {
            amqp_channel_close_ok_t close_ok{};
            amqp_send_method(state, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
            on_incoming({Incoming::Kind::ChannelClosed, ch, 0, false, {}});
            break;
        }
        case AMQP_CONNECTION_CLOSE_METHOD: {
            amqp_connection_close_ok_t close_ok{};
            amqp_send_method(state, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &close_ok);
            throw ConnectionLost("connection closed by the broker");
        }
        default:
            break;
    }
}

}  // namespace

BrokerAddress BrokerAddress::parse(const std::string& url) {
    std::string buffer = url;  // amqp_parse_url cuts it in place; info points into it
    amqp_connection_info info{};
    amqp_default_connection_info(&info);
    if (amqp_parse_url(buffer.data(), &info) != AMQP_STATUS_OK || info.ssl) {
        throw std::invalid_argument("--amqp-url: not an amqp://user:pass@host:port/vhost URL");
    }
    return BrokerAddress{info.host, info.port, info.user, info.password,
                         info.vhost && *info.vhost ? info.vhost : "/"};
}

Backoff::Backoff(std::chrono::milliseconds base, std::chrono::milliseconds cap, unsigned seed)
    : base_(base), cap_(cap), state_(seed * 6364136223846793005ull + 1442695040888963407ull) {}

std::chrono::milliseconds Backoff::ceiling() const {
    auto ceiling = base_;
    for (unsigned i = 0; i < attempt_ && ceiling < cap_; ++i) ceiling *= 2;
    return std::min(ceiling, cap_);
}

std::chrono::milliseconds Backoff::next() {
    const auto upper = ceiling();
    ++attempt_;
    // splitmix64: good enough spread for jitter, deterministic for a given seed (tests).
    state_ += 0x9e3779b97f4a7c15ull;
    unsigned long long z = state_;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return std::chrono::milliseconds(
        static_cast<long long>(z % static_cast<unsigned long long>(upper.count() + 1)));
}

WakeSignal::WakeSignal() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error("eventfd failed");
}

WakeSignal::~WakeSignal() {
    close(fd_);
}

void WakeSignal::wake() {
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = write(fd_, &one, sizeof one);
}

void WakeSignal::drain() {
    std::uint64_t value;
    [[maybe_unused]] auto n = read(fd_, &value, sizeof value);
}

void WakeSignal::wait(std::chrono::milliseconds timeout) {
    pollfd fd{fd_, POLLIN, 0};
    poll(&fd, 1, static_cast<int>(timeout.count()));
    if (fd.revents & POLLIN) drain();
}

AmqpConnection::AmqpConnection(const BrokerAddress& address,
                               int heartbeat_s,
                               Channel first_disposable)
    : state_(amqp_new_connection()), first_disposable_(first_disposable) {
    try {
        amqp_socket_t* socket = amqp_tcp_socket_new(state_);
        if (!socket) throw ConnectionLost("cannot create a socket");
        timeval timeout{2, 0};
        const int status =
            amqp_socket_open_noblock(socket, address.host.c_str(), address.port, &timeout);
        if (status != AMQP_STATUS_OK) {
            throw ConnectionLost(std::string("cannot connect to ") + address.host + ":" +
                                 std::to_string(address.port) + ": " + amqp_error_string2(status));
        }
        const auto login =
            amqp_login(state_, address.vhost.c_str(), 0, 131072, heartbeat_s,
                       AMQP_SASL_METHOD_PLAIN, address.user.c_str(), address.password.c_str());
        if (login.reply_type != AMQP_RESPONSE_NORMAL) {
            throw ConnectionLost("login to vhost " + address.vhost + ": " + describe(login));
        }
    } catch (...) {
        amqp_destroy_connection(state_);
        throw;
    }
}

AmqpConnection::~AmqpConnection() {
    amqp_destroy_connection(state_);
}

bool AmqpConnection::check(const char* what, Channel channel) {
    const auto reply = amqp_get_rpc_reply(state_);
    if (reply.reply_type == AMQP_RESPONSE_NORMAL) return true;
    if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
        reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_ok_t close_ok{};
        amqp_send_method(state_, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
        if (channel < first_disposable_) {
            throw ConnectionLost(std::string(what) + ": " + describe(reply));
        }
        spdlog::debug("amqp: {} on channel {}: {}", what, channel, describe(reply));
        return false;
    }
    throw ConnectionLost(std::string(what) + ": " + describe(reply));
}

bool AmqpConnection::open_channel(Channel channel) {
    amqp_channel_open(state_, channel);
    return check("channel.open", channel);
}

bool AmqpConnection::select_confirms(Channel channel) {
    amqp_confirm_select(state_, channel);
    return check("confirm.select", channel);
}

bool AmqpConnection::declare_fanout(Channel channel, std::string_view exchange) {
    amqp_exchange_declare(state_, channel, bytes(exchange), amqp_cstring_bytes("fanout"), 0, 0, 0,
                          0, amqp_empty_table);
    const std::string what = "exchange.declare " + std::string(exchange);
    return check(what.c_str(), channel);
}

bool AmqpConnection::declare_queue(Channel channel,
                                   const std::string& queue,
                                   QueueFlags flags,
                                   std::span<const QueueArgument> arguments,
                                   const char* what) {
    std::vector<amqp_table_entry_t> entries;
    for (const auto& argument : arguments) {
        amqp_table_entry_t entry{};
        entry.key = bytes(argument.name);
        entry.value.kind = AMQP_FIELD_KIND_I32;
        entry.value.value.i32 = argument.value;
        entries.push_back(entry);
    }
    amqp_queue_declare(state_, channel, bytes(queue), 0, flags.durable, flags.exclusive,
                       flags.auto_delete,
                       amqp_table_t{static_cast<int>(entries.size()), entries.data()});
    return check(what, channel);
}

bool AmqpConnection::bind(Channel channel,
                          const std::string& queue,
                          std::string_view exchange,
                          const char* what) {
    amqp_queue_bind(state_, channel, bytes(queue), bytes(exchange), amqp_empty_bytes,
                    amqp_empty_table);
    return check(what, channel);
}

bool AmqpConnection::set_prefetch(Channel channel, int prefetch) {
    amqp_basic_qos(state_, channel, 0, static_cast<std::uint16_t>(prefetch), 0);
    return check("basic.qos", channel);
}

bool AmqpConnection::consume(Channel channel,
                             const std::string& queue,
                             bool auto_ack,
                             const char* what) {
    amqp_basic_consume(state_, channel, bytes(queue), amqp_empty_bytes, 0, auto_ack, 1,
                       amqp_empty_table);
    return check(what, channel);
}

bool AmqpConnection::delete_queue(Channel channel, const std::string& queue) {
    amqp_queue_delete(state_, channel, bytes(queue), 0, 0);
    return check("queue.delete", channel);
}

void AmqpConnection::close_channel(Channel channel) {
    const auto reply = amqp_channel_close(state_, channel, AMQP_REPLY_SUCCESS);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
        throw ConnectionLost("channel.close: " + describe(reply));
    }
}

void AmqpConnection::close() {
    amqp_connection_close(state_, AMQP_REPLY_SUCCESS);
}

void AmqpConnection::publish(Channel channel,
                             std::string_view exchange,
                             const std::string& routing_key,
                             const std::string& body,
                             bool persistent) {
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = persistent ? AMQP_DELIVERY_PERSISTENT : AMQP_DELIVERY_NONPERSISTENT;
    const int status = amqp_basic_publish(state_, channel, bytes(exchange), bytes(routing_key), 0,
                                          0, &props, bytes(body));
    if (status != AMQP_STATUS_OK) {
        throw ConnectionLost(std::string("basic.publish: ") + amqp_error_string2(status));
    }
}

void AmqpConnection::ack_up_to(Channel channel, std::uint64_t tag) {
    if (amqp_basic_ack(state_, channel, tag, 1) != AMQP_STATUS_OK) {
        throw ConnectionLost("basic.ack");
    }
}

void AmqpConnection::read(std::chrono::milliseconds wait,
                          WakeSignal& wake,
                          std::size_t max_frames,
                          const std::function<void(const Incoming&)>& on_incoming) {
    if (!amqp_frames_enqueued(state_) && !amqp_data_in_buffer(state_)) {
        pollfd fds[2] = {{amqp_get_sockfd(state_), POLLIN, 0}, {wake.fd(), POLLIN, 0}};
        poll(fds, 2, static_cast<int>(wait.count()));
        if (fds[1].revents & POLLIN) wake.drain();
    }
    for (std::size_t i = 0; i < max_frames; ++i) {
        amqp_frame_t frame;
        timeval zero{0, 0};
        const int status = amqp_simple_wait_frame_noblock(state_, &frame, &zero);
        if (status == AMQP_STATUS_TIMEOUT) break;
        if (status != AMQP_STATUS_OK) {
            throw ConnectionLost(std::string("read: ") + amqp_error_string2(status));
        }
        handle_frame(state_, frame, on_incoming);
    }
}

void AmqpConnection::release_buffers() {
    amqp_maybe_release_buffers(state_);
}

}  // namespace chatd::bus
