#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <variant>

namespace chatd::model {

// Name of the room every user can read and write; it always exists.
inline constexpr std::string_view kGeneralRoom = "general";

// Store-assigned message id. Ids increase with commit order, hence within every room.
using MessageId = std::int64_t;

enum class MessageKind {
    Text,   // an ordinary message
    Join,   // seed API CONNECTION_MESSAGE
    Leave,  // seed API DISCONNECTION_MESSAGE
};

// A message as stored and as carried between nodes.
struct Message {
    MessageId id = 0;
    std::string room;
    std::string user_name;
    std::string content;
    // The brief's display time, "DD/MM/YYYY HH:MM:SS" UTC unless the sender supplied its own text.
    std::string sent_at;
    std::int64_t ts_ms = 0;  // server receive time, milliseconds since the Unix epoch
    std::string client_msg_id;
    MessageKind kind = MessageKind::Text;
};

// Ephemeral: "user is typing in room". Never stored.
struct Typing {
    std::string room;
    std::string user_name;
};

// A user's first connection came up (online) or last one went away (offline).
struct Presence {
    std::string user_name;
    bool online = false;
};

// A user joined or left a room (or a direct conversation was opened); membership changed in the
// store before this event is published.
struct Membership {
    std::string room;
    std::string user_name;
    bool joined = false;
};

// Everything that travels on the bus between the chat core and every node.
using Event = std::variant<Message, Typing, Presence, Membership>;
using EventPtr = std::shared_ptr<const Event>;

}  // namespace chatd::model
