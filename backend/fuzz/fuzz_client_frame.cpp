// libFuzzer target: the native WebSocket client-frame decoder (docs/protocol.md), and the
// mention finder on a decoded send's content.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>

#include "chat/codec.hpp"
#include "chat/mentions.hpp"
#include "chat/message_content.hpp"
#include "chat/validation.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto result = chatd::chat::decode_client_frame(text);
    if (const auto* command = std::get_if<chatd::chat::ClientCommand>(&result)) {
        if (const auto* send = std::get_if<chatd::chat::SendCommand>(command)) {
            // What the service does next with a decoded send.
            (void)chatd::chat::valid_room_name(send->room);
            (void)chatd::chat::is_direct_room(send->room);
            if (chatd::chat::valid_utf8(send->content)) {
                (void)chatd::chat::utf8_length(send->content);
                // Every name found is a valid user name, never "room" (that is the flag).
                for (const auto& name : chatd::chat::find_mentions(send->content).names) {
                    if (!chatd::chat::valid_user_name(name) || name == chatd::chat::kRoomMention) {
                        __builtin_trap();
                    }
                }
            }
            (void)chatd::chat::blank_content(send->content);
            (void)chatd::chat::encode_error("bad_request", "x", send->client_msg_id);
        } else if (const auto* change = std::get_if<chatd::chat::ChangeCommand>(command)) {
            // What the service checks of a decoded edit, delete, react or unreact.
            (void)chatd::chat::valid_room_name(change->room);
            (void)chatd::chat::blank_content(change->content);
            (void)chatd::chat::utf8_length(change->content);
            (void)chatd::chat::valid_reaction(change->content);
            (void)chatd::chat::encode_error("invalid_reaction", "x", change->client_msg_id);
        } else if (const auto* read = std::get_if<chatd::chat::ReadCommand>(command)) {
            // What the service checks of a decoded read before asking the store.
            (void)chatd::chat::valid_room_name(read->room);
            (void)chatd::chat::is_direct_room(read->room);
            (void)chatd::chat::encode_error("read_mark_beyond_newest", "x", read->client_msg_id);
        }
    } else {
        const auto& error = std::get<chatd::chat::DecodeError>(result);
        (void)chatd::chat::encode_error(error.code, error.message, error.client_msg_id);
    }
    return 0;
}
