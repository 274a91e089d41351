#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/message.hpp"

namespace chatd::bus {

// The JSON bodies chatd puts on RabbitMQ (docs/design/rabbitmq.md). Pure functions.
//
// A stored message (on `chat`, `chat.rooms` or a member's queue) or a change (on `chat.rooms` or
// `chat.events`), with the brief's three fields first:
//   {"sent_at","content","user_name","type":"message","id","room","ts","client_msg_id","kind",
//    "prev_id","node"}
// plus, only when not the default: "target_id" and "reply_to", and the folded state
// ("edited_ts", "deleted", "reactions", "reply_count", "last_reply_ts"; never set on a live row).
// A body without `id` that has `content` and `user_name` (the brief's own format, from any AMQP
// client) decodes as a foreign message: id 0, room general, `sent_at` as given. A body naming an
// unknown `kind`, or a change without `id` or `target_id`, is Invalid.
// Exchange `chat.events` (chatd only): typing, presence, membership, heartbeat, forward; each
// with "node", the publishing node.
struct Wire {
    enum class Kind {
        Event,      // event: a message, typing, presence or membership
        Heartbeat,  // users: the node's online users; away: those of them away there
        Forward,    // event (a message) for `user` only: from the node consuming user's queue
        Invalid,
    };
    Kind kind = Kind::Invalid;
    model::EventPtr event;
    std::string node;  // publishing node; empty for foreign messages
    std::string user;  // Forward: the user the message is for
    std::vector<std::string> users;
    std::vector<std::string> away;
    std::string error;  // Invalid: why
};

std::string encode_event(const model::Event& event, std::string_view node);
// `away`: the users of `users` whose connections on the node are all away (absent when none).
std::string encode_heartbeat(std::string_view node,
                             const std::vector<std::string>& users,
                             const std::vector<std::string>& away = {});
std::string encode_forward(const model::Message& message,
                           std::string_view node,
                           std::string_view user);
Wire decode_wire(std::string_view body);

// Idempotency key for a foreign message: the same body in several user queues gives the same
// key on every node, so the store keeps one copy (FNV-1a 64 of user, content and sent_at).
std::string foreign_key(const model::Message& message);

}  // namespace chatd::bus
