// chat-bench: a load generator for chatd (and peers speaking its login shim and frames).
// docs/benchmarks.md describes the scenarios; `chat-bench --help` the flags.
//
// Phases: log in (HTTP, a few keep-alive connections), create/join rooms, open the WebSocket
// clients (bounded concurrency, from several 127.0.0.x source addresses), then M senders send
// for --duration seconds at a fixed total rate or as fast as --inflight allows, then a drain.
// Every delivery is checked against what was sent: per receiver and sender a bitmap of the
// sequence numbers seen tells duplicates; lost = expected (acked messages x room members)
// minus distinct deliveries. Latency: the send time (CLOCK_MONOTONIC ns) rides in the content.
// --reconnect instead waits for the server to be restarted under the connected clients and
// times their reconnects and resyncs (reconnect_storm).
//
// The client speaks WebSocket by hand (no Beast): it writes masked frames and parses the
// server's unmasked ones straight from a per-thread buffer, so an idle client holds no buffer
// and the client costs little CPU next to the server on a small machine.

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <random>
#include <thread>

#include "bench_stats.hpp"

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using namespace chatd::bench;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::uint64_t now_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
}

struct Options {
    std::string host = "127.0.0.1";
    unsigned short port = 8080;
    std::string api = "native";  // native | seed
    std::size_t clients = 100;
    std::size_t senders = 1;
    double rate = 0;  // messages/s in total; 0 = as fast as --inflight allows
    std::size_t inflight = 64;
    double duration = 10;
    double drain = 5;
    double phase_timeout = 300;
    std::size_t rooms = 1;  // 1: general; more: rooms created during setup
    std::size_t source_addresses = 1;
    std::size_t connect_concurrency = 128;
    std::size_t http_concurrency = 8;
    std::size_t payload = 0;
    unsigned threads = 1;
    int server_pid = 0;
    bool idle = false;
    // The server goes away while the clients are connected (the caller kills and restarts it):
    // every client reconnects on the web client's schedule and resyncs its room; timings.
    bool reconnect = false;
    // The web client's schedule (frontend/src/api/chatSocket.ts DEFAULT_BACKOFF): the first
    // `quick_retries` attempts each after a uniform wait in [quick_min, quick_max), then full
    // jitter: uniform [0, min(cap, base * 2^n)).
    int reconnect_quick_retries = 8;
    double reconnect_quick_min_ms = 100;
    double reconnect_quick_max_ms = 1000;
    double reconnect_base_ms = 1000;
    double reconnect_cap_ms = 15000;
    bool check = false;
    bool quiet = false;
    std::string json_path;
    std::string user_prefix = "cb";
    std::string label;
    std::string mix;  // "S,R,E": percentages of sends, reactions and edits (native API)
    std::size_t history_pages = 0;  // > 0: the history-page benchmark instead of the load
    std::string history_room = "history";
    std::size_t history_limit = 50;
};

// Counters of one worker thread; written by it, read by the reporter.
struct Stats {
    std::atomic<std::uint64_t> connected{0}, connect_failed{0}, closed{0}, sent{0}, acked{0},
        send_errors{0}, delivered{0}, duplicated{0}, foreign{0}, expected{0}, frames{0},
        bytes_in{0}, other_frames{0};
    Histogram latency;      // send -> delivery, microseconds
    Histogram ack_latency;  // send -> ack (durable commit), microseconds
    // --reconnect: acks of sends made after the server came back until every client resynced.
    Histogram storm_ack_latency;
    std::atomic<std::uint64_t> reconnected{0}, resynced{0}, reconnect_attempts_failed{0};

    static void bump(std::atomic<std::uint64_t>& c, std::uint64_t by = 1) {
        c.store(c.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
    }
};

struct Worker {
    asio::io_context io{1};
    std::vector<char> buffer = std::vector<char>(256 * 1024);
    Stats stats;
};

struct Bench;

struct Client {
    Bench* bench = nullptr;
    Worker* worker = nullptr;
    std::size_t index = 0;
    std::size_t room = 0;
    std::string user;
    std::string token;
    std::unique_ptr<tcp::socket> socket;
    std::string pending;  // bytes of an incomplete frame
    std::string message;  // a fragmented message being assembled
    std::string out;      // frames waiting for the writer
    bool writing = false;
    bool open = false;
    std::vector<SeenSet> seen;  // per sender
    // Sender state.
    std::int64_t sender = -1;
    std::uint64_t next_seq = 0;
    std::uint64_t inflight = 0;
    std::vector<std::uint64_t> sent_at;  // ring: send time by seq
    std::int64_t last_message_id = 0;    // the sender's newest acked message: what it changes
    std::unique_ptr<asio::steady_timer> wake;
    bool sending_loop = false;  // send_loop is running (at most one per client)
    // --reconnect: the newest message id seen (what the resync asks after), and when this client
    // was connected again and had its room's missed messages (CLOCK_MONOTONIC ns, 0: not yet).
    std::int64_t last_seen_id = 0;
    std::atomic<std::uint64_t> reconnected_ns{0}, resynced_ns{0};
};

std::string room_name(std::uint32_t run, std::size_t room, std::size_t rooms) {
    return rooms <= 1 ? std::string("general") : fmt::format("cb{}-{}", run, room);
}

// --- A minimal HTTP/1.1 client (keep-alive, Content-Length bodies) --------------------------

struct HttpResponse {
    int status = 0;
    std::string body;
};

awaitable<bool> read_head(tcp::socket& socket, std::string& buf, std::size_t& head_end) {
    for (;;) {
        head_end = buf.find("\r\n\r\n");
        if (head_end != std::string::npos) {
            head_end += 4;
            co_return true;
        }
        char tmp[4096];
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(tmp), kTuple);
        if (ec) co_return false;
        buf.append(tmp, n);
        if (buf.size() > 1 << 20) co_return false;
    }
}

std::size_t content_length(std::string_view head) {
    std::string lower(head);
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto pos = lower.find("\r\ncontent-length:");
    if (pos == std::string::npos) return 0;
    return std::stoul(lower.substr(pos + 17));
}

awaitable<std::optional<HttpResponse>> http_request(tcp::socket& socket,
                                                    std::string& buf,
                                                    const Options& o,
                                                    std::string_view method,
                                                    std::string_view path,
                                                    std::string_view body,
                                                    std::string_view token = {}) {
    std::string req = fmt::format(
        "{} {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: "
        "{}\r\n",
        method, path, o.host, o.port, body.size());
    if (!token.empty()) req += fmt::format("Authorization: Bearer {}\r\n", token);
    req += "\r\n";
    req += body;
    auto [wec, wn] = co_await asio::async_write(socket, asio::buffer(req), kTuple);
    if (wec) co_return std::nullopt;
    std::size_t head_end = 0;
    if (!co_await read_head(socket, buf, head_end)) co_return std::nullopt;
    HttpResponse r;
    if (buf.size() < 12) co_return std::nullopt;
    r.status = std::atoi(buf.c_str() + 9);
    const std::size_t len = content_length(std::string_view(buf).substr(0, head_end));
    while (buf.size() < head_end + len) {
        char tmp[4096];
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(tmp), kTuple);
        if (ec) co_return std::nullopt;
        buf.append(tmp, n);
    }
    r.body = buf.substr(head_end, len);
    buf.erase(0, head_end + len);
    co_return r;
}

awaitable<std::unique_ptr<tcp::socket>> connect_from(asio::any_io_executor ex,
                                                     const Options& o,
                                                     std::size_t source) {
    auto socket = std::make_unique<tcp::socket>(ex);
    boost::system::error_code ec;
    const tcp::endpoint server(asio::ip::make_address(o.host), o.port);
    socket->open(tcp::v4(), ec);
    if (ec) co_return nullptr;
    if (o.source_addresses > 1) {
        const auto addr = asio::ip::address_v4(
            0x7f000001u + static_cast<std::uint32_t>(source % o.source_addresses));
        socket->bind(tcp::endpoint(addr, 0), ec);
        if (ec) co_return nullptr;
    }
    auto [cec] = co_await socket->async_connect(server, kTuple);
    if (cec) co_return nullptr;
    socket->set_option(tcp::no_delay(true), ec);
    co_return socket;
}

// --- The bench -------------------------------------------------------------------------------

struct Bench {
    Options o;
    std::uint32_t run = 0;
    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<std::unique_ptr<Client>> clients;
    std::vector<std::size_t> room_members;
    std::atomic<bool> sending{false};
    std::optional<Mix> mix;  // --mix: nullopt sends messages only
    // One phase of setup or connecting: clients [first, last) handed out to a few worker
    // coroutines. Each phase has its own counters and the main thread waits until every worker
    // of a phase has returned (not only until the jobs are done), so no worker of an earlier
    // phase can take a job of a later one. (A shared counter reset between phases did exactly
    // that with --rooms == --clients: the empty second setup phase's worker ran after the reset
    // for the connect phase, took one connect job and dropped it, and chat-bench waited for
    // that client forever.)
    struct Phase {
        std::size_t first = 0, last = 0;
        std::atomic<std::size_t> next{0}, done{0}, running{0};
        Phase(std::size_t f, std::size_t l) : first(f), last(l) {}
        std::size_t size() const { return last - first; }
        // The next client index, or nullopt when the phase has none left.
        std::optional<std::size_t> take() {
            const std::size_t i = first + next.fetch_add(1);
            return i < last ? std::optional<std::size_t>(i) : std::nullopt;
        }
        bool finished() const { return running.load() == 0; }
    };
    std::atomic<std::size_t> setup_failed{0};
    std::uint64_t send_start_ns = 0;
    // --reconnect: clients reconnect while this is set; the first close and the first
    // successful reconnect after it (the server is back), CLOCK_MONOTONIC ns.
    std::atomic<bool> reconnecting{false};
    std::atomic<std::uint64_t> outage_ns{0}, back_ns{0};

    Worker& worker_of(std::size_t i) { return *workers[i % workers.size()]; }

    // Logs in (native) and creates or joins the client's room.
    awaitable<void> setup_worker(std::shared_ptr<Phase> phase, std::size_t source) {
        std::unique_ptr<tcp::socket> socket;
        std::string buf;
        while (const auto i = phase->take()) {
            Client& c = *clients[*i];
            bool ok = false;
            for (int attempt = 0; attempt < 3 && !ok; ++attempt) {
                if (!socket) {
                    buf.clear();
                    socket = co_await connect_from(co_await asio::this_coro::executor, o, source);
                    if (!socket) continue;
                }
                ok = co_await setup_one(*socket, buf, c);
                if (!ok) socket.reset();
            }
            if (!ok) setup_failed.fetch_add(1);
            phase->done.fetch_add(1);
        }
        phase->running.fetch_sub(1);
    }

    awaitable<bool> setup_one(tcp::socket& socket, std::string& buf, Client& c) {
        if (o.api == "seed") co_return true;
        auto login = co_await http_request(socket, buf, o, "POST", "/api/login",
                                           fmt::format(R"({{"user_name":"{}"}})", c.user));
        if (!login || login->status != 200) co_return false;
        c.token = std::string(json_string_field(login->body, "token"));
        if (c.token.empty()) co_return false;
        if (o.rooms <= 1) co_return true;
        const auto room = room_name(run, c.room, o.rooms);
        if (c.index < o.rooms) {
            auto r = co_await http_request(socket, buf, o, "POST", "/api/rooms",
                                           fmt::format(R"({{"name":"{}"}})", room), c.token);
            co_return r && (r->status == 201 || r->status == 200);
        }
        auto r = co_await http_request(socket, buf, o, "POST",
                                       fmt::format("/api/rooms/{}/join", room), "", c.token);
        co_return r && r->status == 200;
    }

    awaitable<void> connect_worker(std::shared_ptr<Phase> phase) {
        while (const auto i = phase->take()) {
            Client& c = *clients[*i];
            // The client's own thread owns its socket.
            co_await asio::co_spawn(c.worker->io, open_client(c), asio::use_awaitable);
            phase->done.fetch_add(1);
        }
        phase->running.fetch_sub(1);
    }

    awaitable<void> open_client(Client& c) {
        auto socket = co_await connect_from(c.worker->io.get_executor(), o, c.index);
        if (!socket) {
            Stats::bump(c.worker->stats.connect_failed);
            co_return;
        }
        const std::string target = o.api == "seed" ? "/receive/" + c.user : "/ws?token=" + c.token;
        const std::string req = fmt::format(
            "GET {} HTTP/1.1\r\nHost: {}:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            target, o.host, o.port);
        auto [wec, wn] = co_await asio::async_write(*socket, asio::buffer(req), kTuple);
        std::string buf;
        std::size_t head_end = 0;
        if (wec || !co_await read_head(*socket, buf, head_end) || buf.compare(9, 3, "101") != 0) {
            Stats::bump(c.worker->stats.connect_failed);
            co_return;
        }
        c.pending = buf.substr(head_end);
        c.socket = std::move(socket);
        c.open = true;
        Stats::bump(c.worker->stats.connected);
        asio::co_spawn(c.worker->io, read_loop(c), asio::detached);
        if (!c.pending.empty()) consume(c);
    }

    void write(Client& c, std::string_view frames) {
        c.out.append(frames);
        if (!c.writing && c.open) {
            c.writing = true;
            asio::co_spawn(c.worker->io, write_loop(c), asio::detached);
        }
    }

    awaitable<void> write_loop(Client& c) {
        std::string chunk;
        while (!c.out.empty() && c.open) {
            chunk.clear();
            chunk.swap(c.out);
            auto [ec, n] = co_await asio::async_write(*c.socket, asio::buffer(chunk), kTuple);
            if (ec) break;
        }
        c.writing = false;
    }

    // One asynchronous read per wake-up into a small buffer in the coroutine frame, the rest at
    // once without blocking into the worker's buffer. Not async_wait + read: Asio re-arms the
    // descriptor with an epoll_ctl for every wait, and that, with the mode switch, was two of the
    // three system calls per delivery (docs/benchmarks.md, "chat-bench's own cost").
    awaitable<void> read_loop(Client& c) {
        Worker& w = *c.worker;
        boost::system::error_code rec;
        c.socket->non_blocking(true, rec);
        std::array<char, 2048> first;
        bool closed = false;
        while (!closed) {
            auto [ec, n] = co_await c.socket->async_read_some(asio::buffer(first), kTuple);
            if (ec) break;
            take(c, first.data(), n);
            // A short read emptied the socket.
            for (std::size_t last = n; last == first.size() && c.open;) {
                last = c.socket->read_some(asio::buffer(w.buffer), rec);
                if (rec == asio::error::would_block) break;
                if (rec || last == 0) {
                    closed = true;
                    break;
                }
                take(c, w.buffer.data(), last);
                if (last < w.buffer.size()) break;
            }
            if (!c.open) break;
        }
        if (c.open) {
            c.open = false;
            Stats::bump(w.stats.closed);
        }
        if (reconnecting.load()) {
            std::uint64_t none = 0;
            outage_ns.compare_exchange_strong(none, now_ns());
            asio::co_spawn(w.io, reconnect(c), asio::detached);
        }
    }

    // Tries again on the web client's schedule (Options::reconnect_*) until the WebSocket is
    // open again, as the web client does after a server restart, then fetches the messages
    // of its room after the last one it saw, over HTTP, as the web client's resync does.
    awaitable<void> reconnect(Client& c) {
        Stats& s = c.worker->stats;
        std::minstd_rand random(static_cast<std::uint32_t>(c.index * 7919 + run));
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        asio::steady_timer timer(c.worker->io);
        for (int attempt = 0; !c.open; ++attempt) {
            double wait_ms = 0;
            if (attempt < o.reconnect_quick_retries) {
                wait_ms = o.reconnect_quick_min_ms +
                          unit(random) * (o.reconnect_quick_max_ms - o.reconnect_quick_min_ms);
            } else {
                const int n = std::min(attempt - o.reconnect_quick_retries, 30);
                wait_ms = unit(random) *
                          std::min(o.reconnect_cap_ms, o.reconnect_base_ms * std::pow(2.0, n));
            }
            timer.expires_after(
                std::chrono::microseconds(static_cast<std::int64_t>(wait_ms * 1000)));
            co_await timer.async_wait(kTuple);
            if (!reconnecting.load()) co_return;
            co_await open_client(c);
            if (c.open) break;
            Stats::bump(s.reconnect_attempts_failed);
        }
        const std::uint64_t now = now_ns();
        std::uint64_t none = 0;
        back_ns.compare_exchange_strong(none, now);
        c.reconnected_ns = now;
        Stats::bump(s.reconnected);
        if (c.sender >= 0 && sending.load() && !c.sending_loop) {
            c.inflight = 0;  // acks of the sends the server took down with it never come
            asio::co_spawn(c.worker->io, send_loop(c), asio::detached);
        }
        const auto path = fmt::format("/api/rooms/{}/messages?after={}&limit=100",
                                      room_name(run, c.room, o.rooms), c.last_seen_id);
        for (int attempt = 0; attempt < 5; ++attempt) {
            auto socket = co_await connect_from(c.worker->io.get_executor(), o, c.index);
            if (!socket) continue;
            std::string buf;
            const auto page = co_await http_request(*socket, buf, o, "GET", path, "", c.token);
            if (page && page->status == 200) {
                c.resynced_ns = now_ns();
                Stats::bump(s.resynced);
                co_return;
            }
        }
    }

    // Bytes read from the client's socket, in order.
    void take(Client& c, const char* data, std::size_t n) {
        Stats::bump(c.worker->stats.bytes_in, n);
        if (c.pending.empty()) {
            const std::size_t used = parse(c, std::string_view(data, n));
            if (used < n) c.pending.assign(data + used, n - used);
        } else {
            c.pending.append(data, n);
            consume(c);
        }
    }

    void consume(Client& c) {
        const std::size_t used = parse(c, c.pending);
        c.pending.erase(0, used);
        if (c.pending.capacity() > 64 * 1024 && c.pending.size() < 1024) c.pending.shrink_to_fit();
    }

    // Handles every complete frame at the front of `data`; returns the bytes used.
    std::size_t parse(Client& c, std::string_view data) {
        std::size_t used = 0;
        for (;;) {
            const auto f = parse_frame(data.substr(used));
            if (!f.complete) return used;
            const auto payload = data.substr(used + f.header, f.length);
            used += f.header + f.length;
            switch (f.opcode) {
                case 0x1:
                case 0x2:
                    if (f.fin) {
                        on_text(c, payload);
                    } else {
                        c.message.assign(payload);
                    }
                    break;
                case 0x0:
                    c.message.append(payload);
                    if (f.fin) {
                        on_text(c, c.message);
                        c.message.clear();
                    }
                    break;
                case 0x9: {
                    std::string pong;
                    append_client_frame(pong, 0xA, payload);
                    write(c, pong);
                    break;
                }
                case 0x8:
                    if (c.open) {
                        c.open = false;
                        Stats::bump(c.worker->stats.closed);
                        boost::system::error_code ignored;
                        c.socket->close(ignored);
                    }
                    return used;
                default:
                    break;
            }
        }
    }

    void on_text(Client& c, std::string_view text) {
        Stats& s = c.worker->stats;
        Stats::bump(s.frames);
        // Native frames start {"type":"...", seed frames {"content":"...".
        const bool seed = text.starts_with(R"({"content")");
        if (seed || text.starts_with(R"({"type":"message")")) {
            if (o.reconnect && !seed) {
                c.last_seen_id = std::max(c.last_seen_id, json_int_field(text, "id").value_or(0));
            }
            const auto kind = seed ? std::string_view{} : json_string_field(text, "kind");
            if (kind == "react" || kind == "unreact") {
                on_delivery(c, parse_change_id(json_string_field(text, "client_msg_id")));
            } else {
                on_delivery(c, parse_payload(json_string_field(text, "content")));
            }
        } else if (text.starts_with(R"({"type":"ack")")) {
            on_ack(c, json_string_field(text, "client_msg_id"), true, json_int_field(text, "id"));
        } else if (text.starts_with(R"({"type":"error")")) {
            const auto id = json_string_field(text, "client_msg_id");
            if (!id.empty()) on_ack(c, id, false, std::nullopt);
            if (!o.quiet && s.send_errors.load() < 3) {
                fmt::print(stderr, "error frame: {}\n", text.substr(0, 200));
            }
        } else {
            Stats::bump(s.other_frames);
        }
    }

    void on_delivery(Client& c, const std::optional<Payload>& p) {
        Stats& s = c.worker->stats;
        if (!p || p->run != run || p->sender >= c.seen.size()) {
            Stats::bump(s.foreign);
            return;
        }
        if (!c.seen[p->sender].insert(p->seq)) {
            Stats::bump(s.duplicated);
            return;
        }
        Stats::bump(s.delivered);
        const std::uint64_t now = now_ns();
        s.latency.record(now > p->sent_ns ? (now - p->sent_ns) / 1000 : 0);
    }

    void on_ack(Client& c,
                std::string_view client_msg_id,
                bool ok,
                std::optional<std::int64_t> id) {
        Stats& s = c.worker->stats;
        // "RUN-SENDER-SEQ"
        const auto dash = client_msg_id.rfind('-');
        if (dash == std::string_view::npos || c.sender < 0) return;
        const std::uint64_t seq = std::stoull(std::string(client_msg_id.substr(dash + 1)));
        if (c.inflight > 0) --c.inflight;
        if (ok) {
            Stats::bump(s.acked);
            Stats::bump(s.expected, room_members[c.room]);
            if (id && mix && action_of(*mix, seq) == Action::Send) {
                c.last_message_id = std::max(c.last_message_id, *id);
            }
            const std::uint64_t sent = c.sent_at[seq % c.sent_at.size()];
            const std::uint64_t now = now_ns();
            s.ack_latency.record(now > sent ? (now - sent) / 1000 : 0);
            if (reconnecting.load() && back_ns.load() != 0 && sent >= back_ns.load()) {
                s.storm_ack_latency.record(now > sent ? (now - sent) / 1000 : 0);
            }
        } else {
            Stats::bump(s.send_errors);
        }
        if (c.wake) c.wake->cancel();
    }

    std::string next_frame(Client& c) {
        const std::uint64_t seq = c.next_seq++;
        const std::uint64_t t = now_ns();
        c.sent_at[seq % c.sent_at.size()] = t;
        ++c.inflight;
        Stats::bump(c.worker->stats.sent);
        const Payload payload{run, static_cast<std::uint32_t>(c.sender), seq, t};
        const auto content = format_payload(payload, o.payload);
        const auto room = room_name(run, c.room, o.rooms);
        // A change needs a message of the sender's own: until the first ack, only sends.
        const auto action = mix && c.last_message_id > 0 ? action_of(*mix, seq) : Action::Send;
        std::string text;
        if (action == Action::React) {
            static constexpr std::array<std::string_view, 6> kEmoji = {"\U0001F44D", "\u2764\uFE0F",
                                                                       "\U0001F602", "\U0001F389",
                                                                       "\U0001F440", "\U0001F680"};
            text = fmt::format(
                R"({{"type":"react","room":"{}","id":{},"emoji":"{}","client_msg_id":"{}"}})", room,
                c.last_message_id, kEmoji[seq % kEmoji.size()], format_change_id(payload));
        } else if (action == Action::Edit) {
            text = fmt::format(
                R"({{"type":"edit","room":"{}","id":{},"content":"{}","client_msg_id":"{}"}})",
                room, c.last_message_id, content, format_change_id(payload));
        } else {
            text = fmt::format(
                R"({{"type":"send","room":"{}","content":"{}","client_msg_id":"{}-{}-{}"}})", room,
                content, run, c.sender, seq);
        }
        std::string frame;
        append_client_frame(frame, 0x1, text);
        return frame;
    }

    awaitable<void> send_loop(Client& c) {
        c.sending_loop = true;
        c.wake = std::make_unique<asio::steady_timer>(c.worker->io);
        const std::uint64_t start = now_ns();
        // A loop started again after a reconnect paces from here, not from the first send.
        const std::uint64_t first_seq = c.next_seq;
        std::string frames;
        while (sending.load(std::memory_order_relaxed) && c.open) {
            frames.clear();
            std::uint64_t due = o.inflight;
            if (o.rate > 0) {
                const double elapsed = static_cast<double>(now_ns() - start) / 1e9;
                const auto target = first_seq + sends_due(elapsed, o.rate, o.senders,
                                                          static_cast<std::size_t>(c.sender));
                due = target > c.next_seq ? target - c.next_seq : 0;
            }
            while (due > 0 && c.inflight < o.inflight) {
                frames += next_frame(c);
                --due;
            }
            if (!frames.empty()) write(c, frames);
            if (o.rate > 0) {
                c.wake->expires_after(std::chrono::milliseconds(1));
            } else {
                c.wake->expires_after(std::chrono::milliseconds(100));
            }
            co_await c.wake->async_wait(kTuple);
        }
        c.sending_loop = false;
    }

    // The seed API's sender: POST /send/ on one keep-alive connection, one request at a time.
    // A sender runs --inflight of these (the seq counter is shared: same thread).
    awaitable<void> seed_send_loop(Client& c) {
        auto socket = co_await connect_from(c.worker->io.get_executor(), o, c.index);
        if (!socket) co_return;
        std::string buf;
        const std::uint64_t start = now_ns();
        asio::steady_timer timer(c.worker->io);
        while (sending.load(std::memory_order_relaxed)) {
            if (o.rate > 0) {
                const double elapsed = static_cast<double>(now_ns() - start) / 1e9;
                if (c.next_seq >=
                    sends_due(elapsed, o.rate, o.senders, static_cast<std::size_t>(c.sender))) {
                    timer.expires_after(std::chrono::milliseconds(1));
                    co_await timer.async_wait(kTuple);
                    continue;
                }
            }
            const std::uint64_t seq = c.next_seq++;
            const std::uint64_t t = now_ns();
            Stats::bump(c.worker->stats.sent);
            const auto content = format_payload(
                Payload{run, static_cast<std::uint32_t>(c.sender), seq, t}, o.payload);
            auto r = co_await http_request(
                *socket, buf, o, "POST", "/send/",
                fmt::format(R"({{"content":"{}","user_name":"{}"}})", content, c.user));
            Stats& s = c.worker->stats;
            if (r && r->status == 200) {
                Stats::bump(s.acked);
                Stats::bump(s.expected, room_members[0]);
                s.ack_latency.record((now_ns() - t) / 1000);
            } else {
                Stats::bump(s.send_errors);
                if (!r) co_return;
            }
        }
    }

    struct Totals {
        std::uint64_t connected = 0, connect_failed = 0, closed = 0, sent = 0, acked = 0,
                      send_errors = 0, delivered = 0, duplicated = 0, foreign = 0, expected = 0,
                      frames = 0, bytes_in = 0, other_frames = 0, reconnected = 0, resynced = 0,
                      reconnect_attempts_failed = 0;
        Histogram::Snapshot latency, ack_latency, storm_ack_latency;
    };
    Totals totals() const {
        Totals t;
        for (const auto& w : workers) {
            const Stats& s = w->stats;
            t.connected += s.connected.load();
            t.connect_failed += s.connect_failed.load();
            t.closed += s.closed.load();
            t.sent += s.sent.load();
            t.acked += s.acked.load();
            t.send_errors += s.send_errors.load();
            t.delivered += s.delivered.load();
            t.duplicated += s.duplicated.load();
            t.foreign += s.foreign.load();
            t.expected += s.expected.load();
            t.frames += s.frames.load();
            t.bytes_in += s.bytes_in.load();
            t.other_frames += s.other_frames.load();
            t.reconnected += s.reconnected.load();
            t.resynced += s.resynced.load();
            t.reconnect_attempts_failed += s.reconnect_attempts_failed.load();
            t.latency.add(s.latency.snapshot());
            t.ack_latency.add(s.ack_latency.snapshot());
            t.storm_ack_latency.add(s.storm_ack_latency.snapshot());
        }
        return t;
    }
};

double ms(double us) {
    return us / 1000.0;
}

// Waits until `done()` or `seconds`, printing a line per second with `line()`.
template <class Done, class Line>
bool wait_for(double seconds, Done done, Line line, bool quiet) {
    const auto start = std::chrono::steady_clock::now();
    auto next_print = start + std::chrono::seconds(1);
    while (!done()) {
        const auto now = std::chrono::steady_clock::now();
        if (now - start > std::chrono::duration<double>(seconds)) return false;
        if (now >= next_print) {
            if (!quiet) line();
            next_print += std::chrono::seconds(1);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
}

}  // namespace

// The history-page benchmark (--history-pages N): one signed-in user reads N pages of
// --history-limit messages at uniformly random `before=` ids of a filled room
// (chatd-history-fill), one request at a time on one keep-alive connection, and reports the
// latency of each GET from request to full answer.
struct HistoryResult {
    Histogram latency;  // microseconds
    std::size_t pages = 0, failed = 0, messages = 0;
    std::int64_t newest_id = 0;
    double seconds = 0;
};

awaitable<void> read_history(const Options& o, HistoryResult& result) {
    auto ex = co_await asio::this_coro::executor;
    auto socket = co_await connect_from(ex, o, 0);
    if (!socket) co_return;
    std::string buf;
    auto login = co_await http_request(*socket, buf, o, "POST", "/api/login",
                                       fmt::format(R"({{"user_name":"{}"}})", "hf0"));
    if (!login || login->status != 200) co_return;
    const std::string token(json_string_field(login->body, "token"));
    const auto base =
        fmt::format("/api/rooms/{}/messages?limit={}", o.history_room, o.history_limit);
    auto newest = co_await http_request(*socket, buf, o, "GET", base, "", token);
    if (!newest || newest->status != 200) co_return;
    // The newest page's last message has the highest id of the room's visible messages.
    const auto last = newest->body.rfind(R"({"id":)");
    if (last == std::string::npos) co_return;
    result.newest_id =
        json_int_field(std::string_view(newest->body).substr(last), "id").value_or(0);
    std::mt19937_64 random(42);
    std::uniform_int_distribution<std::int64_t> before(2, result.newest_id + 1);
    const auto start = now_ns();
    for (std::size_t i = 0; i < o.history_pages; ++i) {
        const auto path = fmt::format("{}&before={}", base, before(random));
        const auto t = now_ns();
        auto page = co_await http_request(*socket, buf, o, "GET", path, "", token);
        if (!page) co_return;
        result.latency.record((now_ns() - t) / 1000);
        ++result.pages;
        if (page->status != 200) {
            ++result.failed;
            continue;
        }
        for (std::size_t at = page->body.find(R"({"id":)"); at != std::string::npos;
             at = page->body.find(R"({"id":)", at + 1)) {
            ++result.messages;
        }
    }
    result.seconds = static_cast<double>(now_ns() - start) / 1e9;
}

int history_bench(const Options& o) {
    asio::io_context io{1};
    HistoryResult result;
    asio::co_spawn(io, read_history(o, result), asio::detached);
    io.run();
    const auto h = result.latency.snapshot();
    fmt::print("\n== chat-bench {} ==\n", o.label);
    fmt::print("room             {} (newest id {})\n", o.history_room, result.newest_id);
    fmt::print("pages            {} of {} messages ({} failed), {} messages, {:.0f} pages/s\n",
               result.pages, o.history_limit, result.failed, result.messages,
               result.seconds > 0 ? static_cast<double>(result.pages) / result.seconds : 0.0);
    fmt::print("latency          p50 {:.2f} p90 {:.2f} p99 {:.2f} max {:.2f} ms\n",
               ms(h.quantile(0.5)), ms(h.quantile(0.9)), ms(h.quantile(0.99)),
               ms(static_cast<double>(h.max)));
    if (!o.json_path.empty()) {
        std::ofstream out(o.json_path);
        out << fmt::format(
            R"({{"label":"{}","room":"{}","limit":{},"pages":{},"failed":{},"messages":{},)"
            R"("pages_per_s":{:.1f},"latency":{{"count":{},"p50_ms":{:.3f},"p90_ms":{:.3f},)"
            R"("p99_ms":{:.3f},"max_ms":{:.3f}}}}})",
            o.label, o.history_room, o.history_limit, result.pages, result.failed, result.messages,
            result.seconds > 0 ? static_cast<double>(result.pages) / result.seconds : 0.0,
            h.total(), ms(h.quantile(0.5)), ms(h.quantile(0.9)), ms(h.quantile(0.99)),
            ms(static_cast<double>(h.max)));
        out << "\n";
    }
    const bool complete = result.pages == o.history_pages && result.failed == 0;
    return complete ? 0 : 1;
}

// --reconnect: waits for the server to go away, then until every client is connected again and
// resynced (or --phase-timeout), and reports how long that took after the server came back.
// Exit 1 when some client did not make it.
int reconnect_storm(Bench& b, const Bench::Totals& before, bool quiet) {
    const Options& o = b.o;
    auto say = [&](const std::string& s) {
        if (!quiet) fmt::print(stderr, "{}\n", s);
    };
    say(fmt::format("  waiting up to {:.0f} s for the server to go away", o.duration));
    if (!wait_for(
            o.duration, [&] { return b.outage_ns.load() != 0; }, [] {}, true)) {
        fmt::print(stderr, "chat-bench: the server never went away\n");
        return 1;
    }
    const std::size_t n = b.clients.size();
    const bool all_back = wait_for(
        o.phase_timeout,
        [&] {
            const auto t = b.totals();
            return t.reconnected >= n && t.resynced >= n;
        },
        [&] {
            const auto t = b.totals();
            say(fmt::format("  reconnected {}/{}, resynced {}/{}, failed attempts {}",
                            t.reconnected, n, t.resynced, n, t.reconnect_attempts_failed));
        },
        quiet);
    b.reconnecting = false;
    b.sending = false;
    const auto t = b.totals();
    const std::uint64_t outage = b.outage_ns.load();
    const std::uint64_t back = b.back_ns.load();
    // Per client: from the server's return (the first reconnect) to its own reconnect and resync.
    std::vector<double> connect_s, resync_s;
    for (const auto& c : b.clients) {
        const std::uint64_t connected = c->reconnected_ns.load();
        const std::uint64_t resynced = c->resynced_ns.load();
        if (connected >= back && connected != 0) {
            connect_s.push_back(static_cast<double>(connected - back) / 1e9);
        }
        if (resynced >= back && resynced != 0) {
            resync_s.push_back(static_cast<double>(resynced - back) / 1e9);
        }
    }
    std::sort(connect_s.begin(), connect_s.end());
    std::sort(resync_s.begin(), resync_s.end());
    auto quantile = [](const std::vector<double>& v, double q) {
        if (v.empty()) return 0.0;
        return v[std::min(v.size() - 1,
                          static_cast<std::size_t>(q * static_cast<double>(v.size())))];
    };
    const double down_s = back > outage ? static_cast<double>(back - outage) / 1e9 : 0;
    const auto& live = t.storm_ack_latency;
    fmt::print("\n== chat-bench {} (reconnect) ==\n", o.label);
    fmt::print("clients          {} reconnected, {} resynced of {}; {} failed attempts\n",
               t.reconnected, t.resynced, n, t.reconnect_attempts_failed);
    fmt::print("server away      {:.2f} s (first close to first reconnect)\n", down_s);
    fmt::print(
        "reconnected      all in {:.2f} s after the server was back (p50 {:.2f}, p99 {:.2f})\n",
        connect_s.empty() ? 0 : connect_s.back(), quantile(connect_s, 0.5),
        quantile(connect_s, 0.99));
    fmt::print(
        "resynced         all in {:.2f} s after the server was back (p50 {:.2f}, p99 {:.2f})\n",
        resync_s.empty() ? 0 : resync_s.back(), quantile(resync_s, 0.5), quantile(resync_s, 0.99));
    fmt::print("live round trip  {} acks meanwhile: p50 {:.2f} p99 {:.2f} max {:.2f} ms\n",
               live.total(), ms(live.quantile(0.5)), ms(live.quantile(0.99)),
               ms(static_cast<double>(live.max)));
    if (!o.json_path.empty()) {
        std::ofstream out(o.json_path);
        out << fmt::format(
            R"({{"label":"{}","clients":{},"connected_before":{},"reconnected":{},"resynced":{},)"
            R"("failed_attempts":{},"away_s":{:.3f},"all_reconnected_s":{:.3f},"reconnect_p50_s":{:.3f},)"
            R"("reconnect_p99_s":{:.3f},"all_resynced_s":{:.3f},"resync_p50_s":{:.3f},"resync_p99_s":{:.3f},)"
            R"("live_acks":{},"live_p50_ms":{:.3f},"live_p99_ms":{:.3f},"live_max_ms":{:.3f},)"
            R"("quick_retries":{},"quick_min_ms":{:.0f},"quick_max_ms":{:.0f},"base_ms":{:.0f},)"
            R"("cap_ms":{:.0f}}})",
            o.label, n, before.connected, t.reconnected, t.resynced, t.reconnect_attempts_failed,
            down_s, connect_s.empty() ? 0 : connect_s.back(), quantile(connect_s, 0.5),
            quantile(connect_s, 0.99), resync_s.empty() ? 0 : resync_s.back(),
            quantile(resync_s, 0.5), quantile(resync_s, 0.99), live.total(), ms(live.quantile(0.5)),
            ms(live.quantile(0.99)), ms(static_cast<double>(live.max)), o.reconnect_quick_retries,
            o.reconnect_quick_min_ms, o.reconnect_quick_max_ms, o.reconnect_base_ms,
            o.reconnect_cap_ms);
        out << "\n";
    }
    return all_back ? 0 : 1;
}

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"chat-bench: load generator for chatd (docs/benchmarks.md)"};
    app.add_option("--host", o.host, "Server address")->capture_default_str();
    app.add_option("--port", o.port, "Server port")->capture_default_str();
    app.add_option("--api", o.api, "native (/api/login + /ws) or seed (/receive + POST /send/)")
        ->check(CLI::IsMember({"native", "seed"}))
        ->capture_default_str();
    app.add_option("-n,--clients", o.clients, "WebSocket clients")->capture_default_str();
    app.add_option("-m,--senders", o.senders, "Clients that also send (the first M)")
        ->capture_default_str();
    app.add_option("-r,--rate", o.rate, "Messages/s in total over all senders; 0 = max")
        ->capture_default_str();
    app.add_option("--inflight", o.inflight,
                   "Unacked messages per sender, at most (seed API: parallel POST connections)")
        ->capture_default_str();
    app.add_option("-d,--duration", o.duration, "Seconds of sending (or holding, --idle)")
        ->capture_default_str();
    app.add_option("--drain", o.drain, "Seconds to wait for late deliveries")
        ->capture_default_str();
    app.add_option("--phase-timeout", o.phase_timeout,
                   "Seconds the login/join and the connect phase may take, each")
        ->capture_default_str();
    app.add_option("--rooms", o.rooms, "Rooms (1: general; more are created, client i in i%K)")
        ->capture_default_str();
    app.add_option("--source-addresses", o.source_addresses,
                   "Spread clients over 127.0.0.1..127.0.0.K")
        ->capture_default_str();
    app.add_option("--connect-concurrency", o.connect_concurrency, "Handshakes in flight")
        ->capture_default_str();
    app.add_option("--http-concurrency", o.http_concurrency, "Login connections")
        ->capture_default_str();
    app.add_option("--payload", o.payload, "Pad message content to this many bytes")
        ->capture_default_str();
    app.add_option("--threads", o.threads, "Client threads (1 or 2)")->capture_default_str();
    app.add_option("--server-pid", o.server_pid, "Sample this process's RSS and CPU (/proc)");
    app.add_flag("--idle", o.idle, "Only connect and hold the connections (memory per connection)");
    app.add_flag("--reconnect", o.reconnect,
                 "After connecting, wait (up to --duration s) for the server to go away and come "
                 "back (the caller restarts it), then time every client's reconnect and resync");
    app.add_option("--reconnect-quick-retries", o.reconnect_quick_retries,
                   "The first attempts after a drop that wait only a short uniform time")
        ->capture_default_str();
    app.add_option("--reconnect-quick-min", o.reconnect_quick_min_ms,
                   "ms: a quick attempt waits uniform [this, --reconnect-quick-max)")
        ->capture_default_str();
    app.add_option("--reconnect-quick-max", o.reconnect_quick_max_ms, "ms: see above")
        ->capture_default_str();
    app.add_option("--reconnect-base", o.reconnect_base_ms,
                   "ms: later attempt n waits uniform [0, min(cap, base * 2^n))")
        ->capture_default_str();
    app.add_option("--reconnect-cap", o.reconnect_cap_ms, "ms: see above")->capture_default_str();
    app.add_flag("--check", o.check, "Exit 1 when a message was lost or duplicated");
    app.add_flag("-q,--quiet", o.quiet, "No per-second progress");
    app.add_option("--json", o.json_path, "Write the summary as JSON to this file");
    app.add_option("--user-prefix", o.user_prefix, "User names are PREFIX<run>-<i>")
        ->capture_default_str();
    app.add_option("--mix", o.mix,
                   "S,R,E: percentages of messages, reactions and edits each sender sends "
                   "(native API; reactions and edits change the sender's newest message)");
    app.add_option("--history-pages", o.history_pages,
                   "Read this many history pages at random before= ids instead of sending "
                   "(a room filled by chatd-history-fill; signs in as hf0, open auth)");
    app.add_option("--history-room", o.history_room, "The room --history-pages reads")
        ->capture_default_str();
    app.add_option("--history-limit", o.history_limit, "Messages per history page")
        ->capture_default_str();
    app.add_option("--label", o.label, "A name for this run in the output");
    CLI11_PARSE(app, argc, argv);
    if (o.api == "seed") o.rooms = 1;
    if (o.idle) o.senders = 0;
    o.senders = std::min(o.senders, o.clients);
    o.threads = std::clamp(o.threads, 1u, 8u);

    if (o.history_pages > 0) return history_bench(o);

    Bench b;
    b.o = o;
    if (!o.mix.empty()) {
        b.mix = parse_mix(o.mix);
        if (!b.mix || o.api != "native") {
            fmt::print(stderr, "--mix: S,R,E percentages summing to 100, native API only\n");
            return 2;
        }
    }
    b.run = std::random_device{}() % 1000000;
    for (unsigned i = 0; i < o.threads; ++i) b.workers.push_back(std::make_unique<Worker>());
    b.room_members.assign(std::max<std::size_t>(1, o.rooms), 0);
    for (std::size_t i = 0; i < o.clients; ++i) {
        auto c = std::make_unique<Client>();
        c->bench = &b;
        c->index = i;
        c->worker = &b.worker_of(i);
        c->room = i % std::max<std::size_t>(1, o.rooms);
        c->user = fmt::format("{}{}-{}", o.user_prefix, b.run, i);
        ++b.room_members[c->room];
        if (i < o.senders) {
            c->sender = static_cast<std::int64_t>(i);
            std::size_t ring = 1;
            while (ring < o.inflight * 4) ring *= 2;
            c->sent_at.assign(ring, 0);
        }
        c->seen.resize(o.senders);
        b.clients.push_back(std::move(c));
    }

    std::vector<std::thread> threads;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
    for (auto& w : b.workers) {
        guards.push_back(asio::make_work_guard(w->io));
        threads.emplace_back([&io = w->io] { io.run(); });
    }
    const auto server0 = sample_process(o.server_pid);
    const bool quiet = o.quiet;
    auto say = [&](const std::string& s) {
        if (!quiet) fmt::print(stderr, "{}\n", s);
    };
    say(fmt::format("chat-bench {}: {} clients, {} senders, rate {}, {} room(s), {}:{} ({})",
                    o.label, o.clients, o.senders, o.rate == 0 ? "max" : fmt::format("{}", o.rate),
                    o.rooms, o.host, o.port, o.api));

    // 1. Log in and create/join rooms: the first K clients create the rooms, then the rest.
    const auto setup_start = std::chrono::steady_clock::now();
    bool timed_out = false;
    auto run_setup = [&](std::size_t first, std::size_t last) {
        auto phase = std::make_shared<Bench::Phase>(first, last);
        const std::size_t workers_n = std::min(o.http_concurrency, phase->size());
        phase->running = workers_n;
        for (std::size_t k = 0; k < workers_n; ++k) {
            asio::co_spawn(b.worker_of(k).io, b.setup_worker(phase, k), asio::detached);
        }
        if (!wait_for(
                o.phase_timeout, [&] { return phase->finished(); },
                [&] { say(fmt::format("  setup {}/{}", phase->done.load(), phase->size())); },
                quiet)) {
            timed_out = true;
            say(fmt::format("  setup timed out: {}/{} done", phase->done.load(), phase->size()));
        }
    };
    if (o.api == "native") {
        const std::size_t creators = o.rooms > 1 ? std::min(o.rooms, o.clients) : 0;
        if (creators > 0) run_setup(0, creators);
        run_setup(creators, o.clients);
    }
    const double setup_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - setup_start).count();
    if (b.setup_failed > 0) say(fmt::format("  {} logins/joins failed", b.setup_failed.load()));

    // 2. Open the WebSocket clients.
    const auto server_before_connect = sample_process(o.server_pid);
    const auto connect_start = std::chrono::steady_clock::now();
    auto connect_phase = std::make_shared<Bench::Phase>(0, o.clients);
    const std::size_t connectors = std::min(o.connect_concurrency, o.clients);
    connect_phase->running = connectors;
    for (std::size_t k = 0; k < connectors; ++k) {
        asio::co_spawn(b.worker_of(k).io, b.connect_worker(connect_phase), asio::detached);
    }
    if (!wait_for(
            o.phase_timeout, [&] { return connect_phase->finished(); },
            [&] {
                const auto t = b.totals();
                say(fmt::format("  connected {}/{} (failed {})", t.connected, o.clients,
                                t.connect_failed));
            },
            quiet)) {
        timed_out = true;
        say(fmt::format("  connecting timed out: {}/{} done", connect_phase->done.load(),
                        o.clients));
    }
    const double connect_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - connect_start).count();
    // Let the welcome frames (and presence) settle before measuring.
    std::this_thread::sleep_for(std::chrono::milliseconds(o.idle ? 2000 : 500));
    const auto server_connected = sample_process(o.server_pid);
    auto t0 = b.totals();
    say(fmt::format("  {} connected in {:.2f} s ({:.0f}/s), setup {:.2f} s", t0.connected,
                    connect_s, static_cast<double>(t0.connected) / connect_s, setup_s));

    // Closes every client and stops the worker threads.
    auto close_all = [&] {
        b.reconnecting = false;
        for (auto& w : b.workers) {
            asio::post(w->io, [&b, w = w.get()] {
                for (auto& c : b.clients) {
                    if (c->worker == w && c->socket) {
                        boost::system::error_code ignored;
                        c->open = false;
                        c->socket->close(ignored);
                    }
                }
            });
        }
        guards.clear();
        for (auto& w : b.workers) {
            asio::post(w->io, [w = w.get()] { w->io.stop(); });
        }
        for (auto& th : threads) th.join();
    };
    b.reconnecting = o.reconnect;

    // 3. Send (or hold) for --duration.
    b.sending = true;
    b.send_start_ns = now_ns();
    if (!o.idle) {
        for (std::size_t i = 0; i < o.senders; ++i) {
            Client& c = *b.clients[i];
            if (o.api == "seed") {
                for (std::size_t k = 0; k < std::max<std::size_t>(1, o.inflight); ++k) {
                    asio::co_spawn(c.worker->io, b.seed_send_loop(c), asio::detached);
                }
            } else if (c.open) {
                asio::co_spawn(c.worker->io, b.send_loop(c), asio::detached);
            }
        }
    }
    if (o.reconnect) {
        const int status = reconnect_storm(b, t0, quiet);
        close_all();
        return status;
    }
    auto run_start = std::chrono::steady_clock::now();
    auto last = b.totals();
    auto last_server = sample_process(o.server_pid);
    double peak_rate = 0;
    std::uint64_t server_rss_peak = server_connected.rss_kib;
    std::vector<std::string> per_second;
    for (int sec = 1; sec <= static_cast<int>(o.duration + 0.999); ++sec) {
        std::this_thread::sleep_until(run_start + std::chrono::seconds(sec));
        const auto t = b.totals();
        const auto srv = sample_process(o.server_pid);
        server_rss_peak = std::max(server_rss_peak, srv.rss_kib);
        const auto lat = t.latency.minus(last.latency);
        const double cpu =
            srv.ok && last_server.ok ? (srv.cpu_seconds - last_server.cpu_seconds) * 100 : 0;
        const double rate = static_cast<double>(t.delivered - last.delivered);
        if (sec > 1) peak_rate = std::max(peak_rate, rate);
        const auto line = fmt::format(
            "{:3}s conns {} sent/s {} acked/s {} delivered/s {} p50 {:.2f} p99 {:.2f} ms "
            "dup {} closed {} srv cpu {:.0f}% rss {} MiB",
            sec, t.connected - t.closed, t.sent - last.sent, t.acked - last.acked,
            t.delivered - last.delivered, ms(lat.quantile(0.5)), ms(lat.quantile(0.99)),
            t.duplicated, t.closed, cpu, srv.rss_kib / 1024);
        per_second.push_back(line);
        say(line);
        last = t;
        last_server = srv;
    }
    b.sending = false;
    const double send_s = static_cast<double>(now_ns() - b.send_start_ns) / 1e9;
    const auto server_run_end = sample_process(o.server_pid);

    // 4. Drain: wait until every expected delivery arrived or the drain time passed.
    // `wake` is set by send_loop on the client's worker thread: read it there too.
    for (auto& c : b.clients) {
        asio::post(c->worker->io, [&c] {
            if (c->wake) c->wake->cancel();
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    wait_for(
        o.drain,
        [&] {
            const auto t = b.totals();
            return t.delivered >= t.expected && t.acked + t.send_errors >= t.sent;
        },
        [] {}, true);
    const auto t = b.totals();
    const auto srv_end = sample_process(o.server_pid);
    // Deliveries that arrived during the drain count, over the time they took: a saturated
    // server's backlog is not credited to the send window alone.
    const double deliver_s = static_cast<double>(now_ns() - b.send_start_ns) / 1e9;

    // Summary.
    const std::uint64_t lost = t.expected > t.delivered ? t.expected - t.delivered : 0;
    const std::uint64_t unacked =
        t.sent > t.acked + t.send_errors ? t.sent - t.acked - t.send_errors : 0;
    const double deliveries_per_s = static_cast<double>(t.delivered - t0.delivered) / deliver_s;
    const double acked_per_s = static_cast<double>(t.acked - t0.acked) / send_s;
    const double cpu_pct =
        server_run_end.ok && server_connected.ok
            ? (server_run_end.cpu_seconds - server_connected.cpu_seconds) * 100 / send_s
            : 0;
    const double connect_rate = static_cast<double>(t0.connected) / connect_s;
    const long per_conn =
        server_connected.ok && t0.connected > 0
            ? static_cast<long>((static_cast<double>(server_connected.rss_kib) -
                                 static_cast<double>(server_before_connect.rss_kib)) *
                                1024 / static_cast<double>(t0.connected))
            : 0;
    auto pct = [](const Histogram::Snapshot& h) {
        return fmt::format("p50 {:.2f} p90 {:.2f} p99 {:.2f} p99.9 {:.2f} max {:.2f} ms",
                           ms(h.quantile(0.5)), ms(h.quantile(0.9)), ms(h.quantile(0.99)),
                           ms(h.quantile(0.999)), ms(static_cast<double>(h.max)));
    };
    fmt::print("\n== chat-bench {} ==\n", o.label);
    fmt::print("clients          {} connected / {} ({} failed), {:.0f} connects/s\n", t0.connected,
               o.clients, t.connect_failed, connect_rate);
    if (!o.idle) {
        fmt::print("sent             {} ({} acked, {} refused, {} unacked) in {:.1f} s\n", t.sent,
                   t.acked, t.send_errors, unacked, send_s);
        fmt::print("acked/s          {:.0f}\n", acked_per_s);
        fmt::print("delivered        {} of {} expected; lost {}, duplicated {}\n", t.delivered,
                   t.expected, lost, t.duplicated);
        fmt::print("deliveries/s     {:.0f} (peak second {:.0f})\n", deliveries_per_s, peak_rate);
        fmt::print("latency          {}\n", pct(t.latency));
        fmt::print("ack latency      {}\n", pct(t.ack_latency));
    }
    fmt::print("closed by server {}\n", t.closed);
    if (server0.ok) {
        fmt::print(
            "server           rss {} -> {} KiB connected, peak {} KiB, end {} KiB; "
            "{} B/connection; cpu {:.0f}% while sending; {} threads\n",
            server_before_connect.rss_kib, server_connected.rss_kib, server_rss_peak,
            srv_end.rss_kib, per_conn, cpu_pct, srv_end.threads);
    }

    if (!o.json_path.empty()) {
        auto h = [](const Histogram::Snapshot& s) {
            return fmt::format(
                R"({{"count":{},"p50_ms":{:.3f},"p90_ms":{:.3f},"p99_ms":{:.3f},"p999_ms":{:.3f},"max_ms":{:.3f}}})",
                s.total(), ms(s.quantile(0.5)), ms(s.quantile(0.9)), ms(s.quantile(0.99)),
                ms(s.quantile(0.999)), ms(static_cast<double>(s.max)));
        };
        std::ofstream out(o.json_path);
        out << fmt::format(
            R"({{"label":"{}","api":"{}","mix":"{}","clients":{},"senders":{},"rate":{},"rooms":{},"duration_s":{:.2f},)"
            R"("connected":{},"connect_failed":{},"connect_per_s":{:.1f},"setup_s":{:.2f},)"
            R"("sent":{},"acked":{},"refused":{},"unacked":{},"acked_per_s":{:.1f},)"
            R"("delivered":{},"expected":{},"lost":{},"duplicated":{},"closed_by_server":{},)"
            R"("deliveries_per_s":{:.1f},"peak_deliveries_per_s":{:.1f},"latency":{},"ack_latency":{},)"
            R"("server":{{"rss_start_kib":{},"rss_connected_kib":{},"rss_peak_kib":{},"rss_end_kib":{},)"
            R"("bytes_per_connection":{},"cpu_percent":{:.1f},"threads":{}}}}})",
            o.label, o.api, o.mix.empty() ? "100,0,0" : o.mix, o.clients, o.senders, o.rate,
            o.rooms, send_s, t0.connected, t.connect_failed, connect_rate, setup_s, t.sent, t.acked,
            t.send_errors, unacked, acked_per_s, t.delivered, t.expected, lost, t.duplicated,
            t.closed, deliveries_per_s, peak_rate, h(t.latency), h(t.ack_latency),
            server_before_connect.rss_kib, server_connected.rss_kib, server_rss_peak,
            srv_end.rss_kib, per_conn, cpu_pct, srv_end.threads);
        out << "\n";
    }

    close_all();

    const bool failed = (timed_out || t0.connected < o.clients || t.connect_failed > 0 ||
                         b.setup_failed > 0 || lost > 0 || t.duplicated > 0 || t.send_errors > 0 ||
                         unacked > 0 || (!o.idle && t.acked == 0));
    if (o.check && failed) {
        fmt::print(stderr,
                   "chat-bench: check failed (lost {}, duplicated {}, refused {}, "
                   "unacked {}, connect failures {}, connected {} of {}{})\n",
                   lost, t.duplicated, t.send_errors, unacked, t.connect_failed + b.setup_failed,
                   t0.connected, o.clients, timed_out ? ", a phase timed out" : "");
        return 1;
    }
    return 0;
}
