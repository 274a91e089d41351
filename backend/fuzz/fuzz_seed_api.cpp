// libFuzzer target: the brief's seed API, POST /send, from body to every encoding the accepted
// message gets. The input is the request body. protocol::parse_seed_send reads it exactly as the
// handler in net/server.cpp does (JSON, object, string members, user name); what it accepts is
// checked like ChatService::post_seed checks content, then encoded as the /receive/{user} frame
// (the brief's {content, user_name, sent_at}), the native message frame and the AMQP body. The
// round trips must give back the fields that were sent; an accepted sent_at is within the bound
// chat::valid_sent_at sets (64 bytes, no control characters) and comes back verbatim.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

#include "bus/wire.hpp"
#include "chat/codec.hpp"
#include "chat/error.hpp"
#include "chat/validation.hpp"
#include "protocol/requests.hpp"

namespace {

namespace json = boost::json;

// The field `key` of the JSON object `object` must be the string `expected`.
void expect_member(const json::value& object, std::string_view key, std::string_view expected) {
    const auto* member = object.as_object().if_contains(key);
    if (!member || !member->is_string() || member->get_string() != expected) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    chatd::protocol::SeedSend send;
    try {
        send = chatd::protocol::parse_seed_send(body);
    } catch (const chatd::chat::Error& error) {
        using enum chatd::chat::ErrorCode;
        if (error.code != InvalidJson && error.code != BadRequest && error.code != InvalidSentAt &&
            error.code != InvalidName) {
            std::abort();
        }
        return 0;
    }
    if (!chatd::chat::valid_user_name(send.user_name)) std::abort();
    // A supplied sent_at is bounded display text: at most 64 bytes, no control characters.
    if (send.sent_at) {
        if (send.sent_at->size() > chatd::chat::kMaxSentAtBytes) std::abort();
        if (!chatd::chat::valid_sent_at(*send.sent_at)) std::abort();
        for (const char c : *send.sent_at) {
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) std::abort();
        }
    }
    // Boost.JSON refuses invalid UTF-8 in strings, so what is stored and relayed is valid.
    if (!chatd::chat::valid_utf8(send.content)) std::abort();
    if (send.content.empty()) return 0;  // refused by check_content
    (void)chatd::chat::utf8_length(send.content);

    chatd::model::Message message;
    message.id = 1;
    message.room = std::string(chatd::model::kGeneralRoom);
    message.user_name = send.user_name;
    message.content = send.content;
    message.sent_at = send.sent_at ? *send.sent_at : chatd::chat::format_sent_at(0);
    message.ts_ms = 0;
    message.kind = chatd::model::kind_of_content(message.content);

    const auto seed_frame = json::parse(chatd::chat::encode_seed_message(message));
    expect_member(seed_frame, "content", message.content);
    expect_member(seed_frame, "user_name", message.user_name);
    expect_member(seed_frame, "sent_at", message.sent_at);
    const auto native_frame = json::parse(chatd::chat::encode_message(message));
    expect_member(native_frame.at("message"), "content", message.content);
    expect_member(native_frame.at("message"), "sent_at", message.sent_at);

    const auto wire = chatd::bus::decode_wire(
        chatd::bus::encode_event(chatd::model::Event{message}, "fuzz-node"));
    if (wire.kind != chatd::bus::Wire::Kind::Event || !wire.event) std::abort();
    const auto* relayed = std::get_if<chatd::model::Message>(wire.event.get());
    if (!relayed || relayed->content != message.content ||
        relayed->user_name != message.user_name || relayed->sent_at != message.sent_at ||
        relayed->kind != message.kind) {
        std::abort();
    }
    return 0;
}
