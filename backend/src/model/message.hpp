#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/notify.hpp"

namespace chatd::model {

// Name of the room every user can read and write; it always exists.
inline constexpr std::string_view kGeneralRoom = "general";

// Store-assigned message id. Ids increase with commit order, hence within every room.
using MessageId = std::int64_t;
// prev_id of a room's first message: ids start at 1.
inline constexpr MessageId kNoPreviousMessage = 0;

// A room is an ordered log: its visible messages (Text, Join, Leave) and the changes made to them
// (Edit..Unreact), each a row with an id in the room's chain. The numbers are stored.
enum class MessageKind {
    Text = 0,     // an ordinary message (a reply when reply_to is set)
    Join = 1,     // seed API CONNECTION_MESSAGE
    Leave = 2,    // seed API DISCONNECTION_MESSAGE
    Edit = 3,     // target_id's content becomes this row's content
    Delete = 4,   // target_id becomes a tombstone: its content is erased
    React = 5,    // user_name adds the reaction `content` (one emoji) to target_id
    Unreact = 6,  // user_name removes that reaction
};

// A change to another message rather than a message shown as a row of its own.
inline bool is_change(MessageKind kind) {
    return kind == MessageKind::Edit || kind == MessageKind::Delete || kind == MessageKind::React ||
           kind == MessageKind::Unreact;
}

// Content of the brief's join / leave notices.
inline constexpr std::string_view kConnectionMessage = "CONNECTION_MESSAGE";
inline constexpr std::string_view kDisconnectionMessage = "DISCONNECTION_MESSAGE";

// The kind a message in the brief's format has: its notices are recognised by content.
inline MessageKind kind_of_content(std::string_view content) {
    if (content == kConnectionMessage) return MessageKind::Join;
    if (content == kDisconnectionMessage) return MessageKind::Leave;
    return MessageKind::Text;
}

// The `kind` field of native frames and of chatd's AMQP bodies.
inline std::string_view kind_name(MessageKind kind) {
    switch (kind) {
        case MessageKind::Join:
            return "join";
        case MessageKind::Leave:
            return "leave";
        case MessageKind::Edit:
            return "edit";
        case MessageKind::Delete:
            return "delete";
        case MessageKind::React:
            return "react";
        case MessageKind::Unreact:
            return "unreact";
        case MessageKind::Text:
            break;
    }
    return "text";
}

inline std::optional<MessageKind> kind_from_name(std::string_view name) {
    if (name == "text") return MessageKind::Text;
    if (name == "join") return MessageKind::Join;
    if (name == "leave") return MessageKind::Leave;
    if (name == "edit") return MessageKind::Edit;
    if (name == "delete") return MessageKind::Delete;
    if (name == "react") return MessageKind::React;
    if (name == "unreact") return MessageKind::Unreact;
    return std::nullopt;
}

// One emoji on a message and who added it, in the order they did.
struct Reaction {
    std::string emoji;
    std::vector<std::string> users;
    bool operator==(const Reaction&) const = default;
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
    // The id of the room's message stored just before this one (kNoPreviousMessage for its
    // first). Ids of a room are taken and committed one transaction at a time under the room's
    // lock, so the messages of a room form one chain that never changes once committed: a client
    // holding ids up to X and then a message whose prev_id is above X knows it has a hole.
    MessageId prev_id = kNoPreviousMessage;
    // A change (is_change(kind)): the message it changes, in the same room. Otherwise 0.
    MessageId target_id = 0;
    // A Text reply: the root of its thread (threads are one level deep). A change: its target's
    // reply_to, so a client can count a deleted reply off its root without holding the reply.
    MessageId reply_to = 0;

    // The folded state of a visible message: every change made to it so far, as read from the
    // store (a page says up to which id, HistoryPage::as_of). A message just stored, as
    // published live, has these defaults.
    std::int64_t edited_ms = 0;         // ts_ms of its last edit; 0: never edited
    bool deleted = false;               // a tombstone: content is empty
    std::vector<Reaction> reactions{};  // by first reaction; an emoji nobody holds is absent
    std::int64_t reply_count = 0;       // a thread root: its replies that are not deleted
    std::int64_t last_reply_ms = 0;     // ts_ms of its newest reply; 0: none

    // A Text message: the room's members it names as `@name` (docs/protocol.md "Mentions"), in
    // the order written, and whether it says `@room`. Fixed when stored; an edit changes neither.
    std::vector<std::string> mentions{};
    bool mentions_room = false;
};

// Ephemeral: "user is typing in room", or with `stopped` "user stopped typing there" (the draft
// was cleared). Never stored.
struct Typing {
    std::string room;
    std::string user_name;
    bool stopped = false;
};

// A user's first connection came up (online) or last one went away (offline), or, online, every
// connection of theirs went away (no input for a while) or one came back (docs/protocol.md
// "Away"). From one node: what that node holds; to clients: what all nodes hold together.
struct Presence {
    std::string user_name;
    bool online = false;
    bool away = false;  // online only: every connection is away
};

// How a user is connected: not at all, with at least one active connection, or only with
// connections that are away.
enum class Availability { Offline, Online, Away };

// Over several nodes (or connections): online when one is, else away when one is.
inline Availability combine(Availability a, Availability b) {
    if (a == Availability::Online || b == Availability::Online) return Availability::Online;
    if (a == Availability::Away || b == Availability::Away) return Availability::Away;
    return Availability::Offline;
}

// A user joined or left a room (or a direct conversation was opened); membership changed in the
// store before this event is published.
struct Membership {
    std::string room;
    std::string user_name;
    bool joined = false;
};

// Sessions were deleted (sign-out, sign-out everywhere, a user's oldest past the cap): every
// node closes the connections opened with them. `sessions` are token hashes, never tokens.
struct SessionsEnded {
    std::vector<std::string> sessions;
    std::string reason;  // the close frame's reason
};

// One user's read state in one room (docs/design/storage.md "Read state").
struct ReadState {
    std::string room;
    MessageId last_read_id = 0;  // the newest id of the room the user has read
    // The room's Text messages above last_read_id that are neither deleted nor the user's own,
    // counted up to a cap: `unread` is at most the cap, `unread_capped` says that more exist.
    std::int64_t unread = 0;
    bool unread_capped = false;
    MessageId as_of = 0;  // the room's newest id (of any kind) when this was counted
    // Of those unread messages, the ones that mention the user (by name or @room), with the
    // same cap: at most `unread`.
    std::int64_t mentions = 0;
    bool operator==(const ReadState&) const = default;
};

// A user's read mark in a room moved: every connection of that user, on every node, gets the
// room's new state (docs/protocol.md "Read state").
struct ReadMoved {
    std::string user_name;
    ReadState state;
};

// A user set or cleared their display name (empty: none): every native connection, on every
// node, is told (docs/protocol.md "People").
struct ProfileChanged {
    std::string user_name;
    std::string display_name;
};

// Everything that travels on the bus between the chat core and every node.
using Event = std::variant<Message,
                           Typing,
                           Presence,
                           Membership,
                           SessionsEnded,
                           ReadMoved,
                           ProfileChanged,
                           NotifyChanged>;
using EventPtr = std::shared_ptr<const Event>;

// std::visit(Overloaded{[](const Message&) {...}, [](const Typing&) {...}, ...}, event)
template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace chatd::model
