#pragma once

// Pure helpers of chat-bench: the latency histogram, the delivery ledger, /proc sampling and
// the WebSocket frame codec a client needs. No sockets here, so they are unit-testable.

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatd::bench {

// Log-linear histogram (HDR-like): exact below 32, then 16 sub-buckets per power of two (about
// 6% precision). Values are microseconds. One thread records; any thread may read (relaxed).
class Histogram {
  public:
    static constexpr std::size_t kBuckets = 1024;

    static std::size_t bucket_of(std::uint64_t v) {
        if (v < 32) return static_cast<std::size_t>(v);
        const int msb = 63 - std::countl_zero(v);
        const int shift = msb - 4;
        return static_cast<std::size_t>(shift) * 16 + static_cast<std::size_t>(v >> shift);
    }
    // The smallest value of a bucket.
    static std::uint64_t lower_of(std::size_t bucket) {
        if (bucket < 32) return bucket;
        const std::size_t shift = bucket / 16 - 1;
        return static_cast<std::uint64_t>(bucket % 16 + 16) << shift;
    }

    void record(std::uint64_t v) {
        auto& c = counts_[bucket_of(v)];
        c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
        if (v > max_.load(std::memory_order_relaxed)) max_.store(v, std::memory_order_relaxed);
    }

    // A plain copy, for merging and percentiles.
    struct Snapshot {
        std::array<std::uint64_t, kBuckets> counts{};
        std::uint64_t max = 0;

        std::uint64_t total() const;
        void add(const Snapshot& other);
        Snapshot minus(const Snapshot& earlier) const;
        // The value at quantile q (0..1): the midpoint of its bucket, capped by max.
        double quantile(double q) const;
    };
    Snapshot snapshot() const;

  private:
    std::array<std::atomic<std::uint64_t>, kBuckets> counts_{};
    std::atomic<std::uint64_t> max_{0};
};

// Which sequence numbers of one sender a receiver has seen: tells new from duplicate.
class SeenSet {
  public:
    // Returns false when `seq` was seen before.
    bool insert(std::uint64_t seq) {
        const std::size_t word = seq / 64;
        if (word >= bits_.size()) bits_.resize(std::max(word + 1, bits_.size() * 2), 0);
        const std::uint64_t mask = std::uint64_t{1} << (seq % 64);
        if (bits_[word] & mask) return false;
        bits_[word] |= mask;
        return true;
    }

  private:
    std::vector<std::uint64_t> bits_;
};

// Fixed-rate pacing: `rate` messages/s in total, spread evenly over `senders`. The n-th message
// of the whole run (n = 0, 1, ...) is due at n / rate seconds, and sender `sender` sends messages
// sender, sender + senders, ... So senders take turns instead of all sending at the same instant
// (which turned a rate of 100/s from 4 senders into a burst of 4 every 40 ms). Returns how many
// messages sender `sender` should have sent `elapsed_s` seconds after the start.
std::uint64_t sends_due(double elapsed_s, double rate, std::size_t senders, std::size_t sender);

// The payload chat-bench sends: "cb RUN SENDER SEQ T_NS" (no JSON escapes needed).
struct Payload {
    std::uint32_t run = 0;
    std::uint32_t sender = 0;
    std::uint64_t seq = 0;
    std::uint64_t sent_ns = 0;
};
std::string format_payload(const Payload& p, std::size_t pad_to);
std::optional<Payload> parse_payload(std::string_view content);

// The string value of `"key":"..."` in a flat JSON text (no unescaping: chat-bench's own
// values need none). Empty when absent.
std::string_view json_string_field(std::string_view json, std::string_view key);
// The value of `"key":<integer>` in a flat JSON text; nullopt when absent or not an integer.
std::optional<std::int64_t> json_int_field(std::string_view json, std::string_view key);

// What a sender sends in a mix (chat-bench --mix): percentages of sends, reactions and edits.
enum class Action { Send, React, Edit };
struct Mix {
    unsigned send = 100, react = 0, edit = 0;
};
// "S,R,E" with S + R + E = 100; nullopt otherwise.
std::optional<Mix> parse_mix(std::string_view text);
// The action of a sender's seq-th frame: spread evenly over the seqs, so any window of 100
// frames holds the mix's percentages.
Action action_of(const Mix& mix, std::uint64_t seq);

// A change's client_msg_id carries what a payload carries, since its content cannot (a
// reaction's content is the emoji): "RUN-SENDER-T_NS-SEQ" (the seq last, as acks read it).
std::string format_change_id(const Payload& p);
std::optional<Payload> parse_change_id(std::string_view id);

// A WebSocket frame as a client writes it: masked (with a zero key, which leaves the payload
// as is and is as valid as any other key).
void append_client_frame(std::string& out, std::uint8_t opcode, std::string_view payload);

// One frame parsed from the front of `data` (server frames are unmasked).
struct ParsedFrame {
    bool complete = false;
    bool fin = true;
    std::uint8_t opcode = 0;
    std::size_t header = 0;  // bytes before the payload
    std::size_t length = 0;  // payload bytes
};
ParsedFrame parse_frame(std::string_view data);

// A process's resource use from /proc.
struct ProcSample {
    bool ok = false;
    std::uint64_t rss_kib = 0;
    double cpu_seconds = 0;  // user + system
    std::uint64_t threads = 0;
};
ProcSample sample_process(int pid);

}  // namespace chatd::bench
