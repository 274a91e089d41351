#include "chat/validation.hpp"

#include <algorithm>
#include <optional>

#include "chat/user_names.hpp"

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

// Decodes the code point starting at text[at] and advances `at` past it; nullopt for invalid
// UTF-8 (bad lead or continuation byte, truncation, overlong form, surrogate, > U+10FFFF).
std::optional<char32_t> next_code_point(std::string_view text, std::size_t& at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    std::size_t extra = 0;
    char32_t code_point = 0;
    if (lead < 0x80) {
        ++at;
        return lead;
    } else if ((lead & 0xE0) == 0xC0) {
        extra = 1;
        code_point = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
        extra = 2;
        code_point = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
        extra = 3;
        code_point = lead & 0x07;
    } else {
        return std::nullopt;
    }
    if (text.size() - at <= extra) return std::nullopt;
    for (std::size_t i = 1; i <= extra; ++i) {
        if ((byte(at + i) & 0xC0) != 0x80) return std::nullopt;
        code_point = (code_point << 6) | (byte(at + i) & 0x3F);
    }
    static constexpr char32_t kMinForLength[] = {0, 0x80, 0x800, 0x10000};
    if (code_point < kMinForLength[extra] || code_point > 0x10FFFF ||
        (code_point >= 0xD800 && code_point <= 0xDFFF)) {
        return std::nullopt;
    }
    at += extra + 1;
    return code_point;
}

}  // namespace

bool valid_utf8(std::string_view text) {
    std::size_t at = 0;
    while (at < text.size()) {
        if (!next_code_point(text, at)) return false;
    }
    return true;
}

std::size_t utf8_length(std::string_view text) {
    return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

namespace {

// Length, dot-segments and ASCII characters; each non-ASCII code point must pass `non_ascii`.
// nullopt for a name that breaks a rule, else whether it is all ASCII.
template <class NonAsciiRule>
std::optional<bool> user_name_shape(std::string_view name, NonAsciiRule non_ascii) {
    if (name.empty() || !valid_utf8(name)) return std::nullopt;
    const std::size_t length = utf8_length(name);
    if (length > kMaxUserNameChars) return std::nullopt;
    // "." and ".." are dot-segments: URL clients rewrite /receive/.. to /.
    if (name == "." || name == "..") return std::nullopt;
    bool ascii = true;
    std::size_t at = 0;
    while (at < name.size()) {
        const auto c = next_code_point(name, at);
        if (*c < 0x80) {
            if (!ascii_name_char(static_cast<char>(*c))) return std::nullopt;
        } else {
            ascii = false;
            if (!non_ascii(*c)) return std::nullopt;
        }
    }
    return ascii;
}

}  // namespace

bool valid_user_name(std::string_view name) {
    const auto ascii = user_name_shape(name, allowed_in_user_name);
    // ASCII text is always in NFC: ICU is only asked about the others.
    return ascii && (*ascii || is_nfc(name));
}

std::optional<std::string> canonical_user_name(std::string_view name) {
    auto normalized = nfc_name(name);
    if (!normalized || !valid_user_name(*normalized)) return std::nullopt;
    return normalized;
}

bool valid_legacy_user_name(std::string_view name) {
    return user_name_shape(name, [](char32_t c) { return !non_ascii_control_or_space(c); })
        .has_value();
}

bool valid_room_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxRoomNameChars) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

bool valid_sent_at(std::string_view text) {
    if (text.size() > kMaxSentAtBytes) return false;
    std::size_t at = 0;
    while (at < text.size()) {
        const auto c = next_code_point(text, at);
        if (!c || *c < 0x20 || (*c >= 0x7F && *c <= 0x9F) || *c == 0x200E || *c == 0x200F ||
            (*c >= 0x202A && *c <= 0x202E) || (*c >= 0x2066 && *c <= 0x2069)) {
            return false;
        }
    }
    return true;
}

std::string direct_room_name(std::string_view a, std::string_view b) {
    if (b < a) std::swap(a, b);
    std::string room = "dm:";
    room.append(a).append(":").append(b);
    return room;
}

std::string direct_room_name(const std::vector<std::string>& names) {
    std::string room = "dm";
    for (const auto& name : names) room.append(":").append(name);
    return room;
}

bool is_direct_room(std::string_view room) {
    return room.starts_with("dm:");
}

}  // namespace chatd::chat
