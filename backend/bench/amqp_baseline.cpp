// amqp-baseline: the AMQP client's own cost, for the brief's distributed target ("chatd adds
// < 10% CPU per delivery over the AMQP client's own cost"; docs/benchmarks.md, "AMQP client
// overhead"). Single-threaded, rabbitmq-c only.
//
//   consume: consumes the same queue shape as one chatd node (per-node: one queue bound to `chat`
//            and `chat.rooms`; per-user: --users queues bound to `chat`, one channel each), with
//            chatd's prefetch and ack mode (manual; --ack batch: one basic.ack multiple=true per
//            channel once the bytes read so far are handled, as chatd does; --ack
//            each: one per delivery, as chatd before), and does nothing else with the bodies.
//            Prints one JSON line: deliveries, bytes and its CPU time.
//   publish: publishes chatd wire bodies (bus/wire.hpp: stored messages of room general from a
//            node that is not the one measured) to `chat` at a fixed rate, persistent, as chatd
//            does, so a chatd node delivers them to its local clients without storing them.
//
// scripts/amqp-overhead runs both against one chatd node and compares.

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <fmt/format.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "bus/amqp_bus.hpp"
#include "bus/wire.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
    std::string url = "amqp://guest:guest@127.0.0.1:5672/";
    std::string topology = "per-node";
    std::size_t users = 10;
    std::string queue_prefix = "baseline";
    int prefetch = 200;  // chatd's default (AmqpOptions::prefetch)
    std::string ack = "batch";
    std::uint64_t expect = 0;
    double idle_exit_s = 3;
    double max_s = 600;
    double rate = 1000;
    double duration = 10;
    std::size_t payload = 64;
    std::string node = "bench-source";
};

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "amqp-baseline: %s\n", what.c_str());
    std::exit(1);
}

void check(amqp_connection_state_t conn, const char* what) {
    const auto reply = amqp_get_rpc_reply(conn);
    if (reply.reply_type != AMQP_RESPONSE_NORMAL) die(fmt::format("{} failed", what));
}

amqp_bytes_t bytes(const std::string& s) {
    return amqp_bytes_t{s.size(), const_cast<char*>(s.data())};
}

amqp_connection_state_t open_connection(const std::string& url) {
    std::string buffer = url;
    amqp_connection_info info{};
    amqp_default_connection_info(&info);
    if (amqp_parse_url(buffer.data(), &info) != AMQP_STATUS_OK) die("bad --url");
    auto conn = amqp_new_connection();
    auto* socket = amqp_tcp_socket_new(conn);
    if (!socket || amqp_socket_open(socket, info.host, info.port) != AMQP_STATUS_OK) {
        die("cannot connect");
    }
    // chatd's login parameters (frame_max 131072, heartbeat 5 s).
    const auto login = amqp_login(conn, info.vhost && *info.vhost ? info.vhost : "/", 0, 131072, 5,
                                  AMQP_SASL_METHOD_PLAIN, info.user, info.password);
    if (login.reply_type != AMQP_RESPONSE_NORMAL) die("login failed");
    return conn;
}

double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

void declare_exchanges(amqp_connection_state_t conn, amqp_channel_t ch) {
    for (const char* name : {"chat", "chat.rooms"}) {
        amqp_exchange_declare(conn, ch, amqp_cstring_bytes(name), amqp_cstring_bytes("fanout"), 0,
                              0, 0, 0, amqp_empty_table);
        check(conn, "exchange.declare");
    }
}

int consume(const Options& o) {
    auto conn = open_connection(o.url);
    const bool per_node = o.topology == "per-node";
    const std::size_t queues = per_node ? 1 : o.users;
    for (std::size_t i = 0; i < queues; ++i) {
        const auto ch = static_cast<amqp_channel_t>(10 + i);
        amqp_channel_open(conn, ch);
        check(conn, "channel.open");
        if (i == 0) declare_exchanges(conn, ch);
        const std::string queue =
            per_node ? o.queue_prefix + ":node" : fmt::format("{}-{}", o.queue_prefix, i);
        // Declared as chatd declares its own: per-node with chatd's node queue arguments, per-user
        // as the brief (durable, no arguments). Auto-delete is not used: chatd's are not either.
        std::vector<amqp_table_entry_t> entries;
        for (const auto& argument : chatd::bus::node_queue_arguments()) {
            amqp_table_entry_t entry{};
            entry.key = amqp_bytes_t{argument.name.size(), const_cast<char*>(argument.name.data())};
            entry.value.kind = AMQP_FIELD_KIND_I32;
            entry.value.value.i32 = argument.value;
            entries.push_back(entry);
        }
        const amqp_table_t arguments =
            per_node ? amqp_table_t{static_cast<int>(entries.size()), entries.data()}
                     : amqp_empty_table;
        amqp_queue_declare(conn, ch, bytes(queue), 0, 1, 0, 0, arguments);
        check(conn, "queue.declare");
        amqp_queue_purge(conn, ch, bytes(queue));
        check(conn, "queue.purge");
        amqp_queue_bind(conn, ch, bytes(queue), amqp_cstring_bytes("chat"), amqp_empty_bytes,
                        amqp_empty_table);
        check(conn, "queue.bind");
        if (per_node) {
            amqp_queue_bind(conn, ch, bytes(queue), amqp_cstring_bytes("chat.rooms"),
                            amqp_empty_bytes, amqp_empty_table);
            check(conn, "queue.bind rooms");
        }
        amqp_basic_qos(conn, ch, 0, static_cast<std::uint16_t>(o.prefetch), 0);
        check(conn, "basic.qos");
        amqp_basic_consume(conn, ch, bytes(queue), amqp_empty_bytes, 0, 0, 1, amqp_empty_table);
        check(conn, "basic.consume");
    }
    std::printf("ready\n");
    std::fflush(stdout);

    const double cpu0 = cpu_seconds();
    const auto start = Clock::now();
    auto last = start;
    double cpu_at_last = cpu0;
    std::uint64_t deliveries = 0, body_bytes = 0;
    const bool batch = o.ack == "batch";
    std::vector<std::uint64_t> pending(queues, 0);  // per channel: highest tag not acked yet
    const auto flush = [&] {
        for (std::size_t i = 0; i < queues; ++i) {
            if (pending[i] == 0) continue;
            if (amqp_basic_ack(conn, static_cast<amqp_channel_t>(10 + i), pending[i], 1) !=
                AMQP_STATUS_OK) {
                die("basic.ack");
            }
            pending[i] = 0;
        }
    };
    while (true) {
        const auto now = Clock::now();
        if (std::chrono::duration<double>(now - start).count() > o.max_s) break;
        if (o.expect > 0 && deliveries >= o.expect) break;
        if (deliveries > 0 && std::chrono::duration<double>(now - last).count() > o.idle_exit_s) {
            break;
        }
        amqp_maybe_release_buffers(conn);
        amqp_envelope_t envelope;
        timeval timeout{0, 100000};
        const auto reply = amqp_consume_message(conn, &envelope, &timeout, 0);
        if (reply.reply_type == AMQP_RESPONSE_NORMAL) {
            ++deliveries;
            body_bytes += envelope.message.body.len;
            if (batch) {
                pending[envelope.channel - 10] = envelope.delivery_tag;
                if (!amqp_data_in_buffer(conn) && !amqp_frames_enqueued(conn)) flush();
            } else if (amqp_basic_ack(conn, envelope.channel, envelope.delivery_tag, 0) !=
                       AMQP_STATUS_OK) {
                die("basic.ack");
            }
            amqp_destroy_envelope(&envelope);
            last = Clock::now();
            cpu_at_last = cpu_seconds();
            continue;
        }
        if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            reply.library_error == AMQP_STATUS_TIMEOUT) {
            flush();
            continue;
        }
        if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
            reply.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
            amqp_frame_t frame;  // not a delivery (e.g. a heartbeat): read it and go on
            if (amqp_simple_wait_frame(conn, &frame) != AMQP_STATUS_OK) die("read frame");
            continue;
        }
        die("consume failed");
    }
    const double wall = std::chrono::duration<double>(last - start).count();
    const double cpu = cpu_at_last - cpu0;
    std::printf(
        "{\"deliveries\":%llu,\"body_bytes\":%llu,\"cpu_s\":%.6f,\"wall_s\":%.3f,"
        "\"cpu_us_per_delivery\":%.3f,\"queues\":%zu}\n",
        static_cast<unsigned long long>(deliveries), static_cast<unsigned long long>(body_bytes),
        cpu, wall, deliveries ? cpu * 1e6 / static_cast<double>(deliveries) : 0.0, queues);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    return 0;
}

int publish(const Options& o) {
    auto conn = open_connection(o.url);
    amqp_channel_open(conn, 1);
    check(conn, "channel.open");
    declare_exchanges(conn, 1);
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    const auto total = static_cast<std::uint64_t>(o.rate * o.duration);
    const auto start = Clock::now();
    const auto ms_now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    for (std::uint64_t i = 0; i < total; ++i) {
        const auto due = start + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                     static_cast<double>(i) * 1e9 / o.rate));
        std::this_thread::sleep_until(due);
        chatd::model::Message m;
        m.id = static_cast<chatd::model::MessageId>(i + 1);
        m.prev_id = static_cast<chatd::model::MessageId>(i);
        m.room = "general";
        m.user_name = "bench-source";
        m.content = fmt::format("baseline {}", i);
        if (m.content.size() < o.payload) m.content.append(o.payload - m.content.size(), 'x');
        m.sent_at = "01/01/2026 00:00:00";
        m.ts_ms = ms_now;
        const std::string body = chatd::bus::encode_event(chatd::model::Event(m), o.node);
        if (amqp_basic_publish(conn, 1, amqp_cstring_bytes("chat"), amqp_empty_bytes, 0, 0, &props,
                               bytes(body)) != AMQP_STATUS_OK) {
            die("basic.publish");
        }
    }
    const double wall = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("{\"published\":%llu,\"wall_s\":%.3f}\n", static_cast<unsigned long long>(total),
                wall);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"amqp-baseline: a bare rabbitmq-c consumer / publisher for chatd's AMQP overhead"};
    app.require_subcommand(1);
    Options o;
    app.add_option("--url", o.url, "amqp://user:pass@host:port/vhost")->capture_default_str();
    auto* c = app.add_subcommand("consume", "Consume as a chatd node would, nothing else");
    c->add_option("--topology", o.topology, "per-node or per-user")
        ->check(CLI::IsMember({"per-node", "per-user"}))
        ->capture_default_str();
    c->add_option("--users", o.users, "per-user: queues (one channel each)")->capture_default_str();
    c->add_option("--queue-prefix", o.queue_prefix, "Queue names")->capture_default_str();
    c->add_option("--prefetch", o.prefetch, "basic.qos per channel")->capture_default_str();
    c->add_option("--ack", o.ack, "batch (multiple=true per read batch) or each (per delivery)")
        ->check(CLI::IsMember({"batch", "each"}))
        ->capture_default_str();
    c->add_option("--expect", o.expect, "Stop after this many deliveries (0: when idle)");
    c->add_option("--idle-exit", o.idle_exit_s, "Stop this many seconds after the last delivery")
        ->capture_default_str();
    c->add_option("--max-seconds", o.max_s, "Stop after this long in any case")
        ->capture_default_str();
    auto* p = app.add_subcommand("publish", "Publish chatd message bodies to `chat`");
    p->add_option("--rate", o.rate, "Messages/s")->capture_default_str();
    p->add_option("--duration", o.duration, "Seconds")->capture_default_str();
    p->add_option("--payload", o.payload, "Pad the content to this many bytes")
        ->capture_default_str();
    p->add_option("--node", o.node, "The publishing node named in the bodies")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    return c->parsed() ? consume(o) : publish(o);
}
