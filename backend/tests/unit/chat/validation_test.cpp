#include "chat/validation.hpp"

#include <gtest/gtest.h>

#include <string>

#include "chat/user_names.hpp"

namespace {

using namespace chatd;
using chat::valid_user_name;

std::string repeat(std::string_view piece, std::size_t times) {
    std::string out;
    for (std::size_t i = 0; i < times; ++i) out.append(piece);
    return out;
}

// ---------------------------------------------------------------------------------------------
// User names

TEST(ValidationUserName, AsciiLettersDigitsUnderscoreDashAndDotAreValid) {
    for (const char* name : {"alice", "Bob", "a", "user_1", "jean-luc", "j.r.r", "0", "A-_.9"}) {
        EXPECT_TRUE(valid_user_name(name)) << name;
    }
}

TEST(ValidationUserName, NonAsciiLettersAreValid) {
    EXPECT_TRUE(valid_user_name("Zo\xC3\xAB"));                        // Zoë
    EXPECT_TRUE(valid_user_name("\xE6\x97\xA5\xE6\x9C\xAC"));          // 日本
    EXPECT_TRUE(valid_user_name("\xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD"));  // Иван
    EXPECT_TRUE(valid_user_name("\xF0\x9F\x98\x80"));                  // U+1F600, four bytes
}

TEST(ValidationUserName, EmptyNameIsInvalid) {
    EXPECT_FALSE(valid_user_name(""));
}

TEST(ValidationUserName, ThirtyTwoCharactersAreValidAndThirtyThreeAreNot) {
    EXPECT_TRUE(valid_user_name(std::string(32, 'a')));
    EXPECT_FALSE(valid_user_name(std::string(33, 'a')));
}

TEST(ValidationUserName, LengthIsCountedInCodePointsNotBytes) {
    // 32 two-byte characters (64 bytes) are valid; 33 are not.
    EXPECT_TRUE(valid_user_name(repeat("\xC3\xAB", 32)));
    EXPECT_FALSE(valid_user_name(repeat("\xC3\xAB", 33)));
    // 32 three-byte and 32 four-byte characters.
    EXPECT_TRUE(valid_user_name(repeat("\xE6\x97\xA5", 32)));
    EXPECT_FALSE(valid_user_name(repeat("\xE6\x97\xA5", 33)));
    EXPECT_TRUE(valid_user_name(repeat("\xF0\x9F\x98\x80", 32)));
    EXPECT_FALSE(valid_user_name(repeat("\xF0\x9F\x98\x80", 33)));
}

TEST(ValidationUserName, SlashColonAndSpaceAreInvalid) {
    for (const char* name : {"a/b", "/", "a:b", ":", "a b", " alice", "alice ", "dm:a:b"}) {
        EXPECT_FALSE(valid_user_name(name)) << name;
    }
}

TEST(ValidationUserName, OtherAsciiPunctuationIsInvalid) {
    for (const char* name : {"a@b", "a?b", "a#b", "a%20", "a+b", "a\\b", "\"a\"", "a'b", "a*"}) {
        EXPECT_FALSE(valid_user_name(name)) << name;
    }
}

TEST(ValidationUserName, AsciiControlCharactersAreInvalid) {
    for (const std::string& name :
         {std::string("a\nb"), std::string("a\tb"), std::string("a\rb"), std::string("a\x7F"),
          std::string("\x1B[31m"), std::string("a\0b", 3)}) {
        EXPECT_FALSE(valid_user_name(name)) << testing::PrintToString(name);
    }
}

TEST(ValidationUserName, C1ControlCharactersAreInvalid) {
    EXPECT_FALSE(valid_user_name("a\xC2\x85z"));  // U+0085 NEXT LINE
    EXPECT_FALSE(valid_user_name("a\xC2\x80z"));  // U+0080
    EXPECT_FALSE(valid_user_name("a\xC2\x9Fz"));  // U+009F
    EXPECT_TRUE(valid_user_name("a\xC2\xAAz"));   // U+00AA FEMININE ORDINAL INDICATOR, a letter
}

TEST(ValidationUserName, NonAsciiSpacesAreInvalid) {
    EXPECT_FALSE(valid_user_name("alice\xC2\xA0"));   // U+00A0 NO-BREAK SPACE
    EXPECT_FALSE(valid_user_name("a\xE1\x9A\x80z"));  // U+1680 OGHAM SPACE MARK
    EXPECT_FALSE(valid_user_name("a\xE2\x80\x80z"));  // U+2000 EN QUAD
    EXPECT_FALSE(valid_user_name("a\xE2\x80\x8Az"));  // U+200A HAIR SPACE
    EXPECT_FALSE(valid_user_name("a\xE2\x80\xA8z"));  // U+2028 LINE SEPARATOR
    EXPECT_FALSE(valid_user_name("a\xE2\x80\xA9z"));  // U+2029 PARAGRAPH SEPARATOR
    EXPECT_FALSE(valid_user_name("a\xE2\x80\xAFz"));  // U+202F NARROW NO-BREAK SPACE
    EXPECT_FALSE(valid_user_name("a\xE2\x81\x9Fz"));  // U+205F MEDIUM MATHEMATICAL SPACE
    EXPECT_FALSE(valid_user_name("\xE3\x80\x80"));    // U+3000 IDEOGRAPHIC SPACE
    // Neighbours of those ranges are ordinary characters.
    EXPECT_TRUE(valid_user_name("a\xC2\xA1z"));      // U+00A1
    EXPECT_TRUE(valid_user_name("a\xE2\x80\x90z"));  // U+2010 HYPHEN
    EXPECT_TRUE(valid_user_name("\xE3\x80\x81"));    // U+3001
}

TEST(ValidationUserName, DotSegmentsAreInvalidButOtherDottedNamesAreValid) {
    EXPECT_FALSE(valid_user_name("."));
    EXPECT_FALSE(valid_user_name(".."));
    EXPECT_TRUE(valid_user_name("..."));
    EXPECT_TRUE(valid_user_name(".alice"));
    EXPECT_TRUE(valid_user_name("a.b"));
}

TEST(ValidationUserName, InvalidUtf8IsInvalid) {
    for (const char* name :
         {"a\xFF", "\xC3", "a\xC3z", "\x80", "\xE6\x97", "\xF8\x88\x80\x80\x80"}) {
        EXPECT_FALSE(valid_user_name(name)) << testing::PrintToString(std::string(name));
    }
}

TEST(ValidationUserName, OverlongEncodingsAreInvalid) {
    EXPECT_FALSE(valid_user_name("\xC0\xAF"));          // '/' in two bytes
    EXPECT_FALSE(valid_user_name("\xC1\x81"));          // 'A' in two bytes
    EXPECT_FALSE(valid_user_name("\xE0\x80\xAF"));      // '/' in three bytes
    EXPECT_FALSE(valid_user_name("\xF0\x80\x80\xAF"));  // '/' in four bytes
}

TEST(ValidationUserName, SurrogateCodePointsAreInvalid) {
    EXPECT_FALSE(valid_user_name("\xED\xA0\x80"));              // U+D800
    EXPECT_FALSE(valid_user_name("\xED\xBF\xBF"));              // U+DFFF
    EXPECT_FALSE(valid_user_name("\xED\xA0\xBD\xED\xB8\x80"));  // CESU-8 pair for U+1F600
}

// ---------------------------------------------------------------------------------------------
// Room names

// ---------------------------------------------------------------------------------------------
// Look-alike user names: each class is refused outright or has the key of "alice".

TEST(ValidationUserName, InvisibleCharactersAreInvalid) {
    EXPECT_FALSE(valid_user_name("al\u200Dice"));      // ZERO WIDTH JOINER
    EXPECT_FALSE(valid_user_name("al\u200Cice"));      // ZERO WIDTH NON-JOINER
    EXPECT_FALSE(valid_user_name("al\u200Bice"));      // ZERO WIDTH SPACE
    EXPECT_FALSE(valid_user_name("alice\u2060"));      // WORD JOINER
    EXPECT_FALSE(valid_user_name("\uFEFFalice"));      // ZERO WIDTH NO-BREAK SPACE (BOM)
    EXPECT_FALSE(valid_user_name("al\u00ADice"));      // SOFT HYPHEN
    EXPECT_FALSE(valid_user_name("alice\uFE0F"));      // VARIATION SELECTOR-16
    EXPECT_FALSE(valid_user_name("a\u034Flice"));      // COMBINING GRAPHEME JOINER
    EXPECT_FALSE(valid_user_name("alice\U000E0041"));  // TAG LATIN CAPITAL LETTER A
}

TEST(ValidationUserName, BidiControlsAreInvalid) {
    EXPECT_FALSE(valid_user_name("\u202Eecila"));  // RIGHT-TO-LEFT OVERRIDE
    EXPECT_FALSE(valid_user_name("alice\u202D"));  // LEFT-TO-RIGHT OVERRIDE
    EXPECT_FALSE(valid_user_name("\u202Balice"));  // RIGHT-TO-LEFT EMBEDDING
    EXPECT_FALSE(valid_user_name("al\u2067ice"));  // RIGHT-TO-LEFT ISOLATE
    EXPECT_FALSE(valid_user_name("alice\u200F"));  // RIGHT-TO-LEFT MARK
    EXPECT_FALSE(valid_user_name("alice\u061C"));  // ARABIC LETTER MARK
}

TEST(ValidationUserName, PrivateUseAndUnassignedCodePointsAreInvalid) {
    EXPECT_FALSE(valid_user_name("a\uE000"));      // private use
    EXPECT_FALSE(valid_user_name("a\U000F0000"));  // supplementary private use
    EXPECT_FALSE(valid_user_name("a\uFFFF"));      // noncharacter
    EXPECT_FALSE(valid_user_name("a\U0003FFFD"));  // unassigned
}

TEST(ValidationUserName, OnlyNfcIsValidAndCanonicalNameComposesAccents) {
    EXPECT_TRUE(valid_user_name("zo\u00E9"));    // é composed
    EXPECT_FALSE(valid_user_name("zoe\u0301"));  // e + COMBINING ACUTE ACCENT
    EXPECT_EQ(chat::canonical_user_name("zoe\u0301"), std::optional<std::string>("zo\u00E9"));
    EXPECT_EQ(chat::canonical_user_name("alice"), std::optional<std::string>("alice"));
    EXPECT_FALSE(chat::canonical_user_name("al\u200Dice").has_value());
    EXPECT_FALSE(chat::canonical_user_name("a/b").has_value());
    EXPECT_FALSE(chat::canonical_user_name("\xC3").has_value());
}

TEST(ValidationUserName, LegacyRuleStillAcceptsNamesRegisteredBeforeTheLookAlikeRules) {
    EXPECT_TRUE(chat::valid_legacy_user_name("al\u200Dice"));
    EXPECT_TRUE(chat::valid_legacy_user_name("zoe\u0301"));
    EXPECT_FALSE(chat::valid_legacy_user_name("a b"));
    EXPECT_FALSE(chat::valid_legacy_user_name("a\xC2\x80z"));
}

TEST(UserNameKey, CaseConfusablesAndFullwidthFormsShareTheKeyOfAlice) {
    const auto alice = chat::user_name_key("alice");
    EXPECT_FALSE(alice.empty());
    EXPECT_EQ(chat::user_name_key("Alice"), alice);
    EXPECT_EQ(chat::user_name_key("ALICE"), alice);
    EXPECT_EQ(chat::user_name_key("\u0430lice"), alice);  // CYRILLIC SMALL LETTER A
    EXPECT_EQ(chat::user_name_key("\u0410LICE"), alice);  // CYRILLIC CAPITAL LETTER A
    EXPECT_EQ(chat::user_name_key("\uFF41\uFF4C\uFF49\uFF43\uFF45"), alice);  // fullwidth
    EXPECT_EQ(chat::user_name_key("\uFF21lice"), alice);  // FULLWIDTH LATIN CAPITAL LETTER A
    EXPECT_EQ(chat::user_name_key("a1ice"), alice);       // digit one for l
    // Case folding comes first (so that "ALICE" is "alice"): a capital I is an i, not an l.
    EXPECT_NE(chat::user_name_key("aIice"), alice);
    // Names from before the rules: invisible characters do not change the key.
    EXPECT_EQ(chat::user_name_key("al\u200Dice"), alice);
    EXPECT_EQ(chat::user_name_key("al\u00ADice"), alice);
}

TEST(UserNameKey, AccentsComposedOrNotShareAKeyThatDiffersFromTheBareLetter) {
    EXPECT_EQ(chat::user_name_key("zo\u00E9"), chat::user_name_key("zoe\u0301"));
    EXPECT_EQ(chat::user_name_key("ZO\u00C9"), chat::user_name_key("zo\u00E9"));
    EXPECT_NE(chat::user_name_key("zo\u00E9"), chat::user_name_key("zoe"));
}

TEST(UserNameKey, DifferentNamesHaveDifferentKeys) {
    EXPECT_NE(chat::user_name_key("alice"), chat::user_name_key("alicia"));
    EXPECT_NE(chat::user_name_key("bob"), chat::user_name_key("rob"));
    EXPECT_NE(chat::user_name_key("\u0418\u0432\u0430\u043D"), chat::user_name_key("alice"));
}

TEST(UserNameKey, ANameOfOnlyIgnorableCharactersIsItsOwnKey) {
    EXPECT_EQ(chat::user_name_key("\u200B"), "\u200B");
}

TEST(ValidationRoomName, LowercaseLettersDigitsUnderscoreAndDashAreValid) {
    for (const char* room : {"general", "a", "rust-fans", "room_2", "0", "-", "_"}) {
        EXPECT_TRUE(chat::valid_room_name(room)) << room;
    }
}

TEST(ValidationRoomName, FortyEightCharactersAreValidAndFortyNineAreNot) {
    EXPECT_TRUE(chat::valid_room_name(std::string(48, 'r')));
    EXPECT_FALSE(chat::valid_room_name(std::string(49, 'r')));
}

TEST(ValidationRoomName, EmptyIsInvalid) {
    EXPECT_FALSE(chat::valid_room_name(""));
}

TEST(ValidationRoomName, UppercaseIsRefused) {
    EXPECT_FALSE(chat::valid_room_name("General"));
    EXPECT_FALSE(chat::valid_room_name("ROOM"));
}

TEST(ValidationRoomName, DotsSpacesColonsSlashesAndNonAsciiAreRefused) {
    for (const char* room : {"a.b", "a b", "dm:a:b", "a/b", "caf\xC3\xA9", "a\n"}) {
        EXPECT_FALSE(chat::valid_room_name(room)) << room;
    }
}

// ---------------------------------------------------------------------------------------------
// UTF-8

TEST(ValidationUtf8, AsciiAndWellFormedMultibyteTextIsValid) {
    EXPECT_TRUE(chat::valid_utf8(""));
    EXPECT_TRUE(chat::valid_utf8("hello"));
    EXPECT_TRUE(chat::valid_utf8("Zo\xC3\xAB \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80"));
    EXPECT_TRUE(chat::valid_utf8(std::string("nul\0inside", 10)));
}

TEST(ValidationUtf8, BoundaryCodePointsAreValid) {
    EXPECT_TRUE(chat::valid_utf8("\x7F"));              // U+007F
    EXPECT_TRUE(chat::valid_utf8("\xC2\x80"));          // U+0080
    EXPECT_TRUE(chat::valid_utf8("\xDF\xBF"));          // U+07FF
    EXPECT_TRUE(chat::valid_utf8("\xE0\xA0\x80"));      // U+0800
    EXPECT_TRUE(chat::valid_utf8("\xED\x9F\xBF"));      // U+D7FF
    EXPECT_TRUE(chat::valid_utf8("\xEE\x80\x80"));      // U+E000
    EXPECT_TRUE(chat::valid_utf8("\xEF\xBF\xBF"));      // U+FFFF
    EXPECT_TRUE(chat::valid_utf8("\xF0\x90\x80\x80"));  // U+10000
    EXPECT_TRUE(chat::valid_utf8("\xF4\x8F\xBF\xBF"));  // U+10FFFF
}

TEST(ValidationUtf8, TruncatedSequencesAreInvalid) {
    EXPECT_FALSE(chat::valid_utf8("\xC3"));
    EXPECT_FALSE(chat::valid_utf8("\xE6\x97"));
    EXPECT_FALSE(chat::valid_utf8("\xF0\x9F\x98"));
    EXPECT_FALSE(chat::valid_utf8("ok\xF0\x9F\x98"));
}

TEST(ValidationUtf8, StrayOrMissingContinuationBytesAreInvalid) {
    EXPECT_FALSE(chat::valid_utf8("\x80"));
    EXPECT_FALSE(chat::valid_utf8("a\xBF"));
    EXPECT_FALSE(chat::valid_utf8("\xC3z"));
    EXPECT_FALSE(chat::valid_utf8("\xE6\x97z"));
}

TEST(ValidationUtf8, BytesNeverUsedInUtf8AreInvalid) {
    EXPECT_FALSE(chat::valid_utf8("\xFE"));
    EXPECT_FALSE(chat::valid_utf8("\xFF"));
    EXPECT_FALSE(chat::valid_utf8("\xF8\x88\x80\x80\x80"));
}

TEST(ValidationUtf8, OverlongEncodingsAreInvalid) {
    EXPECT_FALSE(chat::valid_utf8("\xC0\x80"));          // U+0000 in two bytes
    EXPECT_FALSE(chat::valid_utf8("\xC1\xBF"));          // U+007F in two bytes
    EXPECT_FALSE(chat::valid_utf8("\xE0\x9F\xBF"));      // U+07FF in three bytes
    EXPECT_FALSE(chat::valid_utf8("\xF0\x8F\xBF\xBF"));  // U+FFFF in four bytes
}

TEST(ValidationUtf8, SurrogatesAreInvalid) {
    EXPECT_FALSE(chat::valid_utf8("\xED\xA0\x80"));  // U+D800
    EXPECT_FALSE(chat::valid_utf8("\xED\xB0\x80"));  // U+DC00
    EXPECT_FALSE(chat::valid_utf8("\xED\xBF\xBF"));  // U+DFFF
}

TEST(ValidationUtf8, CodePointsBeyondU10FFFFAreInvalid) {
    EXPECT_FALSE(chat::valid_utf8("\xF4\x90\x80\x80"));  // U+110000
    EXPECT_FALSE(chat::valid_utf8("\xF7\xBF\xBF\xBF"));  // U+1FFFFF
}

TEST(ValidationUtf8, LengthCountsCodePoints) {
    EXPECT_EQ(chat::utf8_length(""), 0u);
    EXPECT_EQ(chat::utf8_length("hello"), 5u);
    EXPECT_EQ(chat::utf8_length("Zo\xC3\xAB"), 3u);
    EXPECT_EQ(chat::utf8_length("\xE6\x97\xA5\xE6\x9C\xAC"), 2u);
    EXPECT_EQ(chat::utf8_length("\xF0\x9F\x98\x80!"), 2u);
    EXPECT_EQ(chat::utf8_length(std::string("a\0b", 3)), 3u);
}

// ---------------------------------------------------------------------------------------------
// Direct rooms

TEST(ValidationDirectRoom, NamesAreInByteOrderWhicheverSideOpens) {
    EXPECT_EQ(chat::direct_room_name("alice", "bob"), "dm:alice:bob");
    EXPECT_EQ(chat::direct_room_name("bob", "alice"), "dm:alice:bob");
}

TEST(ValidationDirectRoom, ByteOrderPutsUppercaseBeforeLowercaseAndAsciiBeforeNonAscii) {
    EXPECT_EQ(chat::direct_room_name("bob", "Zed"), "dm:Zed:bob");
    EXPECT_EQ(chat::direct_room_name("Zo\xC3\xAB", "zed"), "dm:Zo\xC3\xAB:zed");
    EXPECT_EQ(chat::direct_room_name("\xE6\x97\xA5", "zed"), "dm:zed:\xE6\x97\xA5");
    EXPECT_EQ(chat::direct_room_name("ann", "anna"), "dm:ann:anna");
}

TEST(ValidationDirectRoom, DirectRoomsAreRecognisedByTheirPrefix) {
    EXPECT_TRUE(chat::is_direct_room("dm:alice:bob"));
    EXPECT_TRUE(chat::is_direct_room(chat::direct_room_name("x", "y")));
    EXPECT_FALSE(chat::is_direct_room("general"));
    EXPECT_FALSE(chat::is_direct_room("dm"));
    EXPECT_FALSE(chat::is_direct_room("dm-alice-bob"));
    EXPECT_FALSE(chat::is_direct_room("xdm:alice:bob"));
}

TEST(ValidationDirectRoom, DirectRoomNamesAreNeverValidPublicRoomNames) {
    EXPECT_FALSE(chat::valid_room_name(chat::direct_room_name("alice", "bob")));
}

}  // namespace
