#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/message.hpp"

namespace chatd::bus {

// The JSON bodies chatd puts on RabbitMQ (docs/design/rabbitmq.md). Pure functions.
//
// Exchange `chat` (the brief's): a stored message, with the brief's three fields first:
//   {"sent_at","content","user_name","type":"message","id","room","ts","client_msg_id","kind",
//    "node"}
// A body without `id` that has `content` and `user_name` (the brief's own format, from any AMQP
// client) decodes as a foreign message: id 0, room general, `sent_at` as given.
// Exchange `chat.events` (chatd only): typing, presence, membership, heartbeat, forward; each
// with "node", the publishing node.
struct Wire {
    enum class Kind {
        Event,      // event: a message, typing, presence or membership
        Heartbeat,  // users: the node's online users
        Forward,    // event (a message) for `user` only: from the node consuming user's queue
        Invalid,
    };
    Kind kind = Kind::Invalid;
    model::EventPtr event;
    std::string node;  // publishing node; empty for foreign messages
    std::string user;  // Forward: the user the message is for
    std::vector<std::string> users;
    std::string error;  // Invalid: why
};

std::string encode_event(const model::Event& event, std::string_view node);
std::string encode_heartbeat(std::string_view node, const std::vector<std::string>& users);
std::string encode_forward(const model::Message& message,
                           std::string_view node,
                           std::string_view user);
Wire decode_wire(std::string_view body);

// Idempotency key for a foreign message: the same body in several user queues gives the same
// key on every node, so the store keeps one copy (FNV-1a 64 of user, content and sent_at).
std::string foreign_key(const model::Message& message);

}  // namespace chatd::bus
