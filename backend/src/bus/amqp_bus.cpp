#include "bus/amqp_bus.hpp"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <shared_mutex>
#include <stdexcept>
#include <thread>

#include "bus/presence_directory.hpp"
#include "bus/wire.hpp"
#include "metrics/metrics.hpp"

namespace chatd::bus {
namespace {

using Clock = std::chrono::steady_clock;

constexpr amqp_channel_t kPublishChannel = 1;
constexpr amqp_channel_t kNodeChannel = 2;    // per-node: the node's queue
constexpr amqp_channel_t kEventsChannel = 3;  // chat.events: the node's exclusive queue
constexpr amqp_channel_t kFirstUserChannel = 10;
constexpr amqp_channel_t kLastUserChannel = 2000;  // RabbitMQ's default channel_max is 2047
constexpr const char* kChatExchange = "chat";
constexpr const char* kEventsExchange = "chat.events";
// Per-node: messages of rooms other than general (chatd only; `chat` carries general alone).
constexpr const char* kRoomsExchange = "chat.rooms";
// Per-user: messages of rooms other than general go to each member's queue through the
// default exchange (routing key = queue name).
constexpr const char* kDefaultExchange = "";
constexpr auto kHeldElsewhereRetry = std::chrono::milliseconds(1000);
constexpr auto kPollInterval = std::chrono::milliseconds(100);
constexpr std::size_t kMaxFramesPerStep = 512;

// The connection went away (or a core channel did): tear down and reconnect.
struct ConnectionLost : std::runtime_error {
    using std::runtime_error::runtime_error;
};

amqp_bytes_t bytes(const std::string& s) {
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

}  // namespace

std::span<const QueueArgument> node_queue_arguments() {
    static constexpr QueueArgument kArguments[] = {
        {"x-expires", 3600 * 1000},
        {"x-max-length", 100000},
    };
    return kArguments;
}

namespace {

// node_queue_arguments() as a rabbitmq-c table (static storage, read only).
amqp_table_t node_queue_table() {
    static const std::vector<amqp_table_entry_t> entries = [] {
        std::vector<amqp_table_entry_t> out;
        for (const auto& argument : node_queue_arguments()) {
            amqp_table_entry_t entry{};
            entry.key = amqp_bytes_t{argument.name.size(), const_cast<char*>(argument.name.data())};
            entry.value.kind = AMQP_FIELD_KIND_I32;
            entry.value.value.i32 = argument.value;
            out.push_back(entry);
        }
        return out;
    }();
    return amqp_table_t{static_cast<int>(entries.size()),
                        const_cast<amqp_table_entry_t*>(entries.data())};
}

}  // namespace

struct AmqpBus::Impl {
    Impl(AmqpOptions o, metrics::Metrics& m)
        : options(std::move(o)),
          metrics(m),
          directory(options.presence_interval * options.presence_misses),
          backoff(options.backoff_base, options.backoff_cap, std::random_device{}()) {
        url_buffer = options.url;
        amqp_connection_info info{};
        amqp_default_connection_info(&info);
        if (amqp_parse_url(url_buffer.data(), &info) != AMQP_STATUS_OK || info.ssl) {
            throw std::invalid_argument("--amqp-url: not an amqp://user:pass@host:port/vhost URL");
        }
        host = info.host;
        port = info.port;
        user = info.user;
        password = info.password;
        vhost = info.vhost && *info.vhost ? info.vhost : "/";
        if (options.node_id.empty()) throw std::invalid_argument("AmqpBus needs a node id");
        events_queue = "chatd:events:" + options.node_id;
        node_queue = "chatd:node:" + options.node_id;
        wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (wake_fd < 0) throw std::runtime_error("eventfd failed");
    }

    ~Impl() {
        if (wake_fd >= 0) close(wake_fd);
    }

    // --- shared between threads ---------------------------------------------------------
    AmqpOptions options;
    metrics::Metrics& metrics;
    std::string url_buffer, host, user, password, vhost, events_queue, node_queue;
    int port = 5672;
    int wake_fd = -1;

    std::shared_mutex handler_mutex;
    Handler handler;
    std::function<void()> connected_callback;
    std::function<void()> resubscribed_callback;
    // A connection attempt failed or the connection was lost since the last connect: the next
    // connect is a recovery, after which local clients must resync (on_resubscribed). Not at
    // a first connect that succeeds at once: no client can have missed anything yet.
    bool recovering = false;

    struct Outgoing {
        std::string body;
        const char* exchange;
        bool persistent;
        Completion done;
        // Default exchange: one copy per queue (routing key = queue name), `done` once.
        std::vector<std::string> queues;
    };
    std::mutex mutex;  // guards outgoing, wanted, users_dirty
    std::deque<Outgoing> outgoing;
    std::set<std::string> wanted;  // users with a connection on this node
    bool users_dirty = false;
    std::set<std::string> settled;  // wanted users whose queue this node consumes or tried to
    std::map<std::string, std::vector<std::function<void()>>> waiters;

    mutable std::mutex directory_mutex;
    PresenceDirectory directory;

    std::atomic<bool> running{false};
    std::atomic<bool> connected{false};
    std::atomic<bool> publish_failed{false};
    std::thread thread;

    // --- owned by the bus thread ---------------------------------------------------------
    amqp_connection_state_t conn = nullptr;
    Backoff backoff;
    struct Pending {
        std::uint64_t tag;
        Completion done;
        Clock::time_point start;
        bool message;
    };
    std::deque<Pending> unconfirmed;
    std::uint64_t next_tag = 1;
    struct UserQueue {
        amqp_channel_t channel = 0;  // 0: not consuming
        Clock::time_point retry_at{};
    };
    std::map<std::string, UserQueue> users;
    std::map<amqp_channel_t, std::string> channel_user;
    // Highest delivery tag per consuming channel handed to the hub and not acked yet: acked with
    // multiple=true once per read batch (flush_acks), and before anything that would give the
    // channel's unacked messages back to the broker (closing it, deleting its queue, stopping).
    std::vector<std::pair<amqp_channel_t, std::uint64_t>> pending_acks;
    // Per-user: the same body arrives once per user queue, the queues' deliveries interleaved;
    // the last bodies decoded from user queues and their results (decode_wire is pure and
    // events are immutable, so a hit is exactly a decode). Round-robin replacement.
    struct Decoded {
        std::string body;
        Wire wire;
    };
    static constexpr std::size_t kDecodeCacheSize = 16;
    std::array<Decoded, kDecodeCacheSize> decode_cache;
    std::size_t decode_cache_next = 0;
    Wire node_wire;  // the node's and the events queue's delivery being handled
    amqp_channel_t next_channel = kFirstUserChannel;
    Clock::time_point next_heartbeat{};
    Clock::time_point last_sweep{};
    Clock::time_point next_retry{};
    bool logged_down = false;

    void wake() {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = write(wake_fd, &one, sizeof one);
    }

    void drain_wake() {
        std::uint64_t value;
        [[maybe_unused]] auto n = read(wake_fd, &value, sizeof value);
    }

    void deliver(const model::EventPtr& event, const std::string& only_user) {
        std::shared_lock lock(handler_mutex);
        if (handler) handler(event, only_user);
    }

    bool is_local(const std::string& user_name) {
        std::lock_guard lock(mutex);
        return wanted.contains(user_name);
    }

    void fail(Completion& done) {
        metrics.broker_publish_failures.Increment();
        publish_failed = true;
        if (done) done(false);
    }

    // Throws ConnectionLost for a connection-level failure; returns false when only `channel`
    // was closed by the broker (after answering close-ok).
    bool check(const char* what, amqp_channel_t channel) {
        const auto reply = amqp_get_rpc_reply(conn);
        if (reply.reply_type == AMQP_RESPONSE_NORMAL) return true;
        if (reply.reply_type == AMQP_RESPONSE_SERVER_EXCEPTION &&
            reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_ok_t close_ok{};
            amqp_send_method(conn, channel, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
            if (channel < kFirstUserChannel) {
                throw ConnectionLost(std::string(what) + ": " + describe(reply));
            }
            spdlog::debug("amqp: {} on channel {}: {}", what, channel, describe(reply));
            return false;
        }
        throw ConnectionLost(std::string(what) + ": " + describe(reply));
    }

    void connect() {
        conn = amqp_new_connection();
        amqp_socket_t* socket = amqp_tcp_socket_new(conn);
        if (!socket) throw ConnectionLost("cannot create a socket");
        timeval timeout{2, 0};
        const int status = amqp_socket_open_noblock(socket, host.c_str(), port, &timeout);
        if (status != AMQP_STATUS_OK) {
            throw ConnectionLost(std::string("cannot connect to ") + host + ":" +
                                 std::to_string(port) + ": " + amqp_error_string2(status));
        }
        const auto login = amqp_login(conn, vhost.c_str(), 0, 131072, options.heartbeat_s,
                                      AMQP_SASL_METHOD_PLAIN, user.c_str(), password.c_str());
        if (login.reply_type != AMQP_RESPONSE_NORMAL) {
            throw ConnectionLost("login to vhost " + vhost + ": " + describe(login));
        }
        amqp_channel_open(conn, kPublishChannel);
        check("channel.open", kPublishChannel);
        amqp_confirm_select(conn, kPublishChannel);
        check("confirm.select", kPublishChannel);
        next_tag = 1;

        // Exactly the brief's declaration of `chat`: fanout, not durable, not auto-delete, no
        // arguments (so its scripts and chatd never disagree: PRECONDITION_FAILED otherwise).
        amqp_channel_open(conn, kEventsChannel);
        check("channel.open", kEventsChannel);
        amqp_exchange_declare(conn, kEventsChannel, amqp_cstring_bytes(kChatExchange),
                              amqp_cstring_bytes("fanout"), 0, 0, 0, 0, amqp_empty_table);
        check("exchange.declare chat", kEventsChannel);
        amqp_exchange_declare(conn, kEventsChannel, amqp_cstring_bytes(kEventsExchange),
                              amqp_cstring_bytes("fanout"), 0, 0, 0, 0, amqp_empty_table);
        check("exchange.declare chat.events", kEventsChannel);
        amqp_exchange_declare(conn, kEventsChannel, amqp_cstring_bytes(kRoomsExchange),
                              amqp_cstring_bytes("fanout"), 0, 0, 0, 0, amqp_empty_table);
        check("exchange.declare chat.rooms", kEventsChannel);
        amqp_queue_declare(conn, kEventsChannel, bytes(events_queue), 0, 0, 1, 1, amqp_empty_table);
        check("queue.declare events", kEventsChannel);
        amqp_queue_bind(conn, kEventsChannel, bytes(events_queue),
                        amqp_cstring_bytes(kEventsExchange), amqp_empty_bytes, amqp_empty_table);
        check("queue.bind events", kEventsChannel);
        amqp_basic_consume(conn, kEventsChannel, bytes(events_queue), amqp_empty_bytes, 0, 1, 1,
                           amqp_empty_table);
        check("basic.consume events", kEventsChannel);

        if (options.topology == Topology::PerNode) {
            amqp_channel_open(conn, kNodeChannel);
            check("channel.open", kNodeChannel);
            amqp_queue_declare(conn, kNodeChannel, bytes(node_queue), 0, 1, 0, 0,
                               node_queue_table());
            check("queue.declare node", kNodeChannel);
            amqp_queue_bind(conn, kNodeChannel, bytes(node_queue),
                            amqp_cstring_bytes(kChatExchange), amqp_empty_bytes, amqp_empty_table);
            check("queue.bind node", kNodeChannel);
            amqp_queue_bind(conn, kNodeChannel, bytes(node_queue),
                            amqp_cstring_bytes(kRoomsExchange), amqp_empty_bytes, amqp_empty_table);
            check("queue.bind node rooms", kNodeChannel);
            amqp_basic_qos(conn, kNodeChannel, 0, static_cast<std::uint16_t>(options.prefetch), 0);
            check("basic.qos", kNodeChannel);
            // Bound again, not consuming yet: clients that reconnect from now on resync past
            // anything that missed this queue, and nothing consumed reaches the old sockets.
            if (recovering && resubscribed_callback) resubscribed_callback();
            amqp_basic_consume(conn, kNodeChannel, bytes(node_queue), amqp_empty_bytes, 0, 0, 1,
                               amqp_empty_table);
            check("basic.consume node", kNodeChannel);
        }
        users.clear();
        channel_user.clear();
        {
            std::lock_guard lock(mutex);
            users_dirty = true;
        }
        // Per-user: no user queue is consumed yet (reconcile_users does it next); a client that
        // reconnects waits in when_subscribed until its queue is bound, then resyncs.
        if (recovering && options.topology == Topology::PerUser && resubscribed_callback) {
            resubscribed_callback();
        }
        recovering = false;
        connected = true;
        metrics.broker_connected.Set(1);
        metrics.broker_reconnects.Increment();
        backoff.reset();
        spdlog::info("amqp: connected to {}:{} vhost {} ({} topology, node {})", host, port, vhost,
                     options.topology == Topology::PerUser ? "per-user" : "per-node",
                     options.node_id);
        logged_down = false;
        next_heartbeat = Clock::now();
        sweep();
    }

    // Asks the service to republish its outbox (after a connect or a failed publish).
    void sweep() {
        publish_failed = false;
        last_sweep = Clock::now();
        if (connected_callback) connected_callback();
    }

    void teardown(const std::string& why) {
        if (why != "stopped") recovering = true;
        if (conn) {
            if (!logged_down && why != "stopped") spdlog::warn("amqp: disconnected: {}", why);
            logged_down = true;
            amqp_destroy_connection(conn);
            conn = nullptr;
        }
        connected = false;
        metrics.broker_connected.Set(0);
        for (auto& p : unconfirmed) {
            if (p.message) fail(p.done);
        }
        unconfirmed.clear();
        pending_acks.clear();
        users.clear();
        channel_user.clear();
        {
            std::lock_guard lock(mutex);
            settled.clear();
        }
        settle_all();  // nobody waits for a broker that is down
        fail_outgoing();
    }

    void fail_outgoing() {
        std::deque<Outgoing> dropped;
        {
            std::lock_guard lock(mutex);
            dropped.swap(outgoing);
        }
        for (auto& o : dropped) {
            if (o.persistent) fail(o.done);
        }
    }

    void send_publish(const std::string& body,
                      const char* exchange,
                      bool persistent,
                      Completion done,
                      const std::string& routing_key = {}) {
        amqp_basic_properties_t props{};
        props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
        props.content_type = amqp_cstring_bytes("application/json");
        props.delivery_mode = persistent ? AMQP_DELIVERY_PERSISTENT : AMQP_DELIVERY_NONPERSISTENT;
        const int status = amqp_basic_publish(conn, kPublishChannel, amqp_cstring_bytes(exchange),
                                              bytes(routing_key), 0, 0, &props, bytes(body));
        // Every publish on the confirm channel takes the next delivery tag, acked or not.
        unconfirmed.push_back(Pending{next_tag++, std::move(done), Clock::now(), persistent});
        if (status != AMQP_STATUS_OK) {
            throw ConnectionLost(std::string("basic.publish: ") + amqp_error_string2(status));
        }
    }

    void confirm(std::uint64_t tag, bool multiple, bool ok) {
        const auto now = Clock::now();
        auto finish = [&](Pending& p) {
            if (!p.message) return;
            if (ok) {
                metrics.broker_publish_confirm_seconds.Observe(
                    std::chrono::duration<double>(now - p.start).count());
                if (p.done) p.done(true);
            } else {
                fail(p.done);
            }
        };
        if (multiple) {
            while (!unconfirmed.empty() && unconfirmed.front().tag <= tag) {
                finish(unconfirmed.front());
                unconfirmed.pop_front();
            }
            return;
        }
        for (auto it = unconfirmed.begin(); it != unconfirmed.end(); ++it) {
            if (it->tag == tag) {
                finish(*it);
                unconfirmed.erase(it);
                return;
            }
        }
    }

    amqp_channel_t allocate_channel() {
        for (int i = 0; i <= kLastUserChannel - kFirstUserChannel; ++i) {
            const amqp_channel_t ch = next_channel;
            next_channel = next_channel >= kLastUserChannel ? kFirstUserChannel : next_channel + 1;
            if (!channel_user.contains(ch)) return ch;
        }
        return 0;
    }

    // Declares (exactly as the brief: durable, no arguments), binds and consumes the user's
    // queue. The consume is exclusive: when another node holds it, the broker refuses with 403
    // and that node forwards the user's messages to us (docs/architecture.md).
    void consume_user(const std::string& name, UserQueue& state) {
        const amqp_channel_t ch = allocate_channel();
        if (ch == 0) {
            state.retry_at = Clock::now() + std::chrono::seconds(5);
            spdlog::warn("amqp: no free channel to consume the queue of {}", name);
            return;
        }
        channel_user[ch] = name;  // reserved while we try
        amqp_channel_open(conn, ch);
        bool ok = check("channel.open", ch);
        if (ok) {
            amqp_queue_declare(conn, ch, bytes(name), 0, 1, 0, 0, amqp_empty_table);
            ok = check("queue.declare user", ch);
        }
        if (ok) {
            amqp_queue_bind(conn, ch, bytes(name), amqp_cstring_bytes(kChatExchange),
                            amqp_empty_bytes, amqp_empty_table);
            ok = check("queue.bind user", ch);
        }
        if (ok) {
            amqp_basic_qos(conn, ch, 0, static_cast<std::uint16_t>(options.prefetch), 0);
            ok = check("basic.qos", ch);
        }
        if (ok) {
            amqp_basic_consume(conn, ch, bytes(name), amqp_empty_bytes, 0, 0, 1, amqp_empty_table);
            ok = check("basic.consume user", ch);
        }
        if (ok) {
            state.channel = ch;
        } else {
            channel_user.erase(ch);
            state.channel = 0;
            state.retry_at = Clock::now() + kHeldElsewhereRetry;
        }
    }

    void ack_later(amqp_channel_t ch, std::uint64_t tag) {
        for (auto& [channel, last] : pending_acks) {
            if (channel == ch) {
                last = tag;  // tags grow per channel: one multiple=true ack covers the earlier
                return;
            }
        }
        pending_acks.emplace_back(ch, tag);
    }

    void send_ack(amqp_channel_t ch, std::uint64_t tag) {
        if (amqp_basic_ack(conn, ch, tag, 1) != AMQP_STATUS_OK) throw ConnectionLost("basic.ack");
    }

    void flush_acks() {
        for (const auto& [ch, tag] : pending_acks) send_ack(ch, tag);
        pending_acks.clear();
    }

    void flush_ack(amqp_channel_t ch) {
        for (auto it = pending_acks.begin(); it != pending_acks.end(); ++it) {
            if (it->first == ch) {
                send_ack(it->first, it->second);
                pending_acks.erase(it);
                return;
            }
        }
    }

    // The broker closed `ch`: its unacked messages are back in the queue, acks would fail.
    void forget_acks(amqp_channel_t ch) {
        std::erase_if(pending_acks, [ch](const auto& p) { return p.first == ch; });
    }

    void release_user(UserQueue& state) {
        if (state.channel == 0) return;
        const auto ch = state.channel;
        state.channel = 0;
        // What was handed to the user's connections stays acked; the rest goes back.
        flush_ack(ch);
        const auto reply = amqp_channel_close(conn, ch, AMQP_REPLY_SUCCESS);
        channel_user.erase(ch);
        if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
            throw ConnectionLost("channel.close: " + describe(reply));
        }
    }

    void reconcile_users() {
        if (options.topology != Topology::PerUser) return;
        const auto now = Clock::now();
        std::set<std::string> want;
        {
            std::lock_guard lock(mutex);
            if (!users_dirty && now < next_retry) return;
            users_dirty = false;
            want = wanted;
        }
        for (auto it = users.begin(); it != users.end();) {
            if (!want.contains(it->first)) {
                release_user(it->second);
                it = users.erase(it);
            } else {
                ++it;
            }
        }
        next_retry = Clock::time_point::max();
        for (const auto& name : want) {
            auto& state = users[name];
            if (state.channel == 0 && now >= state.retry_at) {
                consume_user(name, state);
                settle(name);
            }
            if (state.channel == 0) next_retry = std::min(next_retry, state.retry_at);
        }
    }

    // The user's subscription attempt is over (consuming, held elsewhere, or failed).
    void settle(const std::string& name) {
        std::vector<std::function<void()>> ready;
        {
            std::lock_guard lock(mutex);
            if (!wanted.contains(name)) return;
            settled.insert(name);
            auto it = waiters.find(name);
            if (it != waiters.end()) {
                ready = std::move(it->second);
                waiters.erase(it);
            }
        }
        for (auto& f : ready) f();
    }

    void settle_all() {
        std::map<std::string, std::vector<std::function<void()>>> ready;
        {
            std::lock_guard lock(mutex);
            ready.swap(waiters);
        }
        for (auto& [name, list] : ready) {
            for (auto& f : list) f();
        }
    }

    bool holds(const std::string& name) const {
        auto it = users.find(name);
        return it != users.end() && it->second.channel != 0;
    }

    const Wire& decode_cached(amqp_channel_t ch, std::string_view body) {
        if (ch < kFirstUserChannel) {
            node_wire = decode_wire(body);  // every body arrives once: nothing to reuse
            return node_wire;
        }
        for (const auto& entry : decode_cache) {
            if (entry.body == body) return entry.wire;
        }
        auto& entry = decode_cache[decode_cache_next];
        decode_cache_next = (decode_cache_next + 1) % kDecodeCacheSize;
        entry.wire = decode_wire(body);
        entry.body.assign(body);
        return entry.wire;
    }

    void on_delivery(amqp_channel_t ch, std::uint64_t tag, std::string_view body) {
        const Wire& wire = decode_cached(ch, body);
        if (ch == kEventsChannel) {
            on_event(wire);
            return;
        }
        std::string only_user;
        if (ch != kNodeChannel) {
            auto it = channel_user.find(ch);
            if (it == channel_user.end()) return;  // closed meanwhile: the broker requeues it
            only_user = it->second;
            bool here;
            {
                std::lock_guard lock(mutex);
                here = wanted.contains(only_user);
            }
            if (!here) {
                // The user's last connection here is gone (maybe to the other node, whose
                // consume waits for ours to end): acking would drop the message for them. Closing
                // the channel unacked gives the queue, this message included, to the next holder.
                release_user(users[only_user]);
                return;
            }
        }
        bool delete_queue = false;
        if (wire.kind == Wire::Kind::Event) {
            if (const auto* m = std::get_if<model::Message>(wire.event.get())) {
                deliver(wire.event, only_user);
                if (!only_user.empty()) {
                    bool elsewhere;
                    {
                        std::lock_guard lock(directory_mutex);
                        elsewhere = directory.online(only_user);
                    }
                    if (elsewhere) {
                        send_publish(encode_forward(*m, options.node_id, only_user),
                                     kEventsExchange, false, nullptr);
                    }
                    // The brief: a DISCONNECTION_MESSAGE removes the sender's queue.
                    delete_queue =
                        m->kind == model::MessageKind::Leave && m->user_name == only_user;
                }
            }
        } else {
            spdlog::debug("amqp: dropped a body on channel {}: {}", ch, wire.error);
        }
        ack_later(ch, tag);
        if (delete_queue) {
            flush_ack(ch);
            amqp_queue_delete(conn, ch, bytes(only_user), 0, 0);
            if (check("queue.delete", ch)) {
                auto& state = users[only_user];
                release_user(state);
                // Its /receive streams are closing; do not recreate the queue before they have.
                state.retry_at = Clock::now() + std::chrono::seconds(3);
                std::lock_guard lock(mutex);
                users_dirty = true;
            }
        }
    }

    void on_event(const Wire& wire) {
        if (wire.node == options.node_id || wire.kind == Wire::Kind::Invalid) return;
        const auto now = Clock::now();
        if (wire.kind == Wire::Kind::Heartbeat) {
            std::lock_guard lock(directory_mutex);
            directory.heartbeat(wire.node, wire.users, now);
            return;
        }
        if (wire.kind == Wire::Kind::Forward) {
            if (is_local(wire.user) && !holds(wire.user)) deliver(wire.event, wire.user);
            return;
        }
        if (const auto* p = std::get_if<model::Presence>(wire.event.get())) {
            bool still_online;
            {
                std::lock_guard lock(directory_mutex);
                if (p->online) {
                    directory.user_online(wire.node, p->user_name, now);
                } else {
                    directory.user_offline(wire.node, p->user_name, now);
                }
                still_online = !p->online && directory.online(p->user_name);
            }
            if (!p->online && (still_online || is_local(p->user_name))) return;
        }
        deliver(wire.event, {});
    }

    void periodic() {
        const auto now = Clock::now();
        if (now >= next_heartbeat) {
            next_heartbeat = now + options.presence_interval;
            std::vector<std::string> local;
            {
                std::lock_guard lock(mutex);
                local.assign(wanted.begin(), wanted.end());
            }
            send_publish(encode_heartbeat(options.node_id, local), kEventsExchange, false, nullptr);
            std::vector<std::string> gone;
            {
                std::lock_guard lock(directory_mutex);
                gone = directory.expire(now);
            }
            for (const auto& name : gone) {
                if (is_local(name)) continue;
                deliver(std::make_shared<const model::Event>(model::Presence{name, false}), {});
            }
        }
        if (publish_failed && now - last_sweep > std::chrono::seconds(1)) sweep();
    }

    void drain_outgoing() {
        std::deque<Outgoing> batch;
        {
            std::lock_guard lock(mutex);
            batch.swap(outgoing);
        }
        while (!batch.empty()) {
            auto o = std::move(batch.front());
            batch.pop_front();
            try {
                if (o.queues.empty()) {
                    send_publish(o.body, o.exchange, o.persistent, std::move(o.done));
                } else {
                    publish_copies(o);
                }
            } catch (...) {
                for (auto& rest : batch) {
                    if (rest.persistent) fail(rest.done);
                }
                throw;
            }
        }
    }

    // One copy per queue on the default exchange; the completion runs once: true when every
    // copy is confirmed, false at the first failure. Bus thread only.
    void publish_copies(Outgoing& o) {
        struct Copies {
            std::size_t left;
            Completion done;
        };
        auto copies = std::make_shared<Copies>(Copies{o.queues.size(), std::move(o.done)});
        const auto each = [copies](bool ok) {
            if (copies->left == 0) return;  // already failed
            copies->left = ok ? copies->left - 1 : 0;
            if ((!ok || copies->left == 0) && copies->done) copies->done(ok);
        };
        for (const auto& queue : o.queues) {
            send_publish(o.body, kDefaultExchange, o.persistent, each, queue);
        }
    }

    void read_frames(std::chrono::milliseconds wait) {
        if (!amqp_frames_enqueued(conn) && !amqp_data_in_buffer(conn)) {
            pollfd fds[2] = {{amqp_get_sockfd(conn), POLLIN, 0}, {wake_fd, POLLIN, 0}};
            poll(fds, 2, static_cast<int>(wait.count()));
            if (fds[1].revents & POLLIN) drain_wake();
        }
        for (std::size_t i = 0; i < kMaxFramesPerStep; ++i) {
            amqp_frame_t frame;
            timeval zero{0, 0};
            const int status = amqp_simple_wait_frame_noblock(conn, &frame, &zero);
            if (status == AMQP_STATUS_TIMEOUT) break;
            if (status != AMQP_STATUS_OK) {
                throw ConnectionLost(std::string("read: ") + amqp_error_string2(status));
            }
            handle_frame(frame);
        }
        flush_acks();
        amqp_maybe_release_buffers(conn);
    }

    void handle_frame(const amqp_frame_t& frame) {
        if (frame.frame_type != AMQP_FRAME_METHOD) return;
        const auto ch = frame.channel;
        switch (frame.payload.method.id) {
            case AMQP_BASIC_ACK_METHOD: {
                const auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
                if (ch == kPublishChannel) confirm(ack->delivery_tag, ack->multiple, true);
                break;
            }
            case AMQP_BASIC_NACK_METHOD: {
                const auto* nack = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
                if (ch == kPublishChannel) confirm(nack->delivery_tag, nack->multiple, false);
                break;
            }
            case AMQP_BASIC_DELIVER_METHOD: {
                const auto* d = static_cast<amqp_basic_deliver_t*>(frame.payload.method.decoded);
                const std::uint64_t tag = d->delivery_tag;
                amqp_message_t message;
                const auto reply = amqp_read_message(conn, ch, &message, 0);
                if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
                    throw ConnectionLost("read message: " + describe(reply));
                }
                // The body is the message's own allocation, not the connection's buffers: it stays
                // valid while on_delivery talks to the broker.
                struct Destroy {
                    amqp_message_t& m;
                    ~Destroy() { amqp_destroy_message(&m); }
                } destroy{message};
                on_delivery(ch, tag,
                            std::string_view(static_cast<const char*>(message.body.bytes),
                                             message.body.len));
                break;
            }
            case AMQP_BASIC_RETURN_METHOD: {
                amqp_message_t message;
                const auto reply = amqp_read_message(conn, ch, &message, 0);
                if (reply.reply_type != AMQP_RESPONSE_NORMAL) throw ConnectionLost("return");
                amqp_destroy_message(&message);
                break;
            }
            case AMQP_BASIC_CANCEL_METHOD: {
                // The broker cancelled a consumer (its queue was deleted): consume again later.
                auto it = channel_user.find(ch);
                if (it == channel_user.end()) throw ConnectionLost("consumer cancelled");
                auto& state = users[it->second];
                release_user(state);
                state.retry_at = Clock::now() + kHeldElsewhereRetry;
                next_retry = std::min(next_retry, state.retry_at);
                break;
            }
            case AMQP_CHANNEL_CLOSE_METHOD: {
                amqp_channel_close_ok_t close_ok{};
                amqp_send_method(conn, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &close_ok);
                forget_acks(ch);
                auto it = channel_user.find(ch);
                if (it == channel_user.end()) throw ConnectionLost("channel closed by the broker");
                auto& state = users[it->second];
                state.channel = 0;
                state.retry_at = Clock::now() + kHeldElsewhereRetry;
                next_retry = std::min(next_retry, state.retry_at);
                channel_user.erase(it);
                break;
            }
            case AMQP_CONNECTION_CLOSE_METHOD: {
                amqp_connection_close_ok_t close_ok{};
                amqp_send_method(conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &close_ok);
                throw ConnectionLost("connection closed by the broker");
            }
            default:
                break;
        }
    }

    // Sleeps `delay` unless stopping; publishes arriving meanwhile fail at once.
    void idle(std::chrono::milliseconds delay) {
        const auto until = Clock::now() + delay;
        while (running && Clock::now() < until) {
            pollfd fd{wake_fd, POLLIN, 0};
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
            poll(&fd, 1, static_cast<int>(std::max<long long>(1, left.count())));
            if (fd.revents & POLLIN) drain_wake();
            fail_outgoing();
        }
    }

    void run() {
        // Named so that its CPU time can be read apart (/proc/<pid>/task/*/comm): the AMQP
        // client's work and chatd's consume path all run here (scripts/amqp-overhead).
        pthread_setname_np(pthread_self(), "chatd-amqp");
        while (running) {
            try {
                if (!conn) connect();
                reconcile_users();
                drain_outgoing();
                periodic();
                read_frames(kPollInterval);
            } catch (const std::exception& e) {
                if (!logged_down) spdlog::warn("amqp: {}", e.what());
                teardown(e.what());
                logged_down = true;
                idle(backoff.next());
            }
        }
        if (conn) {
            // Graceful stop: publish what is queued and wait (bounded) for its confirms.
            try {
                const auto deadline = Clock::now() + options.stop_grace;
                drain_outgoing();
                while (!unconfirmed.empty() && Clock::now() < deadline) {
                    read_frames(std::chrono::milliseconds(50));
                }
                flush_acks();
                amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
            } catch (const std::exception& e) {
                spdlog::warn("amqp: at stop: {}", e.what());
            }
        }
        teardown("stopped");
        settle_all();
    }
};

AmqpBus::AmqpBus(AmqpOptions options, metrics::Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), metrics)) {
    metrics.broker_connected.Set(0);
}

AmqpBus::~AmqpBus() {
    stop();
}

void AmqpBus::start(Handler on_event) {
    {
        std::unique_lock lock(impl_->handler_mutex);
        impl_->handler = std::move(on_event);
    }
    impl_->running = true;
    impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

void AmqpBus::publish(model::EventPtr event, Completion done) {
    enqueue(std::move(event), std::nullopt, std::move(done));
}

void AmqpBus::publish_to(model::EventPtr event,
                         std::vector<std::string> recipients,
                         Completion done) {
    enqueue(std::move(event), std::move(recipients), std::move(done));
}

bool AmqpBus::routes_by_member() const {
    return impl_->options.topology == Topology::PerUser;
}

void AmqpBus::enqueue(model::EventPtr event,
                      std::optional<std::vector<std::string>> recipients,
                      Completion done) {
    auto& impl = *impl_;
    const auto* message = std::get_if<model::Message>(event.get());
    if (!message) {
        // Ephemeral events reach this node's hub at once (even without a broker) and the other
        // nodes through chat.events; receivers skip their own node's copies.
        impl.deliver(event, {});
    }
    if (!impl.running || !impl.connected) {
        if (message) {
            impl.fail(done);
        } else if (done) {
            done(true);
        }
        return;
    }
    // Only general goes on the brief's `chat` fanout: every user queue (per-user) and every
    // plain AMQP reader bound to `chat` sees it. Other rooms reach only their members.
    const char* exchange = kEventsExchange;
    std::vector<std::string> queues;
    if (message) {
        if (message->room == model::kGeneralRoom) {
            exchange = kChatExchange;
        } else if (impl.options.topology == Topology::PerNode) {
            exchange = kRoomsExchange;
        } else if (!recipients) {
            spdlog::error("amqp: message {} of room {} published without its members", message->id,
                          message->room);
            impl.fail(done);
            return;
        } else if (recipients->empty()) {
            if (done) done(true);  // nobody to deliver to; the store has it
            return;
        } else {
            exchange = kDefaultExchange;
            queues = std::move(*recipients);
        }
    }
    Impl::Outgoing o{encode_event(*event, impl.options.node_id), exchange, message != nullptr,
                     std::move(done), std::move(queues)};
    bool queued = false;
    bool wake = false;
    {
        std::lock_guard lock(impl.mutex);
        if (impl.outgoing.size() < impl.options.max_queued) {
            wake = impl.outgoing.empty();
            impl.outgoing.push_back(std::move(o));
            queued = true;
        }
    }
    if (!queued) {
        // Full: the message stays in the store's outbox and is republished later.
        if (message) impl.fail(o.done);
        return;
    }
    if (wake) impl.wake();
}

void AmqpBus::user_online(const std::string& user_name) {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->wanted.insert(user_name);
        impl_->users_dirty = true;
    }
    impl_->wake();
}

void AmqpBus::when_subscribed(const std::string& user_name, std::function<void()> done) {
    auto& impl = *impl_;
    if (impl.options.topology == Topology::PerUser && impl.connected) {
        std::lock_guard lock(impl.mutex);
        if (impl.wanted.contains(user_name) && !impl.settled.contains(user_name)) {
            impl.waiters[user_name].push_back(std::move(done));
            return;
        }
    }
    done();
}

void AmqpBus::user_offline(const std::string& user_name) {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->wanted.erase(user_name);
        impl_->settled.erase(user_name);
        impl_->users_dirty = true;
    }
    impl_->wake();
}

bool AmqpBus::ready() const {
    return impl_->connected;
}

void AmqpBus::stop() {
    if (impl_->running.exchange(false)) impl_->wake();
    if (impl_->thread.joinable()) impl_->thread.join();
    std::unique_lock lock(impl_->handler_mutex);
    impl_->handler = nullptr;
}

std::string_view AmqpBus::origin_node() const {
    return impl_->options.node_id;
}

void AmqpBus::on_connected(std::function<void()> callback) {
    impl_->connected_callback = std::move(callback);
}

void AmqpBus::on_resubscribed(std::function<void()> callback) {
    impl_->resubscribed_callback = std::move(callback);
}

std::vector<std::string> AmqpBus::remote_users() const {
    std::lock_guard lock(impl_->directory_mutex);
    return impl_->directory.users();
}

}  // namespace chatd::bus
