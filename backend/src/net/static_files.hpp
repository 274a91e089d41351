#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

// The web client's files (--web-root) as chatd serves them: read once, kept in memory with their
// precompressed variants and ETags, and chosen by the request's Accept-Encoding. No Beast here:
// net/server.cpp turns a lookup into headers.
namespace chatd::net {

enum class ContentCoding { Identity, Gzip, Brotli };

// The codings an Accept-Encoding value allows (RFC 9110 §12.5.3): listed with q > 0, or covered
// by "*" with q > 0 and not listed; "x-gzip" is gzip. Identity is always served, so it is not
// tracked. A request without the header gets identity (curl and scripts would otherwise receive
// bytes they did not ask to decode): the caller passes nothing then.
struct AcceptedCodings {
    bool gzip = false;
    bool brotli = false;
};
AcceptedCodings parse_accept_encoding(std::string_view header);

// If-None-Match against one entity tag (RFC 9110 §13.1.2): "*" or any listed tag equal under the
// weak comparison (a W/ prefix on either side is ignored).
bool if_none_match_matches(std::string_view if_none_match, std::string_view etag);

// The Content-Type of a file name, by its extension.
std::string_view mime_type(std::string_view path);

// The name of a coding as Content-Encoding writes it (identity: empty).
std::string_view coding_name(ContentCoding coding);

struct StaticFile {
    struct Variant {
        ContentCoding coding = ContentCoding::Identity;
        std::string body;
        std::string etag;  // strong, quoted: a hash of `body`, so equal on every node
    };
    std::string relative;  // the file served, relative to the web root ("assets/index-x.js")
    std::string_view content_type;
    // Vite's content-hashed output (assets/): a new build gives new names, so it never changes.
    bool immutable = false;
    std::vector<Variant> variants;  // identity first, then what exists of brotli and gzip
    std::uint64_t disk_size = 0;    // the original's size and mtime when it was read
    std::int64_t disk_mtime_ns = 0;

    // Brotli, then gzip, then identity: the first the request accepts.
    const Variant& choose(AcceptedCodings accepted) const;
    bool has_variants() const { return variants.size() > 1; }
    std::size_t bytes() const;
};

// Files are read on first use and kept while the bytes held (every variant's body) stay within
// `max_bytes`; a file that does not fit is read for its request only (over_budget). Each lookup
// stats the original once, so a file replaced on disk (a new build) is read again; its variants
// are read with it. Thread-safe.
class StaticFiles {
  public:
    StaticFiles(std::filesystem::path root, std::size_t max_bytes);

    struct Lookup {
        std::shared_ptr<const StaticFile> file;  // null: no such regular file
        bool over_budget = false;                // read from disk, not kept
    };
    // `relative` is a path under the root that never leaves it (the caller refused "..", "." and
    // separators inside segments); empty or a directory means its index.html. A `.br` or `.gz`
    // is a variant only beside its original and not older than it, and only when smaller.
    Lookup find(std::string_view relative);

    std::size_t bytes_held() const;

  private:
    std::filesystem::path root_;
    std::size_t max_bytes_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<const StaticFile>> files_;
    std::size_t bytes_held_ = 0;
};

}  // namespace chatd::net
