#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::chat {

inline constexpr std::size_t kMaxUserNameChars = 32;
inline constexpr std::size_t kMaxRoomNameChars = 48;
inline constexpr std::size_t kMinPasswordChars = 8;
inline constexpr std::size_t kMaxPasswordBytes = 1024;

// 1-32 characters: ASCII letters and digits, '_', '-', '.', or a non-ASCII character that
// user_names.hpp's allowed_in_user_name accepts (no invisible, bidi-control, format, control or
// space character), the whole name in NFC (valid UTF-8 only). No spaces, '/', ':' or control
// characters, so a name is safe in a URL path segment, a RabbitMQ queue name and a direct-room
// name "dm:<a>:<b>", and it reads as what it is.
bool valid_user_name(std::string_view name);
// The NFC form of `name` when that is a valid user name, else nullopt: where a client types a
// name (register, sign-in), "zoe" + U+0301 becomes "zoë".
std::optional<std::string> canonical_user_name(std::string_view name);
// The rule accounts were registered under before look-alike checks (any non-ASCII character
// but spaces and C1 controls, NFC or not). Such an account still signs in with its exact name.
bool valid_legacy_user_name(std::string_view name);
// 1-48 characters of a-z, 0-9, '_', '-'.
bool valid_room_name(std::string_view name);
bool valid_utf8(std::string_view text);
// Number of Unicode code points in valid UTF-8 text.
std::size_t utf8_length(std::string_view text);

// The seed API's `sent_at` as a client supplies it (POST /send): display text, stored and relayed
// verbatim, so bounded like a name is. At most 64 bytes of valid UTF-8 (the brief's
// "DD/MM/YYYY HH:MM:SS" is 19, ISO 8601 with nanoseconds and an offset 35) without control
// characters (U+0000-U+001F, U+007F-U+009F) or bidirectional controls (U+200E, U+200F,
// U+202A-U+202E, U+2066-U+2069), which would reorder the text shown around it. The empty string
// is allowed (kept as sent).
inline constexpr std::size_t kMaxSentAtBytes = 64;
bool valid_sent_at(std::string_view text);

// "dm:<a>:<b>" with the two names in byte order.
std::string direct_room_name(std::string_view a, std::string_view b);
bool is_direct_room(std::string_view room);
// "dm:<a>:<b>:<c>..." for a group conversation: every name of `names`, which are sorted in byte
// order and unique, joined by ':' (for two names, direct_room_name's room).
std::string direct_room_name(const std::vector<std::string>& names);

}  // namespace chatd::chat
