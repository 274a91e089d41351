#pragma once

#include <cstddef>
#include <string_view>

// The Unicode rules for what a message or a reaction may hold, on ICU (a pure library: no I/O).
// The service decides what it refuses with them (ChatService: empty_message, invalid_reaction).
namespace chatd::chat {

// True for content that shows nothing: empty, or only White_Space code points (spaces, tabs,
// line breaks, no-break and ideographic spaces). `utf8` is valid UTF-8.
bool blank_content(std::string_view utf8);

// A reaction is one emoji: at most this many bytes of UTF-8 (the longest sequences in use, a
// subdivision flag of 7 code points, take 28)...
inline constexpr std::size_t kMaxReactionBytes = 32;
// ...exactly one grapheme cluster, made only of emoji code points: Extended_Pictographic,
// Regional_Indicator, Emoji_Component (skin tones, tags, ZWJ U+200D, U+FE0F) and a keycap
// (0-9, '#' or '*', an optional U+FE0F, then U+20E3), with at least one pictograph, regional
// indicator or keycap (a lone digit or ZWJ is no emoji).
bool valid_reaction(std::string_view utf8);

}  // namespace chatd::chat
