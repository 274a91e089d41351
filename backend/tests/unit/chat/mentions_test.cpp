#include "chat/mentions.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using chatd::chat::find_mentions;
using chatd::chat::MentionTokens;

std::vector<std::string> names(std::string_view content) {
    return find_mentions(content).names;
}

TEST(Mentions, NamesAtTheStartAfterSpacesAndPunctuation) {
    EXPECT_EQ(names("@bob can you look?"), (std::vector<std::string>{"bob"}));
    EXPECT_EQ(names("hi @bob and (@carol), @dave!"),
              (std::vector<std::string>{"bob", "carol", "dave"}));
    EXPECT_EQ(names("line\n@bob"), (std::vector<std::string>{"bob"}));
    EXPECT_EQ(names("@bob, @bob and @bob"), (std::vector<std::string>{"bob"}));
}

TEST(Mentions, TakesTheWholeNameWithItsCharacters) {
    EXPECT_EQ(names("@ann_lee-2.x please"), (std::vector<std::string>{"ann_lee-2.x"}));
    EXPECT_EQ(names("@Bob"), (std::vector<std::string>{"Bob"}));
}

TEST(Mentions, ATrailingDotEndsTheSentenceButTheDottedNameIsACandidateToo) {
    EXPECT_EQ(names("thanks @bob."), (std::vector<std::string>{"bob", "bob."}));
    EXPECT_EQ(names("thanks @bob..."), (std::vector<std::string>{"bob", "bob..."}));
}

TEST(Mentions, NoMentionInsideAWordOrAnAddress) {
    EXPECT_TRUE(names("mail ann@example.org").empty());
    EXPECT_TRUE(names("@ alone, @@, @").empty());
    EXPECT_TRUE(names("@bob@carol").size() == 1);
}

TEST(Mentions, NonAsciiNamesInNfc) {
    // "zoe" + U+0301 combining acute: the name is its NFC form "zoé".
    EXPECT_EQ(names("@zoe\xCC\x81 hi"), (std::vector<std::string>{"zo\xC3\xA9"}));
    EXPECT_EQ(names("@\xD0\xB0\xD0\xBD\xD1\x8F!"),
              (std::vector<std::string>{"\xD0\xB0\xD0\xBD\xD1\x8F"}));  // Cyrillic "аня"
    // A zero-width space ends the name: it cannot be part of one.
    EXPECT_EQ(names("@bob\xE2\x80\x8Bx"), (std::vector<std::string>{"bob"}));
}

TEST(Mentions, TooLongNamesAreNoMention) {
    EXPECT_EQ(names("@" + std::string(32, 'a')), (std::vector<std::string>{std::string(32, 'a')}));
    EXPECT_TRUE(names("@" + std::string(33, 'a')).empty());
}

TEST(Mentions, RoomMeansEveryMemberAndNamesNobody) {
    EXPECT_EQ(find_mentions("@room standup now"), (MentionTokens{{}, true}));
    EXPECT_EQ(find_mentions("@room @bob"), (MentionTokens{{"bob"}, true}));
    EXPECT_EQ(find_mentions("@roomy"), (MentionTokens{{"roomy"}, false}));
    EXPECT_EQ(find_mentions("@room."), (MentionTokens{{"room."}, true}));
}

TEST(Mentions, CodeSpansAndFencesAreSkipped) {
    EXPECT_TRUE(names("run `@bob` now").empty());
    EXPECT_TRUE(names("```\nnpm i @bob/pkg\n```").empty());
    EXPECT_EQ(names("`` a ` @x `` @bob"), (std::vector<std::string>{"bob"}));
    // An unclosed backtick is text.
    EXPECT_EQ(names("it`s @bob"), (std::vector<std::string>{"bob"}));
    EXPECT_FALSE(find_mentions("`@room`").room);
}

TEST(Mentions, NothingInPlainText) {
    EXPECT_EQ(find_mentions("no mentions here"), MentionTokens{});
    EXPECT_EQ(find_mentions(""), MentionTokens{});
}

}  // namespace
