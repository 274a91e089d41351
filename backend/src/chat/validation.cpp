#include "chat/validation.hpp"

#include <algorithm>

namespace chatd::chat {
namespace {

bool ascii_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

// C1 control characters and the non-ASCII code points of Unicode's White_Space property.
bool non_ascii_control_or_space(char32_t c) {
    return (c >= 0x80 && c <= 0xA0) || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
           c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace

bool valid_utf8(std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const auto* end = p + text.size();
    while (p < end) {
        const unsigned char c = *p;
        std::size_t extra = 0;
        char32_t code_point = 0;
        if (c < 0x80) {
            ++p;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            extra = 1;
            code_point = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            extra = 2;
            code_point = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            extra = 3;
            code_point = c & 0x07;
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) <= extra) return false;
        for (std::size_t i = 1; i <= extra; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
            code_point = (code_point << 6) | (p[i] & 0x3F);
        }
        // Overlong forms, surrogates and code points past U+10FFFF are invalid.
        static constexpr char32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
        if (code_point < kMinForLength[extra] || code_point > 0x10FFFF ||
            (code_point >= 0xD800 && code_point <= 0xDFFF)) {
            return false;
        }
        p += extra + 1;
    }
    return true;
}

std::size_t utf8_length(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

bool valid_user_name(std::string_view name) {
    if (name.empty() || !valid_utf8(name)) return false;
    const std::size_t length = utf8_length(name);
    if (length > kMaxUserNameChars) return false;
    // "." and ".." are dot-segments: URL clients rewrite /receive/.. to /.
    if (name == "." || name == "..") return false;
    for (std::size_t i = 0; i < name.size();) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c < 0x80) {
            if (!ascii_name_char(name[i])) return false;
            ++i;
            continue;
        }
        const std::size_t bytes = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
        char32_t code_point = c & (0x3F >> (bytes - 1));
        for (std::size_t k = 1; k < bytes; ++k) {
            code_point = (code_point << 6) | (static_cast<unsigned char>(name[i + k]) & 0x3F);
        }
        if (non_ascii_control_or_space(code_point)) return false;
        i += bytes;
    }
    return true;
}

bool valid_room_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxRoomNameChars) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

std::string direct_room_name(std::string_view a, std::string_view b) {
    if (b < a) std::swap(a, b);
    std::string room = "dm:";
    room.append(a).append(":").append(b);
    return room;
}

bool is_direct_room(std::string_view room) {
    return room.starts_with("dm:");
}

}  // namespace chatd::chat
