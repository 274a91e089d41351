#include "chat/message_content.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using chatd::chat::blank_content;
using chatd::chat::kMaxReactionBytes;
using chatd::chat::valid_reaction;

const std::string kThumbsUp = "\xF0\x9F\x91\x8D";    // U+1F44D
const std::string kMediumSkin = "\xF0\x9F\x8F\xBD";  // U+1F3FD, a skin tone modifier
const std::string kZwj = "\xE2\x80\x8D";             // U+200D
const std::string kVs16 = "\xEF\xB8\x8F";            // U+FE0F
const std::string kKeycap = "\xE2\x83\xA3";          // U+20E3
const std::string kCopyright = "\xC2\xA9";           // U+00A9, a two-byte pictograph
const std::string kHeart = "\xE2\x9D\xA4";           // U+2764
const std::string kRegionalF = "\xF0\x9F\x87\xAB";   // U+1F1EB
const std::string kRegionalR = "\xF0\x9F\x87\xB7";   // U+1F1F7
const std::string kMan = "\xF0\x9F\x91\xA8";         // U+1F468
const std::string kWoman = "\xF0\x9F\x91\xA9";       // U+1F469
const std::string kGirl = "\xF0\x9F\x91\xA7";        // U+1F467
const std::string kBoy = "\xF0\x9F\x91\xA6";         // U+1F466
const std::string kFamily = kMan + kZwj + kWoman + kZwj + kGirl + kZwj + kBoy;  // 25 bytes
// England's flag: a black flag, tag letters g b e n g, cancel tag (28 bytes).
const std::string kEngland =
    "\xF0\x9F\x8F\xB4\xF3\xA0\x81\xA7\xF3\xA0\x81\xA2\xF3\xA0\x81\xA5\xF3\xA0\x81\xAE"
    "\xF3\xA0\x81\xA7\xF3\xA0\x81\xBF";

// ---------------------------------------------------------------------------------------------
// Blank content

TEST(BlankContent, EmptyAndWhiteSpaceOnlyAreBlank) {
    for (const std::string& text :
         {std::string(), std::string(" "), std::string("\t\n\r \f\v"), std::string("\xC2\xA0"),
          std::string("\xE3\x80\x80"), std::string("\xE2\x80\x83 \xE2\x80\xA8")}) {
        EXPECT_TRUE(blank_content(text)) << text;
    }
}

TEST(BlankContent, AnyVisibleCharacterIsNotBlank) {
    for (const std::string& text : {std::string("a"), std::string("  .  "), std::string("\n0\n"),
                                    kThumbsUp, std::string("\xE3\x80\x80x")}) {
        EXPECT_FALSE(blank_content(text)) << text;
    }
}

// ---------------------------------------------------------------------------------------------
// Reactions

TEST(Reaction, SingleEmojiAndEmojiSequencesAreValid) {
    for (const std::string& emoji :
         {kThumbsUp, kThumbsUp + kMediumSkin, kHeart + kVs16, kHeart, kCopyright + kVs16, kFamily,
          kRegionalF + kRegionalR, std::string("1") + kVs16 + kKeycap, std::string("#") + kKeycap,
          std::string("*") + kVs16 + kKeycap, kEngland}) {
        EXPECT_TRUE(valid_reaction(emoji)) << emoji;
    }
}

TEST(Reaction, ThirtyTwoBytesInOneGraphemeAreValidAndThirtyThreeAreNot) {
    const std::string at_limit = kFamily + kZwj + kBoy;  // 32 bytes, one grapheme cluster
    ASSERT_EQ(at_limit.size(), kMaxReactionBytes);
    EXPECT_TRUE(valid_reaction(at_limit));

    const std::string thirty = kFamily + kZwj + kCopyright;
    ASSERT_EQ(thirty.size(), 30u);
    EXPECT_TRUE(valid_reaction(thirty));
    const std::string past_limit = thirty + kVs16;  // the same cluster, 33 bytes
    ASSERT_EQ(past_limit.size(), kMaxReactionBytes + 1);
    EXPECT_FALSE(valid_reaction(past_limit));
}

TEST(Reaction, TenKilobytesOfEmojiAreInvalid) {
    std::string flood;
    while (flood.size() < 10 * 1024) flood += kThumbsUp;
    EXPECT_FALSE(valid_reaction(flood));
}

TEST(Reaction, TwoEmojiAreTwoGraphemesAndInvalid) {
    EXPECT_FALSE(valid_reaction(kThumbsUp + kThumbsUp));
    EXPECT_FALSE(valid_reaction(kHeart + kVs16 + kHeart));
    // Three regional indicators: a flag and a lone letter.
    EXPECT_FALSE(valid_reaction(kRegionalF + kRegionalR + kRegionalF));
}

TEST(Reaction, TextAndEmojiMixedWithTextAreInvalid) {
    for (const std::string& text :
         {std::string(), std::string("a"), std::string("ok"), std::string(":+1:"),
          std::string("a") + kThumbsUp, kThumbsUp + " ", " " + kThumbsUp, kThumbsUp + "\n",
          std::string("\xC3\xA9"), std::string("\xE6\x97\xA5"), std::string("<b>")}) {
        EXPECT_FALSE(valid_reaction(text)) << text;
    }
}

TEST(Reaction, EmojiComponentsAloneAreNoEmoji) {
    for (const std::string& text :
         {std::string("1"), std::string("#"), std::string("*"), std::string("42"), kZwj, kVs16,
          kKeycap, kMediumSkin, kZwj + kZwj, std::string("1") + kVs16}) {
        EXPECT_FALSE(valid_reaction(text)) << text;
    }
}

TEST(Reaction, AKeycapNeedsItsBaseAndOnlyADigitHashOrStarTakesOne) {
    EXPECT_FALSE(valid_reaction(std::string("x") + kKeycap));
    EXPECT_FALSE(valid_reaction(kThumbsUp + kKeycap));
    EXPECT_FALSE(valid_reaction(std::string("1") + kVs16 + kVs16 + kKeycap));
    EXPECT_TRUE(valid_reaction(std::string("0") + kKeycap));
}

TEST(Reaction, InvisibleAndControlCharactersAreInvalid) {
    for (const std::string& text : {kThumbsUp + "\xE2\x80\x8B",        // zero-width space
                                    kThumbsUp + "\xE2\x80\xAE",        // right-to-left override
                                    std::string("\x01") + kThumbsUp,   // a control character
                                    kThumbsUp + std::string(1, '\0'),  // NUL
                                    kThumbsUp + "\xCC\x81"}) {         // a combining acute accent
        EXPECT_FALSE(valid_reaction(text));
    }
}

TEST(Reaction, InvalidUtf8IsInvalid) {
    EXPECT_FALSE(valid_reaction("\xF0\x9F\x91"));  // truncated
    EXPECT_FALSE(valid_reaction("\xED\xA0\x80"));  // a surrogate
    EXPECT_FALSE(valid_reaction("\xC0\xBF"));      // overlong
}

}  // namespace
