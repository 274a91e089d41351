#include "net/ws_frames.hpp"

#include <algorithm>

#include "chat/validation.hpp"

namespace chatd::net {
namespace {

constexpr std::size_t kMaxControlPayload = 125;

bool valid_close_code(std::uint16_t code) {
    // RFC 6455 section 7.4: 1004-1006 and 1015 are never sent; 1016-2999 are reserved.
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
           (code >= 3000 && code <= 4999);
}

// Unmasks `size` bytes in place; `at` is the mask offset of the first byte, and is advanced.
void unmask(std::uint8_t* data, std::size_t size, const std::uint8_t (&mask)[4], std::uint8_t& at) {
    for (std::size_t i = 0; i < size; ++i) data[i] ^= mask[(at + i) & 3];
    at = static_cast<std::uint8_t>((at + size) & 3);
}

}  // namespace

void append_server_frame(std::string& out, WsOpcode opcode, std::string_view payload) {
    char header[10];
    std::size_t header_size = 2;
    header[0] = static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode));
    const auto size = static_cast<std::uint64_t>(payload.size());
    if (size < 126) {
        header[1] = static_cast<char>(size);
    } else if (size <= 0xFFFF) {
        header[1] = 126;
        header[2] = static_cast<char>(size >> 8);
        header[3] = static_cast<char>(size);
        header_size = 4;
    } else {
        header[1] = 127;
        for (int i = 0; i < 8; ++i) header[2 + i] = static_cast<char>(size >> (8 * (7 - i)));
        header_size = 10;
    }
    out.append(header, header_size);
    out.append(payload);
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
    std::string payload;
    payload.push_back(static_cast<char>(code >> 8));
    payload.push_back(static_cast<char>(code & 0xFF));
    // Cut at a code point boundary: the reason must stay valid UTF-8.
    std::size_t size = std::min(reason.size(), kMaxControlPayload - 2);
    while (size < reason.size() && size > 0 &&
           (static_cast<unsigned char>(reason[size]) & 0xC0) == 0x80)
        --size;
    payload.append(reason.substr(0, size));
    return payload;
}

std::uint16_t WsFrameReader::close_code(Failure failure) noexcept {
    switch (failure) {
        case Failure::MessageTooBig:
            return 1009;
        case Failure::InvalidUtf8:
            return 1007;
        case Failure::ProtocolError:
        case Failure::TooManyFrames:
        case Failure::None:
            break;
    }
    return 1002;
}

std::string_view WsWriteQueue::start_write() {
    if (writing()) return unwritten();
    writing_.clear();
    written_ = 0;
    if (pong_due_) {
        append_server_frame(writing_, WsOpcode::Pong, pong_);
        pong_due_ = false;
        std::string().swap(pong_);
    }
    if (writing_.empty()) {
        writing_.swap(pending_);
    } else {
        writing_.append(pending_);
        std::string().swap(pending_);
    }
    return writing_;
}

void WsWriteQueue::written(std::size_t n) noexcept {
    written_ = std::min(writing_.size(), written_ + n);
    if (written_ == writing_.size()) {
        std::string().swap(writing_);  // an idle connection holds no write buffer
        written_ = 0;
    }
}

void WsWriteQueue::clear() noexcept {
    std::string().swap(pending_);
    std::string().swap(writing_);
    std::string().swap(pong_);
    written_ = 0;
    pong_due_ = false;
}

bool WsFrameReader::utf8_step(std::string_view bytes) noexcept {
    std::size_t i = 0;
    const std::size_t size = bytes.size();
    while (i < size) {
        auto b = static_cast<std::uint8_t>(bytes[i]);
        if (utf8_need_ == 0) {
            // ASCII runs, the usual case, one comparison a byte.
            while (b < 0x80) {
                if (++i == size) return true;
                b = static_cast<std::uint8_t>(bytes[i]);
            }
            utf8_low_ = 0x80;
            utf8_high_ = 0xBF;
            if (b >= 0xC2 && b <= 0xDF) {
                utf8_need_ = 1;
            } else if (b >= 0xE0 && b <= 0xEF) {
                utf8_need_ = 2;
                if (b == 0xE0) utf8_low_ = 0xA0;   // no overlong form
                if (b == 0xED) utf8_high_ = 0x9F;  // no surrogate
            } else if (b >= 0xF0 && b <= 0xF4) {
                utf8_need_ = 3;
                if (b == 0xF0) utf8_low_ = 0x90;   // no overlong form
                if (b == 0xF4) utf8_high_ = 0x8F;  // nothing past U+10FFFF
            } else {
                return false;  // a continuation byte, C0, C1 or F5-FF
            }
        } else {
            if (b < utf8_low_ || b > utf8_high_) return false;
            --utf8_need_;
            utf8_low_ = 0x80;
            utf8_high_ = 0xBF;
        }
        ++i;
    }
    return true;
}

WsFrameReader::Failure WsFrameReader::feed(std::uint8_t* data, std::size_t size, Events& events) {
    while (size > 0 && failure_ == Failure::None && !closed_) {
        if (!in_payload_) {
            header_[header_size_++] = *data++;
            --size;
            if (header_size_ < 2) continue;
            const std::uint8_t length7 = header_[1] & 0x7F;
            const std::size_t needed = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + 4;
            if (header_size_ == 2 && (failure_ = check_frame_start()) != Failure::None) break;
            if (header_size_ < needed) continue;
            if ((failure_ = start_frame()) != Failure::None) break;
            if (payload_left_ == 0) {
                // An empty frame: a data message is what its earlier frames held.
                const std::string_view payload = is_control() ? std::string_view() : message_;
                if ((failure_ = end_frame(payload, events)) != Failure::None) break;
            }
            continue;
        }
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(payload_left_, size));
        unmask(data, take, mask_, mask_at_);
        const std::string_view piece(reinterpret_cast<const char*>(data), take);
        data += take;
        size -= take;
        payload_left_ -= take;
        // A text message fails at its first invalid byte, whatever fragment or read holds it.
        if (!is_control() && message_opcode_ == static_cast<std::uint8_t>(WsOpcode::Text) &&
            !utf8_step(piece)) {
            failure_ = Failure::InvalidUtf8;
            break;
        }
        std::string& held = is_control() ? control_ : message_;
        // The usual case: a whole unfragmented message (or control frame) in one read is
        // reported from the read buffer, without a copy.
        const bool whole_in_place = payload_left_ == 0 && held.empty() &&
                                    (is_control() || (frame_fin_ && frame_opcode_ != 0));
        if (whole_in_place) {
            failure_ = end_frame(piece, events);
        } else {
            held.append(piece);
            if (payload_left_ == 0) failure_ = end_frame(held, events);
        }
    }
    return failure_;
}

WsFrameReader::Failure WsFrameReader::check_frame_start() {
    const std::uint8_t first = header_[0];
    const std::uint8_t second = header_[1];
    const std::uint8_t length7 = second & 0x7F;
    const std::uint8_t opcode = first & 0x0F;
    const bool fin = (first & 0x80) != 0;
    if ((first & 0x70) != 0) return Failure::ProtocolError;   // no extension negotiated
    if ((second & 0x80) == 0) return Failure::ProtocolError;  // clients must mask
    switch (opcode) {
        case 0x0:
            if (message_opcode_ == 0) return Failure::ProtocolError;
            break;
        case 0x1:
        case 0x2:
            if (message_opcode_ != 0) return Failure::ProtocolError;
            break;
        case 0x8:
        case 0x9:
        case 0xA:
            if (!fin || length7 > kMaxControlPayload) return Failure::ProtocolError;
            break;
        default:
            return Failure::ProtocolError;
    }
    if (opcode < 0x8) {
        message_frames_ = opcode == 0x0 ? message_frames_ + 1 : 1;
        if (limits_.max_message_frames != 0 && message_frames_ > limits_.max_message_frames)
            return Failure::TooManyFrames;
    }
    return Failure::None;
}

WsFrameReader::Failure WsFrameReader::start_frame() {
    const std::uint8_t length7 = header_[1] & 0x7F;
    const std::uint8_t opcode = header_[0] & 0x0F;
    std::uint64_t length = length7;
    std::size_t at = 2;
    if (length7 == 126) {
        length = (std::uint64_t{header_[2]} << 8) | header_[3];
        if (length < 126) return Failure::ProtocolError;
        at = 4;
    } else if (length7 == 127) {
        length = 0;
        for (std::size_t i = 0; i < 8; ++i) length = (length << 8) | header_[2 + i];
        if (length <= 0xFFFF || (length >> 63) != 0) return Failure::ProtocolError;
        at = 10;
    }
    std::copy_n(header_ + at, 4, mask_);
    mask_at_ = 0;
    frame_opcode_ = opcode;
    frame_fin_ = (header_[0] & 0x80) != 0;
    if (opcode < 0x8) {
        if (opcode != 0x0) {
            message_opcode_ = opcode;
            utf8_need_ = 0;
        }
        const std::uint64_t so_far = message_.size();
        if (length > limits_.max_message_bytes || so_far + length > limits_.max_message_bytes)
            return Failure::MessageTooBig;
    }
    payload_left_ = length;
    header_size_ = 0;
    in_payload_ = true;
    return Failure::None;
}

WsFrameReader::Failure WsFrameReader::end_frame(std::string_view payload, Events& events) {
    in_payload_ = false;
    Failure failure = Failure::None;
    switch (static_cast<WsOpcode>(frame_opcode_)) {
        case WsOpcode::Close: {
            closed_ = true;
            if (payload.size() == 1) {
                failure = Failure::ProtocolError;
                break;
            }
            std::optional<std::uint16_t> code;
            std::string_view reason;
            if (payload.size() >= 2) {
                code = static_cast<std::uint16_t>((static_cast<unsigned char>(payload[0]) << 8) |
                                                  static_cast<unsigned char>(payload[1]));
                reason = payload.substr(2);
                if (!valid_close_code(*code)) {
                    failure = Failure::ProtocolError;
                    break;
                }
                if (!chat::valid_utf8(reason)) {
                    failure = Failure::InvalidUtf8;
                    break;
                }
            }
            events.on_close(code, reason);
            break;
        }
        case WsOpcode::Ping:
            events.on_ping(payload);
            break;
        case WsOpcode::Pong:
            events.on_pong();
            break;
        case WsOpcode::Continuation:
        case WsOpcode::Text:
        case WsOpcode::Binary:
            if (!frame_fin_) return Failure::None;
            {
                const bool text = message_opcode_ == static_cast<std::uint8_t>(WsOpcode::Text);
                message_opcode_ = 0;
                message_frames_ = 0;
                // Every byte was checked as it came: only a sequence cut by the end is left.
                const bool incomplete = utf8_need_ != 0;
                utf8_need_ = 0;
                if (text && incomplete) {
                    failure = Failure::InvalidUtf8;
                } else {
                    events.on_message(text, payload);
                }
            }
            // Between messages nothing stays on the heap (memory per idle connection).
            std::string().swap(message_);
            return failure;
    }
    std::string().swap(control_);
    return failure;
}

}  // namespace chatd::net
