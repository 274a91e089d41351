#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "model/message.hpp"

namespace chatd::chat {

// Frames a native client sends (docs/protocol.md).
struct SendCommand {
    std::string room;
    std::string content;
    std::string client_msg_id;
    model::MessageId reply_to = 0;  // the message it answers; 0: not a reply
};
// edit, delete, react and unreact: a change to the room's message `target_id`. `content` is
// the new content of an edit, the emoji of a react or unreact, empty for a delete.
struct ChangeCommand {
    model::MessageKind kind = model::MessageKind::Edit;  // model::is_change(kind)
    std::string room;
    model::MessageId target_id = 0;
    std::string content;
    std::string client_msg_id;
};
// `typing`, or `typing_stop` (stopped: the draft was cleared).
struct TypingCommand {
    std::string room;
    bool stopped = false;
};
struct PingCommand {};
// Marks `room` read up to `up_to` (docs/protocol.md "Read state").
struct ReadCommand {
    std::string room;
    model::MessageId up_to = 0;
    std::string client_msg_id;
};
// Marks every room of the user read.
struct ReadAllCommand {
    std::string client_msg_id;
};
// `status`: the client's user is away (no input for a while) or active again.
struct StatusCommand {
    bool away = false;
};
using ClientCommand = std::variant<SendCommand,
                                   ChangeCommand,
                                   TypingCommand,
                                   PingCommand,
                                   ReadCommand,
                                   ReadAllCommand,
                                   StatusCommand>;

// Why a client frame could not be decoded; `code` is the protocol's error code.
struct DecodeError {
    std::string code;  // invalid_json | unknown_type | bad_request
    std::string message;
    std::string client_msg_id;  // echoed when the frame carried one
};

using DecodeResult = std::variant<ClientCommand, DecodeError>;

DecodeResult decode_client_frame(std::string_view text);

// Server frames. Each returns the complete JSON text of one WebSocket frame.
std::string encode_message(const model::Message& message);
// The brief's /receive frame: content, user_name, sent_at. Only for what seed_sees.
std::string encode_seed_message(const model::Message& message);
// Whether the brief's /receive streams get the message: every new visible one (a reply is an
// ordinary message there), never a change (edit, delete, react, unreact), which they could not
// tell from a message.
inline bool seed_sees(const model::Message& message) {
    return !model::is_change(message.kind);
}
std::string encode_ack(const model::Message& message, bool duplicate);
std::string encode_error(std::string_view code,
                         std::string_view message,
                         std::string_view client_msg_id = {});
std::string encode_typing(const model::Typing& typing);
std::string encode_presence(const model::Presence& presence);
std::string encode_membership(const model::Membership& membership);
// {"type":"profile","person":{"user_name","display_name"}}
std::string encode_profile(const model::ProfileChanged& profile);
// `away`: those of `online` whose connections are all away.
std::string encode_welcome(std::string_view user_name,
                           const std::vector<std::string>& rooms,
                           const std::vector<std::string>& online,
                           const std::vector<model::ReadState>& read,
                           const std::vector<std::string>& away = {},
                           const std::vector<model::RoomNotifyLevel>& notify = {});
// A user's notification level in a room changed: to every connection of that user.
std::string encode_notify_level(const model::RoomNotifyLevel& setting);
// The JSON object of a room's notification level as the HTTP answer carries it.
std::string notify_level_json(const model::RoomNotifyLevel& setting);
// A read mark moved: the room's new state, to every connection of its user.
std::string encode_read_state(const model::ReadState& state);
// The answer to a `read` or `read_all` frame: the state of each room it names (read: the one
// room, moved or not; read_all: the rooms that moved).
std::string encode_read_ack(std::string_view client_msg_id,
                            const std::vector<model::ReadState>& states);
std::string encode_pong();

// The JSON object of a message as it appears in history pages and `message` frames.
std::string message_json(const model::Message& message);
// The JSON object of a room's read state as frames and HTTP answers carry it.
std::string read_state_json(const model::ReadState& state);

std::string_view to_string(model::MessageKind kind);

// The brief's "DD/MM/YYYY HH:MM:SS" in UTC.
std::string format_sent_at(std::int64_t ts_ms);

using model::kConnectionMessage;
using model::kDisconnectionMessage;
using model::kind_of_content;

}  // namespace chatd::chat
