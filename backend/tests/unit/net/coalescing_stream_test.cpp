#include "net/coalescing_stream.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace chatd::net;
using namespace std::chrono_literals;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

std::string message(std::size_t i, std::size_t size) {
    std::string out = "message-" + std::to_string(i) + "-";
    out.resize(std::max(size, out.size()), 'x');
    return out;
}

// A server websocket over CoalescingStream and a plain client, connected over loopback TCP.
// Everything runs on one thread: the test drives the io_context.
struct Connection {
    asio::io_context io;
    std::optional<websocket::stream<CoalescingStream>> server;
    std::optional<websocket::stream<beast::tcp_stream>> client;

    explicit Connection(std::size_t max_pending_bytes, bool small_socket_buffers = false) {
        tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        tcp::socket client_socket(io);
        client_socket.open(tcp::v4());
        if (small_socket_buffers) {
            client_socket.set_option(asio::socket_base::receive_buffer_size(16 * 1024));
        }
        client_socket.connect(acceptor.local_endpoint());
        tcp::socket server_socket = acceptor.accept();
        if (small_socket_buffers) {
            server_socket.set_option(asio::socket_base::send_buffer_size(16 * 1024));
        }
        server.emplace(beast::tcp_stream(std::move(server_socket)), max_pending_bytes);
        client.emplace(beast::tcp_stream(std::move(client_socket)));
        bool accepted = false;
        bool handshaken = false;
        server->async_accept([&](beast::error_code ec) {
            EXPECT_FALSE(ec) << ec.message();
            accepted = true;
        });
        client->async_handshake("127.0.0.1", "/", [&](beast::error_code ec) {
            EXPECT_FALSE(ec) << ec.message();
            handshaken = true;
        });
        run_until([&] { return accepted && handshaken; });
    }

    // The client sends `count` pings, each once the previous one is written.
    void ping_repeatedly(std::size_t count) {
        if (count == 0) return;
        client->async_ping({}, [this, count](beast::error_code ec) {
            ASSERT_FALSE(ec) << ec.message();
            ping_repeatedly(count - 1);
        });
    }

    CoalescingStream& layer() { return server->next_layer(); }

    // Runs handlers until `done`; fails (instead of hanging) when nothing happens for 10 s.
    template <class Predicate>
    void run_until(Predicate done) {
        while (!done()) {
            if (io.stopped()) io.restart();  // it stops whenever it runs out of work
            if (io.run_one_for(10s) == 0) {
                ADD_FAILURE() << "no progress";
                return;
            }
        }
    }

    // Runs handlers until none is ready and none becomes ready for `quiet`.
    void run_until_stalled(std::chrono::milliseconds quiet) {
        for (;;) {
            if (io.stopped()) io.restart();
            if (io.run_one_for(quiet) == 0) return;
        }
    }

    std::vector<std::string> client_reads(std::size_t count) {
        std::vector<std::string> out;
        beast::flat_buffer buffer;
        std::function<void()> next = [&] {
            client->async_read(buffer, [&](beast::error_code ec, std::size_t) {
                ASSERT_FALSE(ec) << ec.message();
                out.push_back(beast::buffers_to_string(buffer.data()));
                buffer.consume(buffer.size());
                if (out.size() < count) next();
            });
        };
        next();
        run_until([&] { return out.size() >= count || ::testing::Test::HasFailure(); });
        return out;
    }
};

asio::awaitable<void> write_messages(websocket::stream<CoalescingStream>& ws,
                                     std::size_t count,
                                     std::size_t size,
                                     std::size_t& written,
                                     std::size_t& max_pending,
                                     bool uncork_when_done = false) {
    for (std::size_t i = 0; i < count; ++i) {
        const std::string text = message(i, size);
        auto [ec, n] = co_await ws.async_write(asio::buffer(text), kTuple);
        if (ec) co_return;
        ++written;
        max_pending = std::max(max_pending, ws.next_layer().pending_bytes());
    }
    if (uncork_when_done) ws.next_layer().uncork();
}

TEST(CoalescingStream, CorkedBatchWaitsForUncorkThenLeavesWholeAndInOrder) {
    Connection c(64 * 1024);
    c.layer().cork();
    std::size_t written = 0;
    std::size_t max_pending = 0;
    asio::co_spawn(c.io, write_messages(*c.server, 1000, 20, written, max_pending), asio::detached);
    c.run_until([&] { return written == 1000; });
    // 1,000 frames of 20 bytes with a 2-byte header each: all held back, none on the socket.
    EXPECT_EQ(c.layer().pending_bytes(), 1000u * 22u);
    c.layer().uncork();
    const auto received = c.client_reads(1000);
    ASSERT_EQ(received.size(), 1000u);
    for (std::size_t i = 0; i < received.size(); ++i) EXPECT_EQ(received[i], message(i, 20));
    // Once everything is written the buffers are released (memory per idle connection).
    c.run_until([&] { return c.layer().buffer_capacity() == 0; });
    EXPECT_EQ(c.layer().pending_bytes(), 0u);
}

TEST(CoalescingStream, PongsWrittenByBeastNeverSplitAFrame) {
    // A small bound: the batch leaves in many socket writes, with the pongs Beast writes on its
    // own (answering the client's pings) queued between them.
    Connection c(700);
    beast::flat_buffer server_buffer;
    c.server->async_read(server_buffer, [](beast::error_code, std::size_t) {});
    std::size_t pongs = 0;
    c.client->control_callback([&](websocket::frame_type kind, beast::string_view) {
        if (kind == websocket::frame_type::pong) ++pongs;
    });
    std::size_t written = 0;
    std::size_t max_pending = 0;
    c.layer().cork();
    asio::co_spawn(c.io, write_messages(*c.server, 2000, 100, written, max_pending, true),
                   asio::detached);
    constexpr std::size_t kPings = 50;
    c.ping_repeatedly(kPings);
    const auto received = c.client_reads(2000);
    ASSERT_EQ(received.size(), 2000u);
    for (std::size_t i = 0; i < received.size(); ++i) EXPECT_EQ(received[i], message(i, 100));
    EXPECT_LE(max_pending, 700u);
    // The pongs still queued come out once the writer uncorks.
    beast::flat_buffer buffer;
    c.client->async_read(buffer, [](beast::error_code, std::size_t) {});
    c.run_until([&] { return pongs == kPings; });
    EXPECT_EQ(pongs, kPings);
}

// The writer's fast path: whole frames appended in place, falling back to Beast (which waits for
// room) when a frame does not fit; Beast's pongs in between; sizes covering the three header
// lengths.
TEST(CoalescingStream, AppendedFramesMixWithBeastWritesAndPongsInOrder) {
    Connection c(70 * 1024);
    beast::flat_buffer server_buffer;
    c.server->async_read(server_buffer, [](beast::error_code, std::size_t) {});
    std::size_t pongs = 0;
    c.client->control_callback([&](websocket::frame_type kind, beast::string_view) {
        if (kind == websocket::frame_type::pong) ++pongs;
    });
    constexpr std::size_t kCount = 600;
    const auto size_of = [](std::size_t i) -> std::size_t {
        return i % 3 == 0 ? 20 : i % 3 == 1 ? 300 : 66000;
    };
    std::size_t appended = 0;
    std::size_t written = 0;
    auto writer = [&]() -> asio::awaitable<void> {
        for (std::size_t i = 0; i < kCount; ++i) {
            const std::string text = message(i, size_of(i));
            if (c.layer().try_append_text_frame(text)) {
                ++appended;
            } else {
                auto [ec, n] = co_await c.server->async_write(asio::buffer(text), kTuple);
                if (ec) co_return;
            }
            ++written;
        }
    };
    asio::co_spawn(c.io, writer(), asio::detached);
    constexpr std::size_t kPings = 30;
    c.ping_repeatedly(kPings);
    const auto received = c.client_reads(kCount);
    ASSERT_EQ(received.size(), kCount);
    for (std::size_t i = 0; i < kCount; ++i) EXPECT_EQ(received[i], message(i, size_of(i)));
    EXPECT_GT(appended, 0u);
    EXPECT_LT(appended, kCount) << "66,000-byte frames never fit beside others: Beast writes them";
    beast::flat_buffer buffer;
    c.client->async_read(buffer, [](beast::error_code, std::size_t) {});
    c.run_until([&] { return pongs == kPings; });
}

TEST(CoalescingStream, AReaderThatStopsReadingStopsTheWriterAtTheBound) {
    constexpr std::size_t kBound = 4096;
    Connection c(kBound, /*small_socket_buffers=*/true);
    std::size_t written = 0;
    std::size_t max_pending = 0;
    constexpr std::size_t kCount = 20000;
    asio::co_spawn(c.io, write_messages(*c.server, kCount, 1000, written, max_pending),
                   asio::detached);
    c.run_until_stalled(200ms);
    EXPECT_LT(written, kCount) << "the writer never waited for the socket";
    EXPECT_LE(max_pending, kBound);
    // Reading again lets the writer finish, and nothing was lost or reordered.
    const auto received = c.client_reads(kCount);
    ASSERT_EQ(received.size(), kCount);
    for (std::size_t i = 0; i < kCount; i += 997) EXPECT_EQ(received[i], message(i, 1000));
    EXPECT_EQ(received.back(), message(kCount - 1, 1000));
    EXPECT_EQ(written, kCount);
}

TEST(CoalescingStream, CloseSendsThePendingFramesFirst) {
    Connection c(64 * 1024);
    std::size_t written = 0;
    std::size_t max_pending = 0;
    bool closed = false;
    auto write_then_close = [&]() -> asio::awaitable<void> {
        co_await write_messages(*c.server, 300, 50, written, max_pending);
        const websocket::close_reason reason(websocket::close_code::going_away);
        auto [ec] = co_await c.server->async_close(reason, kTuple);
        EXPECT_FALSE(ec) << ec.message();
        closed = true;
    };
    asio::co_spawn(c.io, write_then_close(), asio::detached);
    const auto received = c.client_reads(300);
    ASSERT_EQ(received.size(), 300u);
    EXPECT_EQ(received.back(), message(299, 50));
    // The close frame comes after the last message; the client answers and both sides end.
    beast::flat_buffer buffer;
    beast::error_code read_ec;
    bool read_done = false;
    c.client->async_read(buffer, [&](beast::error_code ec, std::size_t) {
        read_ec = ec;
        read_done = true;
    });
    c.run_until([&] { return read_done && closed; });
    EXPECT_EQ(read_ec, websocket::error::closed);
    EXPECT_EQ(c.client->reason().code, websocket::close_code::going_away);
}

// The client writes one message as `frames` frames: the text, then empty continuation frames,
// the last one final unless `final` is false.
void write_fragmented(Connection& c, std::size_t frames, bool final) {
    c.client->text(true);
    c.client->write_some(frames == 1 && final, asio::buffer(std::string_view("{}")));
    for (std::size_t i = 1; i < frames; ++i) {
        c.client->write_some(i + 1 == frames && final, asio::const_buffer());
    }
}

// The server reads one message into `buffer`; returns how the read ended.
beast::error_code read_message(Connection& c, beast::flat_buffer& buffer) {
    std::optional<beast::error_code> read_ec;
    c.server->async_read(buffer, [&](beast::error_code ec, std::size_t) { read_ec = ec; });
    c.run_until([&] { return read_ec.has_value(); });
    return *read_ec;
}

TEST(CoalescingStream, AMessageOfMaxFramesIsReadAndOneFrameMoreFailsTheRead) {
    Connection c(64 * 1024);
    c.layer().set_max_message_frames(4);
    // Control frames between the fragments do not count.
    write_fragmented(c, 2, false);
    c.client->ping({});
    c.client->write_some(false, asio::const_buffer());
    c.client->write_some(true, asio::const_buffer());
    beast::flat_buffer buffer;
    const auto read_ec = read_message(c, buffer);
    ASSERT_FALSE(read_ec) << read_ec.message();
    EXPECT_EQ(beast::buffers_to_string(buffer.data()), "{}");
    EXPECT_FALSE(c.layer().message_frame_limit_hit());

    // A message that never ends: its fifth frame fails the read (Beast itself skips empty
    // continuation frames inside its read and would wait forever).
    buffer.consume(buffer.size());
    write_fragmented(c, 5, false);
    EXPECT_TRUE(read_message(c, buffer));
    EXPECT_TRUE(c.layer().message_frame_limit_hit());
}

TEST(CoalescingStream, NoFrameLimitByDefault) {
    Connection c(64 * 1024);
    write_fragmented(c, 3000, true);
    beast::flat_buffer buffer;
    const auto read_ec = read_message(c, buffer);
    ASSERT_FALSE(read_ec) << read_ec.message();
    EXPECT_EQ(beast::buffers_to_string(buffer.data()), "{}");
    EXPECT_FALSE(c.layer().message_frame_limit_hit());
}

}  // namespace
