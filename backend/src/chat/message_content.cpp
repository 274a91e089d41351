#include "chat/message_content.hpp"

#include <unicode/brkiter.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "chat/validation.hpp"

namespace chatd::chat {
namespace {

constexpr char32_t kZeroWidthJoiner = 0x200D;
constexpr char32_t kVariationSelector16 = 0xFE0F;
constexpr char32_t kCombiningKeycap = 0x20E3;

// The code points of valid UTF-8 text.
std::vector<char32_t> code_points(std::string_view utf8) {
    std::vector<char32_t> out;
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(utf8.data());
    const auto length = static_cast<std::int32_t>(utf8.size());
    std::int32_t at = 0;
    while (at < length) {
        UChar32 c = 0;
        U8_NEXT(bytes, at, length, c);
        out.push_back(static_cast<char32_t>(c));
    }
    return out;
}

bool has(char32_t c, UProperty property) {
    return u_hasBinaryProperty(static_cast<UChar32>(c), property) != 0;
}

bool keycap_base(char32_t c) {
    return (c >= '0' && c <= '9') || c == '#' || c == '*';
}

// A BreakIterator is not safe for concurrent use: one per thread, made once.
icu::BreakIterator* grapheme_breaks() {
    thread_local const std::unique_ptr<icu::BreakIterator> breaks = [] {
        UErrorCode status = U_ZERO_ERROR;
        std::unique_ptr<icu::BreakIterator> made(
            icu::BreakIterator::createCharacterInstance(icu::Locale::getRoot(), status));
        return U_SUCCESS(status) ? std::move(made) : nullptr;
    }();
    return breaks.get();
}

std::optional<std::size_t> grapheme_count(std::string_view utf8) {
    auto* breaks = grapheme_breaks();
    if (breaks == nullptr) return std::nullopt;
    const auto text = icu::UnicodeString::fromUTF8(
        icu::StringPiece(utf8.data(), static_cast<std::int32_t>(utf8.size())));
    breaks->setText(text);
    std::size_t count = 0;
    breaks->first();
    while (breaks->next() != icu::BreakIterator::DONE) ++count;
    return count;
}

}  // namespace

bool blank_content(std::string_view utf8) {
    for (const char32_t c : code_points(utf8)) {
        if (!u_isUWhiteSpace(static_cast<UChar32>(c))) return false;
    }
    return true;
}

bool valid_reaction(std::string_view utf8) {
    if (utf8.empty() || utf8.size() > kMaxReactionBytes || !valid_utf8(utf8)) return false;
    const auto points = code_points(utf8);
    bool has_emoji = false;
    for (std::size_t i = 0; i < points.size(); ++i) {
        const char32_t c = points[i];
        if (keycap_base(c)) {
            // Only as a keycap: the base, an optional U+FE0F, then U+20E3.
            std::size_t next = i + 1;
            if (next < points.size() && points[next] == kVariationSelector16) ++next;
            if (next >= points.size() || points[next] != kCombiningKeycap) return false;
            i = next;
            has_emoji = true;
        } else if (c == kCombiningKeycap) {
            return false;  // a keycap without its base
        } else if (has(c, UCHAR_EXTENDED_PICTOGRAPHIC) || has(c, UCHAR_REGIONAL_INDICATOR)) {
            has_emoji = true;
        } else if (!(c == kZeroWidthJoiner || c == kVariationSelector16 ||
                     has(c, UCHAR_EMOJI_COMPONENT))) {
            return false;
        }
    }
    return has_emoji && grapheme_count(utf8) == 1u;
}

}  // namespace chatd::chat
