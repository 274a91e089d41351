#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bus/amqp_bus.hpp"
#include "bus/amqp_connection.hpp"
#include "model/message.hpp"

// What chatd declares on RabbitMQ and where each publish goes
// (docs/design/rabbitmq.md). The decisions are pure (route, the names); the declarations run on a
// connection.
namespace chatd::bus {

// The channels of the bus's one connection.
inline constexpr Channel kPublishChannel = 1;  // publisher confirms
inline constexpr Channel kNodeChannel = 2;     // per-node: the node's queue
inline constexpr Channel kEventsChannel = 3;   // declarations; chat.events: the node's queue
// Per-user: one channel per consumed user queue, so a refused exclusive consume closes only its
// own. RabbitMQ's default channel_max is 2047.
inline constexpr Channel kFirstUserChannel = 10;
inline constexpr Channel kLastUserChannel = 2000;

// The brief's exchange: fanout, not durable, not auto-delete, no arguments. Carries `general`.
inline constexpr std::string_view kChatExchange = "chat";
// chatd only: typing, presence, membership, heartbeats, forwards; per-user, changes too.
inline constexpr std::string_view kEventsExchange = "chat.events";
// Per-node: messages of rooms other than general and every change, bound only to the
// `chatd:node:*` queues.
inline constexpr std::string_view kRoomsExchange = "chat.rooms";
// Per-user: messages of rooms other than general go to each member's queue through the default
// exchange (routing key = queue name = user name).
inline constexpr std::string_view kDefaultExchange = "";

std::string events_queue_name(std::string_view node_id);  // chatd:events:<node>
std::string node_queue_name(std::string_view node_id);    // chatd:node:<node>

// Where one publish goes. Only general's new messages go on the brief's `chat` fanout, which
// every user queue (per-user) and every plain AMQP reader bound to `chat` sees; other rooms reach
// only their members; changes (edit, delete, react, unreact) go on chat.rooms (per-node) or
// chat.events (per-user) to every node, whose hub hands them to the room's members; ephemeral
// events go on chat.events.
struct Route {
    enum class Outcome {
        Publish,            // to `exchange`; to each of `queues` on the default exchange
        NoRecipients,       // a room without members to deliver to: done, nothing to send
        MissingRecipients,  // per-user message outside general published without its members
    };
    Outcome outcome = Outcome::Publish;
    std::string_view exchange;
    std::vector<std::string> queues;
    bool persistent = false;  // messages; they also wait for the broker's confirm
};
// `recipients`: nullopt from publish(), the room's members from publish_to().
Route route(const model::Event& event,
            Topology topology,
            std::optional<std::vector<std::string>> recipients);

// On a new connection: the exchanges, the node's exclusive chat.events queue (consumed), and
// per-node the node's queue bound to `chat` and chat.rooms. `bound` runs once the node's queues
// are bound and before anything is consumed from them (per-user: at the end, before any user
// queue is consumed). Throws ConnectionLost.
void declare_node_topology(AmqpConnection& connection,
                           const AmqpOptions& options,
                           const std::function<void()>& bound);

// Per-user: declares the user's queue exactly as the brief does (durable, no arguments), binds
// it to `chat` and consumes it, exclusively, on `channel`. False when the broker refused a step
// (the channel is closed): another node holds the queue.
bool consume_user_queue(AmqpConnection& connection,
                        Channel channel,
                        const std::string& user_name,
                        int prefetch);

}  // namespace chatd::bus
