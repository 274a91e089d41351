#pragma once

#include <optional>
#include <string>
#include <string_view>

// The Unicode rules for user names, on ICU (a pure library: no I/O). The decisions built on them
// (what registration refuses, what is taken) are ChatService's; validation.hpp's
// valid_user_name applies the character rule.
namespace chatd::chat {

// The name in Unicode Normalization Form C; nullopt for invalid UTF-8.
std::optional<std::string> nfc_name(std::string_view utf8);

// True if `utf8` (valid UTF-8) is already in NFC.
bool is_nfc(std::string_view utf8);

// False for a code point no user name may hold: default-ignorable (zero-width space and
// joiners, soft hyphen, variation selectors...), bidi controls (U+202A-U+202E, U+2066-U+2069,
// LRM/RLM/ALM), other format characters (Cf), controls, separators and white space,
// unassigned, private-use, surrogate and noncharacter code points.
bool allowed_in_user_name(char32_t code_point);

// The key two names share when people would take one for the other: ICU's confusable skeleton
// (UTS #39, uspoof_getSkeleton) of the name's NFKC case fold. "alice", "Alice", "ALICE",
// Cyrillic "аlice", fullwidth "ａｌｉｃｅ" and "a1ice" have the same key. Not for display;
// stable for one ICU version (docs/operations.md "User name keys").
std::string user_name_key(std::string_view utf8_name);

// What directory searches compare: the NFKC case fold of valid UTF-8 ("Élodie", "ÉLODIE" and
// "élodie" fold alike). Unlike user_name_key, look-alikes of other scripts stay apart.
std::string search_fold(std::string_view utf8);

}  // namespace chatd::chat
