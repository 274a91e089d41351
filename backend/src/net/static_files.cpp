#include "net/static_files.hpp"

#include <sodium.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace chatd::net {
namespace {

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// Calls `each` with every element of a comma-separated header list, trimmed, empty ones skipped.
template <class F>
void for_each_element(std::string_view list, F each) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        const auto element = trim(list.substr(0, comma));
        if (!element.empty()) each(element);
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
}

// A qvalue (RFC 9110 §12.4.2: "0" ["." 0-3 digits] or "1" ["." 0-3 zeros]) that is above zero.
// A malformed one counts as zero, so a coding with a garbled weight is not used.
bool positive_qvalue(std::string_view q) {
    if (q.empty() || q.size() > 5 || (q.size() > 1 && q[1] != '.')) return false;
    const auto decimals = q.size() > 2 ? q.substr(2) : std::string_view{};
    if (q[0] == '1') return decimals.find_first_not_of('0') == std::string_view::npos;
    if (q[0] != '0' || decimals.find_first_not_of("0123456789") != std::string_view::npos) {
        return false;
    }
    return decimals.find_first_not_of('0') != std::string_view::npos;
}

// No segment of `relative` is "." or "..", so the path stays under the root.
bool stays_inside(std::string_view relative) {
    bool inside = true;
    while (inside) {
        const auto slash = relative.find('/');
        const auto segment = relative.substr(0, slash);
        inside = segment != "." && segment != "..";
        if (slash == std::string_view::npos) break;
        relative.remove_prefix(slash + 1);
    }
    return inside;
}

std::string etag_of(std::string_view body) {
    std::array<unsigned char, 16> hash{};
    crypto_generichash(hash.data(), hash.size(),
                       reinterpret_cast<const unsigned char*>(body.data()), body.size(), nullptr,
                       0);
    std::array<char, sodium_base64_ENCODED_LEN(16, sodium_base64_VARIANT_URLSAFE_NO_PADDING)>
        text{};
    sodium_bin2base64(text.data(), text.size(), hash.data(), hash.size(),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return "\"" + std::string(text.data()) + "\"";
}

struct DiskState {
    bool regular = false;
    bool directory = false;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
};

DiskState stat_of(const std::filesystem::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return {};
    return DiskState{
        S_ISREG(st.st_mode), S_ISDIR(st.st_mode), static_cast<std::uint64_t>(st.st_size),
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::optional<std::string> read_file(const std::filesystem::path& path) {
    std::ifstream file(path, std::ios::binary);
    if (!file) return std::nullopt;
    std::ostringstream content;
    content << file.rdbuf();
    return std::move(content).str();
}

}  // namespace

AcceptedCodings parse_accept_encoding(std::string_view header) {
    // Per coding: listed with a positive weight, listed with zero, or not listed (then "*" says).
    std::optional<bool> gzip, brotli, any;
    for_each_element(header, [&](std::string_view element) {
        const auto semicolon = element.find(';');
        const auto coding = trim(element.substr(0, semicolon));
        bool acceptable = true;
        if (semicolon != std::string_view::npos) {
            auto params = element.substr(semicolon + 1);
            while (!params.empty()) {
                const auto next = params.find(';');
                const auto param = trim(params.substr(0, next));
                if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=') {
                    acceptable = positive_qvalue(trim(param.substr(2)));
                }
                if (next == std::string_view::npos) break;
                params.remove_prefix(next + 1);
            }
        }
        if (iequals(coding, "gzip") || iequals(coding, "x-gzip")) {
            gzip = acceptable;
        } else if (iequals(coding, "br")) {
            brotli = acceptable;
        } else if (coding == "*") {
            any = acceptable;
        }
    });
    const bool wildcard = any.value_or(false);
    return AcceptedCodings{gzip.value_or(wildcard), brotli.value_or(wildcard)};
}

bool if_none_match_matches(std::string_view if_none_match, std::string_view etag) {
    const auto opaque = [](std::string_view tag) {
        if (tag.starts_with("W/")) tag.remove_prefix(2);
        return tag;
    };
    bool matched = false;
    for_each_element(if_none_match, [&](std::string_view element) {
        if (element == "*" || opaque(element) == opaque(etag)) matched = true;
    });
    return matched;
}

std::string_view mime_type(std::string_view path) {
    const auto dot = path.rfind('.');
    const auto ext = dot == std::string_view::npos ? std::string_view{} : path.substr(dot);
    if (ext == ".html") return "text/html; charset=utf-8";
    if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
    if (ext == ".css") return "text/css; charset=utf-8";
    if (ext == ".json") return "application/json";
    if (ext == ".svg") return "image/svg+xml";
    if (ext == ".png") return "image/png";
    if (ext == ".ico") return "image/x-icon";
    if (ext == ".woff2") return "font/woff2";
    if (ext == ".txt") return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

std::string_view coding_name(ContentCoding coding) {
    switch (coding) {
        case ContentCoding::Gzip:
            return "gzip";
        case ContentCoding::Brotli:
            return "br";
        case ContentCoding::Identity:
            break;
    }
    return {};
}

const StaticFile::Variant& StaticFile::choose(AcceptedCodings accepted) const {
    for (const auto want : {ContentCoding::Brotli, ContentCoding::Gzip}) {
        if (want == ContentCoding::Brotli && !accepted.brotli) continue;
        if (want == ContentCoding::Gzip && !accepted.gzip) continue;
        for (const auto& variant : variants) {
            if (variant.coding == want) return variant;
        }
    }
    return variants.front();
}

std::size_t StaticFile::bytes() const {
    std::size_t total = 0;
    for (const auto& variant : variants) total += variant.body.size();
    return total;
}

StaticFiles::StaticFiles(std::filesystem::path root, std::size_t max_bytes)
    : root_(std::move(root)), max_bytes_(max_bytes) {
    // The ETags' hash; idempotent and thread-safe.
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not be initialised");
}

std::size_t StaticFiles::bytes_held() const {
    std::lock_guard lock(mutex_);
    return bytes_held_;
}

StaticFiles::Lookup StaticFiles::find(std::string_view relative_path) {
    std::string relative(relative_path);
    if (!stays_inside(relative) || relative.starts_with('/')) return {};
    auto disk = stat_of(root_ / relative);
    if (relative.empty() || disk.directory) {
        relative = relative.empty() ? "index.html" : relative + "/index.html";
        disk = stat_of(root_ / relative);
    }
    if (!disk.regular) return {};
    {
        std::lock_guard lock(mutex_);
        if (auto it = files_.find(relative); it != files_.end() &&
                                             it->second->disk_size == disk.size &&
                                             it->second->disk_mtime_ns == disk.mtime_ns) {
            return Lookup{it->second, false};
        }
    }
    // Read outside the lock: other requests go on meanwhile (two may read the same file once).
    auto file = std::make_shared<StaticFile>();
    file->relative = relative;
    file->content_type = mime_type(relative);
    file->immutable = relative.starts_with("assets/");
    file->disk_size = disk.size;
    file->disk_mtime_ns = disk.mtime_ns;
    auto original = read_file(root_ / relative);
    if (!original) return {};
    file->variants.push_back({ContentCoding::Identity, std::move(*original), {}});
    for (const auto& [coding, suffix] :
         {std::pair{ContentCoding::Brotli, ".br"}, std::pair{ContentCoding::Gzip, ".gz"}}) {
        const auto path = root_ / (relative + suffix);
        const auto state = stat_of(path);
        // A stale variant (older than the file it encodes) would serve an old version.
        if (!state.regular || state.mtime_ns < disk.mtime_ns) continue;
        auto body = read_file(path);
        if (!body || body->size() >= file->variants.front().body.size()) continue;
        file->variants.push_back({coding, std::move(*body), {}});
    }
    for (auto& variant : file->variants) variant.etag = etag_of(variant.body);

    std::lock_guard lock(mutex_);
    std::size_t held_without = bytes_held_;
    auto it = files_.find(relative);
    if (it != files_.end()) held_without -= it->second->bytes();
    if (held_without + file->bytes() > max_bytes_) {
        if (it != files_.end()) files_.erase(it);  // its copy is stale: the file changed
        bytes_held_ = held_without;
        return Lookup{std::move(file), true};
    }
    bytes_held_ = held_without + file->bytes();
    if (it != files_.end()) {
        it->second = file;
    } else {
        files_.emplace(relative, file);
    }
    return Lookup{std::move(file), false};
}

}  // namespace chatd::net
