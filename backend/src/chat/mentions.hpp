#pragma once

#include <string>
#include <string_view>
#include <vector>

// Which people a message's text calls on (docs/protocol.md "Mentions"). Pure: whether a name
// belongs to a member of the room is the store's to decide, in the append's commit.
namespace chatd::chat {

// `@room` calls on every member of the room; no user is mentioned by it under that name.
inline constexpr std::string_view kRoomMention = "room";

struct MentionTokens {
    // Distinct valid user names (NFC) written as `@name`, in order of first appearance, never
    // "room". A name is compared as names are: exactly, after NFC.
    std::vector<std::string> names;
    bool room = false;  // `@room` appears
    bool operator==(const MentionTokens&) const = default;
};

// The `@name` tokens of `content` (valid UTF-8). A token starts with '@' at the start of the
// text or after a character that cannot be part of a name (so "ann@example.org" mentions
// nobody) and takes the longest run of user-name characters after it; trailing dots end a
// sentence, so "@bob." names "bob" (and "bob." too, for a name that ends with a dot).
// Text inside Markdown code (a span or fence between equal runs of backticks) is skipped.
MentionTokens find_mentions(std::string_view content);

}  // namespace chatd::chat
