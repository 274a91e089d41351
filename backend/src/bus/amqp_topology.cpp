#include "bus/amqp_topology.hpp"

namespace chatd::bus {

std::span<const QueueArgument> node_queue_arguments() {
    static constexpr QueueArgument kArguments[] = {
        {"x-expires", 3600 * 1000},
        {"x-max-length", 100000},
    };
    return kArguments;
}

std::string events_queue_name(std::string_view node_id) {
    return "chatd:events:" + std::string(node_id);
}

std::string node_queue_name(std::string_view node_id) {
    return "chatd:node:" + std::string(node_id);
}

Route route(const model::Event& event,
            Topology topology,
            std::optional<std::vector<std::string>> recipients) {
    const auto* message = std::get_if<model::Message>(&event);
    if (!message) return Route{Route::Outcome::Publish, kEventsExchange, {}, false};
    if (model::is_change(message->kind)) {
        // Never on `chat` nor into a user queue: the brief's readers see new messages only.
        // Confirmed like every stored row (the outbox republishes it otherwise).
        const auto exchange = topology == Topology::PerNode ? kRoomsExchange : kEventsExchange;
        return Route{Route::Outcome::Publish, exchange, {}, true};
    }
    if (message->room == model::kGeneralRoom) {
        return Route{Route::Outcome::Publish, kChatExchange, {}, true};
    }
    if (topology == Topology::PerNode) {
        return Route{Route::Outcome::Publish, kRoomsExchange, {}, true};
    }
    if (!recipients) return Route{Route::Outcome::MissingRecipients, {}, {}, true};
    if (recipients->empty()) return Route{Route::Outcome::NoRecipients, {}, {}, true};
    return Route{Route::Outcome::Publish, kDefaultExchange, std::move(*recipients), true};
}

void declare_node_topology(AmqpConnection& connection,
                           const AmqpOptions& options,
                           const std::function<void()>& bound) {
    // Exactly the brief's declaration of `chat` (so its scripts and chatd never disagree:
    // PRECONDITION_FAILED otherwise); the other two are declared the same way.
    connection.open_channel(kEventsChannel);
    connection.declare_fanout(kEventsChannel, kChatExchange);
    connection.declare_fanout(kEventsChannel, kEventsExchange);
    connection.declare_fanout(kEventsChannel, kRoomsExchange);
    const auto events_queue = events_queue_name(options.node_id);
    connection.declare_queue(kEventsChannel, events_queue,
                             QueueFlags{.durable = false, .exclusive = true, .auto_delete = true},
                             {}, "queue.declare events");
    connection.bind(kEventsChannel, events_queue, kEventsExchange, "queue.bind events");
    connection.consume(kEventsChannel, events_queue, true, "basic.consume events");

    if (options.topology == Topology::PerUser) {
        // No user queue is consumed yet: the bus consumes each when its user is online here.
        bound();
        return;
    }
    const auto node_queue = node_queue_name(options.node_id);
    connection.open_channel(kNodeChannel);
    connection.declare_queue(kNodeChannel, node_queue, QueueFlags{.durable = true},
                             node_queue_arguments(), "queue.declare node");
    connection.bind(kNodeChannel, node_queue, kChatExchange, "queue.bind node");
    connection.bind(kNodeChannel, node_queue, kRoomsExchange, "queue.bind node rooms");
    connection.set_prefetch(kNodeChannel, options.prefetch);
    // Bound again, not consuming yet: clients that reconnect from now on resync past anything
    // that missed this queue, and nothing consumed reaches the old sockets.
    bound();
    connection.consume(kNodeChannel, node_queue, false, "basic.consume node");
}

bool consume_user_queue(AmqpConnection& connection,
                        Channel channel,
                        const std::string& user_name,
                        int prefetch) {
    return connection.open_channel(channel) &&
           connection.declare_queue(channel, user_name, QueueFlags{.durable = true}, {},
                                    "queue.declare user") &&
           connection.bind(channel, user_name, kChatExchange, "queue.bind user") &&
           connection.set_prefetch(channel, prefetch) &&
           connection.consume(channel, user_name, false, "basic.consume user");
}

}  // namespace chatd::bus
