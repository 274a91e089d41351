#include "net/static_files.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

namespace chatd::net {
namespace {

namespace fs = std::filesystem;

TEST(AcceptEncoding, ListedCodingsWithAPositiveWeightAreAccepted) {
    auto a = parse_accept_encoding("gzip, deflate, br, zstd");
    EXPECT_TRUE(a.gzip);
    EXPECT_TRUE(a.brotli);
    a = parse_accept_encoding("gzip;q=0.5");
    EXPECT_TRUE(a.gzip);
    EXPECT_FALSE(a.brotli);
    a = parse_accept_encoding("X-GZIP , BR;Q=1.000");
    EXPECT_TRUE(a.gzip);
    EXPECT_TRUE(a.brotli);
}

TEST(AcceptEncoding, ZeroWeightsRefuseAndTheWildcardCoversTheUnlisted) {
    auto a = parse_accept_encoding("br;q=0, gzip");
    EXPECT_FALSE(a.brotli);
    EXPECT_TRUE(a.gzip);
    a = parse_accept_encoding("br;q=0.000, gzip;q=0.0");
    EXPECT_FALSE(a.brotli);
    EXPECT_FALSE(a.gzip);
    a = parse_accept_encoding("*");
    EXPECT_TRUE(a.brotli);
    EXPECT_TRUE(a.gzip);
    a = parse_accept_encoding("*;q=0.1, br;q=0");
    EXPECT_FALSE(a.brotli);
    EXPECT_TRUE(a.gzip);
    a = parse_accept_encoding("gzip, *;q=0");
    EXPECT_TRUE(a.gzip);
    EXPECT_FALSE(a.brotli);
}

TEST(AcceptEncoding, EmptyOrMalformedValuesAcceptNothingButIdentity) {
    for (const char* header : {"", " , ", "identity", "deflate", "br;q=2", "br;q=0.0001",
                               "br;q=", "br;q=abc", "gzip;q=1.5", "gzip;q=.5"}) {
        const auto a = parse_accept_encoding(header);
        EXPECT_FALSE(a.brotli) << header;
        EXPECT_FALSE(a.gzip) << header;
    }
    EXPECT_TRUE(parse_accept_encoding("br;q=1.").brotli);
    EXPECT_TRUE(parse_accept_encoding("br;q=0.001").brotli);
}

TEST(IfNoneMatch, WeakComparisonOverTheList) {
    EXPECT_TRUE(if_none_match_matches("\"abc\"", "\"abc\""));
    EXPECT_TRUE(if_none_match_matches("\"x\", \"abc\"", "\"abc\""));
    EXPECT_TRUE(if_none_match_matches("W/\"abc\"", "\"abc\""));
    EXPECT_TRUE(if_none_match_matches("*", "\"abc\""));
    EXPECT_FALSE(if_none_match_matches("\"abcd\"", "\"abc\""));
    EXPECT_FALSE(if_none_match_matches("abc", "\"abc\""));
    EXPECT_FALSE(if_none_match_matches("", "\"abc\""));
}

class StaticFilesTest : public ::testing::Test {
  protected:
    void SetUp() override {
        root_ =
            fs::temp_directory_path() /
            ("chatd-static-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(root_);
        fs::create_directories(root_ / "assets");
    }
    void TearDown() override { fs::remove_all(root_); }

    void write(const std::string& name, const std::string& content) {
        std::ofstream(root_ / name, std::ios::binary) << content;
    }
    // Moves a file's mtime by `delta` (a variant older than its original is stale).
    void touch(const std::string& name, std::chrono::seconds delta) {
        fs::last_write_time(root_ / name, fs::last_write_time(root_ / name) + delta);
    }

    fs::path root_;
};

TEST_F(StaticFilesTest, ServesTheVariantsThatExistBesideTheirOriginal) {
    write("assets/app-1a2b.js", std::string(1000, 'a'));
    write("assets/app-1a2b.js.br", "BR");
    write("assets/app-1a2b.js.gz", "GZIP");
    write("index.html", "<!doctype html>");
    write("orphan.js.br", "BR");
    StaticFiles files(root_, 1 << 20);

    const auto app = files.find("assets/app-1a2b.js");
    ASSERT_TRUE(app.file);
    EXPECT_TRUE(app.file->immutable);
    EXPECT_EQ(app.file->content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(app.file->choose({.gzip = true, .brotli = true}).body, "BR");
    EXPECT_EQ(app.file->choose({.gzip = true, .brotli = false}).body, "GZIP");
    EXPECT_EQ(app.file->choose({}).body, std::string(1000, 'a'));
    EXPECT_EQ(app.file->choose({}).coding, ContentCoding::Identity);
    // A strong ETag per variant.
    const auto& br = app.file->choose({.gzip = true, .brotli = true}).etag;
    const auto& gz = app.file->choose({.gzip = true}).etag;
    const auto& plain = app.file->choose({}).etag;
    EXPECT_NE(br, gz);
    EXPECT_NE(br, plain);
    EXPECT_TRUE(plain.starts_with('"') && plain.ends_with('"')) << plain;

    // The root and directories serve their index.html, which is not immutable.
    const auto index = files.find("");
    ASSERT_TRUE(index.file);
    EXPECT_EQ(index.file->relative, "index.html");
    EXPECT_FALSE(index.file->immutable);
    EXPECT_FALSE(index.file->has_variants());
    // A variant never stands in for a missing original; nothing leaves the root.
    EXPECT_FALSE(files.find("orphan.js").file);
    EXPECT_FALSE(files.find("../etc/passwd").file);
    EXPECT_FALSE(files.find("assets/../../x").file);
    EXPECT_FALSE(files.find("assets").file);  // a directory without index.html
}

TEST_F(StaticFilesTest, IgnoresStaleAndLargerVariants) {
    write("a.js", std::string(100, 'a'));
    write("a.js.br", "stale");
    touch("a.js.br", std::chrono::seconds(-60));
    write("a.js.gz", std::string(200, 'g'));  // does not shrink: never served
    StaticFiles files(root_, 1 << 20);
    const auto a = files.find("a.js");
    ASSERT_TRUE(a.file);
    EXPECT_FALSE(a.file->has_variants());
    EXPECT_EQ(a.file->choose({.gzip = true, .brotli = true}).body, std::string(100, 'a'));
}

TEST_F(StaticFilesTest, ReadsAFileAgainWhenItChangesOnDisk) {
    write("index.html", "first");
    StaticFiles files(root_, 1 << 20);
    const auto first = files.find("index.html");
    ASSERT_TRUE(first.file);
    EXPECT_EQ(files.find("index.html").file, first.file) << "kept, not read again";
    write("index.html", "second build");
    touch("index.html", std::chrono::seconds(5));
    const auto second = files.find("index.html");
    ASSERT_TRUE(second.file);
    EXPECT_EQ(second.file->choose({}).body, "second build");
    EXPECT_NE(second.file->choose({}).etag, first.file->choose({}).etag);
    EXPECT_EQ(files.bytes_held(), std::string("second build").size());
}

TEST_F(StaticFilesTest, HoldsFilesUpToTheBudgetAndReadsTheRestPerRequest) {
    write("a.js", std::string(600, 'a'));
    write("a.js.gz", std::string(100, 'g'));
    write("b.js", std::string(300, 'b'));
    write("c.js", std::string(301, 'c'));
    // At the edge: a.js with its variant (700) and b.js (300) fill 1,000 bytes exactly.
    StaticFiles files(root_, 1000);
    EXPECT_FALSE(files.find("a.js").over_budget);
    EXPECT_EQ(files.bytes_held(), 700u);
    EXPECT_FALSE(files.find("b.js").over_budget);
    EXPECT_EQ(files.bytes_held(), 1000u);
    // Past it: c.js is served, read from disk each time, and not kept.
    const auto c = files.find("c.js");
    ASSERT_TRUE(c.file);
    EXPECT_TRUE(c.over_budget);
    EXPECT_EQ(c.file->choose({}).body, std::string(301, 'c'));
    EXPECT_TRUE(files.find("c.js").over_budget);
    EXPECT_EQ(files.bytes_held(), 1000u);
    // Nothing is kept with a budget of 0.
    StaticFiles none(root_, 0);
    EXPECT_TRUE(none.find("b.js").over_budget);
    EXPECT_EQ(none.bytes_held(), 0u);
}

TEST(MimeType, KnownExtensionsAndTheRest) {
    EXPECT_EQ(mime_type("index.html"), "text/html; charset=utf-8");
    EXPECT_EQ(mime_type("emoji/en.json"), "application/json");
    EXPECT_EQ(mime_type("favicon.svg"), "image/svg+xml");
    EXPECT_EQ(mime_type("x.bin"), "application/octet-stream");
    EXPECT_EQ(coding_name(ContentCoding::Brotli), "br");
    EXPECT_EQ(coding_name(ContentCoding::Gzip), "gzip");
}

}  // namespace
}  // namespace chatd::net
