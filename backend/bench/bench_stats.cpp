#include "bench_stats.hpp"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

namespace chatd::bench {

std::uint64_t Histogram::Snapshot::total() const {
    std::uint64_t sum = 0;
    for (const auto c : counts) sum += c;
    return sum;
}

void Histogram::Snapshot::add(const Snapshot& other) {
    for (std::size_t i = 0; i < kBuckets; ++i) counts[i] += other.counts[i];
    max = std::max(max, other.max);
}

Histogram::Snapshot Histogram::Snapshot::minus(const Snapshot& earlier) const {
    Snapshot out = *this;
    for (std::size_t i = 0; i < kBuckets; ++i) out.counts[i] -= earlier.counts[i];
    return out;
}

double Histogram::Snapshot::quantile(double q) const {
    const std::uint64_t n = total();
    if (n == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(n - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        seen += counts[i];
        if (seen >= rank) {
            const double lo = static_cast<double>(lower_of(i));
            const double hi = i + 1 < kBuckets ? static_cast<double>(lower_of(i + 1)) : lo;
            return std::min((lo + hi) / 2, static_cast<double>(max));
        }
    }
    return static_cast<double>(max);
}

Histogram::Snapshot Histogram::snapshot() const {
    Snapshot out;
    for (std::size_t i = 0; i < kBuckets; ++i) {
        out.counts[i] = counts_[i].load(std::memory_order_relaxed);
    }
    out.max = max_.load(std::memory_order_relaxed);
    return out;
}

std::string format_payload(const Payload& p, std::size_t pad_to) {
    std::string out = "cb " + std::to_string(p.run) + ' ' + std::to_string(p.sender) + ' ' +
                      std::to_string(p.seq) + ' ' + std::to_string(p.sent_ns);
    if (out.size() < pad_to) {
        out.push_back(' ');
        out.append(pad_to - out.size(), 'x');
    }
    return out;
}

namespace {

bool next_number(std::string_view& s, std::uint64_t& out) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc{} || ptr == s.data()) return false;
    s.remove_prefix(static_cast<std::size_t>(ptr - s.data()));
    return true;
}

}  // namespace

std::optional<Payload> parse_payload(std::string_view content) {
    if (!content.starts_with("cb ")) return std::nullopt;
    content.remove_prefix(3);
    std::uint64_t run = 0, sender = 0, seq = 0, ns = 0;
    if (!next_number(content, run) || !next_number(content, sender) || !next_number(content, seq) ||
        !next_number(content, ns)) {
        return std::nullopt;
    }
    return Payload{static_cast<std::uint32_t>(run), static_cast<std::uint32_t>(sender), seq, ns};
}

std::string_view json_string_field(std::string_view json, std::string_view key) {
    std::size_t pos = 0;
    for (;;) {
        pos = json.find(key, pos);
        if (pos == std::string_view::npos) return {};
        // "key":"
        if (pos > 0 && json[pos - 1] == '"' && pos + key.size() + 2 < json.size() &&
            json[pos + key.size()] == '"' && json[pos + key.size() + 1] == ':' &&
            json[pos + key.size() + 2] == '"') {
            const std::size_t start = pos + key.size() + 3;
            const std::size_t end = json.find('"', start);
            if (end == std::string_view::npos) return {};
            return json.substr(start, end - start);
        }
        pos += key.size();
    }
}

std::optional<std::int64_t> json_int_field(std::string_view json, std::string_view key) {
    const std::string needle = "\"" + std::string(key) + "\":";
    const auto pos = json.find(needle);
    if (pos == std::string_view::npos) return std::nullopt;
    const char* first = json.data() + pos + needle.size();
    std::int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(first, json.data() + json.size(), value);
    if (ec != std::errc{} || ptr == first) return std::nullopt;
    return value;
}

std::optional<Mix> parse_mix(std::string_view text) {
    std::uint64_t part[3] = {};
    for (int i = 0; i < 3; ++i) {
        if (i > 0) {
            if (text.empty() || text.front() != ',') return std::nullopt;
            text.remove_prefix(1);
        }
        const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), part[i]);
        if (ec != std::errc{} || ptr == text.data()) return std::nullopt;
        text.remove_prefix(static_cast<std::size_t>(ptr - text.data()));
    }
    if (!text.empty() || part[0] + part[1] + part[2] != 100) return std::nullopt;
    return Mix{static_cast<unsigned>(part[0]), static_cast<unsigned>(part[1]),
               static_cast<unsigned>(part[2])};
}

Action action_of(const Mix& mix, std::uint64_t seq) {
    // 37 is prime to 100: seq -> slot visits every slot once per 100 seqs, interleaved.
    const auto slot = static_cast<unsigned>((seq * 37) % 100);
    if (slot < mix.send) return Action::Send;
    if (slot < mix.send + mix.react) return Action::React;
    return Action::Edit;
}

std::string format_change_id(const Payload& p) {
    return std::to_string(p.run) + '-' + std::to_string(p.sender) + '-' +
           std::to_string(p.sent_ns) + '-' + std::to_string(p.seq);
}

std::optional<Payload> parse_change_id(std::string_view id) {
    std::uint64_t part[4] = {};
    for (int i = 0; i < 4; ++i) {
        if (i > 0) {
            if (id.empty() || id.front() != '-') return std::nullopt;
            id.remove_prefix(1);
        }
        const auto [ptr, ec] = std::from_chars(id.data(), id.data() + id.size(), part[i]);
        if (ec != std::errc{} || ptr == id.data()) return std::nullopt;
        id.remove_prefix(static_cast<std::size_t>(ptr - id.data()));
    }
    if (!id.empty()) return std::nullopt;
    return Payload{static_cast<std::uint32_t>(part[0]), static_cast<std::uint32_t>(part[1]),
                   part[3], part[2]};
}

void append_client_frame(std::string& out, std::uint8_t opcode, std::string_view payload) {
    out.push_back(static_cast<char>(0x80 | opcode));
    const std::size_t n = payload.size();
    if (n < 126) {
        out.push_back(static_cast<char>(0x80 | n));
    } else if (n < 65536) {
        out.push_back(static_cast<char>(0x80 | 126));
        out.push_back(static_cast<char>((n >> 8) & 0xff));
        out.push_back(static_cast<char>(n & 0xff));
    } else {
        out.push_back(static_cast<char>(0x80 | 127));
        for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    }
    out.append(4, '\0');  // masking key 0
    out.append(payload);
}

ParsedFrame parse_frame(std::string_view data) {
    ParsedFrame f;
    if (data.size() < 2) return f;
    const auto b0 = static_cast<unsigned char>(data[0]);
    const auto b1 = static_cast<unsigned char>(data[1]);
    f.fin = (b0 & 0x80) != 0;
    f.opcode = b0 & 0x0f;
    std::size_t len = b1 & 0x7f;
    std::size_t header = 2;
    if (len == 126) {
        if (data.size() < 4) return f;
        len = (static_cast<std::size_t>(static_cast<unsigned char>(data[2])) << 8) |
              static_cast<unsigned char>(data[3]);
        header = 4;
    } else if (len == 127) {
        if (data.size() < 10) return f;
        len = 0;
        for (int i = 0; i < 8; ++i) {
            len = (len << 8) | static_cast<unsigned char>(data[2 + static_cast<std::size_t>(i)]);
        }
        header = 10;
    }
    if (b1 & 0x80) header += 4;  // a masked frame (servers do not send them; skip the key)
    f.header = header;
    f.length = len;
    f.complete = data.size() >= header + len;
    return f;
}

ProcSample sample_process(int pid) {
    ProcSample s;
    if (pid <= 0) return s;
    const std::string base = "/proc/" + std::to_string(pid);
    std::ifstream stat(base + "/stat");
    std::string line;
    if (!std::getline(stat, line)) return s;
    // Fields after the command name, which is in parentheses and may hold spaces.
    const auto close = line.rfind(')');
    if (close == std::string::npos) return s;
    std::istringstream rest(line.substr(close + 2));
    std::vector<std::string> fields;
    for (std::string f; rest >> f;) fields.push_back(f);
    // fields[0] is field 3 (state); utime is field 14, stime 15, num_threads 20.
    if (fields.size() < 18) return s;
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    s.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) / tick;
    s.threads = std::stoull(fields[17]);
    std::ifstream status(base + "/status");
    while (std::getline(status, line)) {
        if (line.starts_with("VmRSS:")) {
            s.rss_kib = std::stoull(line.substr(6));
            break;
        }
    }
    s.ok = true;
    return s;
}

std::uint64_t sends_due(double elapsed_s, double rate, std::size_t senders, std::size_t sender) {
    if (rate <= 0 || senders == 0) return 0;
    const double first_due = static_cast<double>(sender) / rate;
    if (elapsed_s < first_due) return 0;
    const double per_sender = rate / static_cast<double>(senders);
    return static_cast<std::uint64_t>((elapsed_s - first_due) * per_sender) + 1;
}

}  // namespace chatd::bench
