#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace chatd::chat {

// An encoded WebSocket text frame, shared by every recipient: one allocation per message.
using Frame = std::shared_ptr<const std::string>;

inline Frame make_frame(std::string text) {
    return std::make_shared<const std::string>(std::move(text));
}

// WebSocket close codes chatd uses (docs/protocol.md).
enum class CloseCode : std::uint16_t {
    Normal = 1000,
    Policy = 1008,
    Restarting = 1012,
};

// Which frame format a connection speaks.
enum class Protocol {
    Native,  // /ws: typed frames
    Seed,    // /receive/{user}: the brief's {content, user_name, sent_at}
};

// The core's view of one client connection, implemented by the network layer.
// Both functions are thread-safe and never block: they queue work for the connection's writer.
class Sink {
  public:
    virtual ~Sink() = default;
    virtual void deliver(const Frame& frame) = 0;
    virtual void close(CloseCode code, std::string_view reason) = 0;
    // close(), except that the frames already delivered are sent before the close frame (the
    // brief's DISCONNECTION_MESSAGE: the leaver's own notice, then the close). Frames delivered
    // after it returns are not sent.
    virtual void close_after_queued(CloseCode code, std::string_view reason) {
        close(code, reason);
    }
    // Bytes delivered and not yet handed to the connection's writer: ephemeral frames (typing,
    // presence) are not delivered to a connection that holds more than a threshold.
    virtual std::size_t queued_bytes() const { return 0; }
    // The I/O shard whose thread runs this connection (ShardRunner); 0 without shards.
    virtual std::size_t shard() const { return 0; }
    // deliver(), called on the thread of the connection's own shard (from ShardRunner::run_on).
    // `write_now`: nothing else waits on the shard, so the connection may write at once; else it
    // posts its writer behind the waiting work, and the frames of those messages join the write.
    virtual void deliver_on_shard(const Frame& frame, bool /*write_now*/) { deliver(frame); }
};

// The I/O threads of the network layer, one per shard: the hub hands each shard the deliveries
// to its own connections in one call instead of posting once per connection.
class ShardRunner {
  public:
    virtual ~ShardRunner() = default;
    virtual std::size_t shard_count() const = 0;
    // Runs `work` on the shard's thread, after the work handed to it earlier.
    virtual void run_on(std::size_t shard, std::function<void()> work) = 0;
    // From inside a shard's work: whether more run_on work for that shard waits behind it.
    virtual bool has_queued_work(std::size_t shard) const = 0;
};

}  // namespace chatd::chat
