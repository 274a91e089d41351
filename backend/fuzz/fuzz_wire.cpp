// libFuzzer target: the AMQP message body decoder (bus/wire.hpp), then a round trip of what
// decoded: encoding it again and decoding that must give the same kind, and for a message or a
// change the same kind of row, target and thread, for a moved read mark the same user and state.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "bus/wire.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using chatd::bus::Wire;
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto wire = chatd::bus::decode_wire(body);
    if (wire.kind == Wire::Kind::Heartbeat) {
        const auto again =
            chatd::bus::decode_wire(chatd::bus::encode_heartbeat(wire.node, wire.users));
        if (again.kind != Wire::Kind::Heartbeat || again.users != wire.users) std::abort();
    } else if (wire.kind == Wire::Kind::Event && wire.event) {
        const auto again =
            chatd::bus::decode_wire(chatd::bus::encode_event(*wire.event, wire.node));
        if (again.kind != Wire::Kind::Event) std::abort();
        const auto* before = std::get_if<chatd::model::Message>(wire.event.get());
        const auto* after = std::get_if<chatd::model::Message>(again.event.get());
        if (before &&
            (!after || after->kind != before->kind || after->target_id != before->target_id ||
             after->reply_to != before->reply_to || after->content != before->content ||
             after->reactions != before->reactions)) {
            std::abort();
        }
        const auto* read_before = std::get_if<chatd::model::ReadMoved>(wire.event.get());
        const auto* read_after = std::get_if<chatd::model::ReadMoved>(again.event.get());
        if (read_before && (!read_after || read_after->user_name != read_before->user_name ||
                            !(read_after->state == read_before->state))) {
            std::abort();
        }
        const auto* profile_before = std::get_if<chatd::model::ProfileChanged>(wire.event.get());
        const auto* profile_after = std::get_if<chatd::model::ProfileChanged>(again.event.get());
        if (profile_before &&
            (!profile_after || profile_after->user_name != profile_before->user_name ||
             profile_after->display_name != profile_before->display_name)) {
            std::abort();
        }
        const auto* level_before = std::get_if<chatd::model::NotifyChanged>(wire.event.get());
        const auto* level_after = std::get_if<chatd::model::NotifyChanged>(again.event.get());
        if (level_before && (!level_after || level_after->user_name != level_before->user_name ||
                             !(level_after->setting == level_before->setting))) {
            std::abort();
        }
    }
    return 0;
}
