#include "chat/mentions.hpp"

#include <algorithm>
#include <cstddef>

#include "chat/user_names.hpp"
#include "chat/validation.hpp"

namespace chatd::chat {
namespace {

// The code point at text[at] (valid UTF-8) and its length in bytes.
std::pair<char32_t, std::size_t> code_point_at(std::string_view text, std::size_t at) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const unsigned char lead = byte(at);
    std::size_t extra = 0;
    char32_t code_point = lead;
    if (lead >= 0xF0) {
        extra = 3;
        code_point = lead & 0x07;
    } else if (lead >= 0xE0) {
        extra = 2;
        code_point = lead & 0x0F;
    } else if (lead >= 0xC0) {
        extra = 1;
        code_point = lead & 0x1F;
    }
    for (std::size_t i = 1; i <= extra && at + i < text.size(); ++i) {
        code_point = (code_point << 6) | (byte(at + i) & 0x3F);
    }
    return {code_point, std::min(extra + 1, text.size() - at)};
}

bool name_char(char32_t c) {
    if (c < 0x80) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
    }
    return allowed_in_user_name(c);
}

std::size_t backtick_run(std::string_view text, std::size_t at) {
    std::size_t end = at;
    while (end < text.size() && text[end] == '`') ++end;
    return end - at;
}

// Where the code that a run of `run` backticks at `at` opens ends (past its closing run of
// exactly as many backticks), or `at` when it is never closed (then the backticks are text).
std::size_t end_of_code(std::string_view text, std::size_t at, std::size_t run) {
    std::size_t next = at + run;
    while ((next = text.find('`', next)) != std::string_view::npos) {
        const std::size_t closing = backtick_run(text, next);
        if (closing == run) return next + closing;
        next += closing;
    }
    return at;
}

void add_name(MentionTokens& found, std::string_view token) {
    if (token == kRoomMention) {
        found.room = true;
        return;
    }
    auto name = canonical_user_name(token);
    if (!name) return;
    if (std::find(found.names.begin(), found.names.end(), *name) == found.names.end()) {
        found.names.push_back(std::move(*name));
    }
}

}  // namespace

MentionTokens find_mentions(std::string_view content) {
    MentionTokens found;
    bool after_name_char = false;
    std::size_t at = 0;
    while (at < content.size()) {
        if (content[at] == '`') {
            const std::size_t run = backtick_run(content, at);
            const std::size_t end = end_of_code(content, at, run);
            at = end == at ? at + run : end;
            after_name_char = false;
            continue;
        }
        if (content[at] == '@' && !after_name_char) {
            std::size_t end = at + 1;
            while (end < content.size()) {
                const auto [c, length] = code_point_at(content, end);
                if (!name_char(c)) break;
                end += length;
            }
            std::string_view token = content.substr(at + 1, end - at - 1);
            if (!token.empty()) {
                std::string_view trimmed = token;
                while (!trimmed.empty() && trimmed.back() == '.') trimmed.remove_suffix(1);
                if (!trimmed.empty()) add_name(found, trimmed);
                if (trimmed.size() != token.size()) add_name(found, token);
            }
            after_name_char = !token.empty();
            at = std::max(end, at + 1);
            continue;
        }
        const auto [c, length] = code_point_at(content, at);
        after_name_char = name_char(c);
        at += length;
    }
    return found;
}

}  // namespace chatd::chat
