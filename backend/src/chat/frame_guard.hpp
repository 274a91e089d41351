#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "chat/rate_limiter.hpp"

namespace chatd::chat {

// The limit on every frame a client sends on /ws (send, typing, ping, and frames that do not
// decode): a token bucket per connection and one per user, both of which a frame must pass.
// What a refused client is told is bounded too: within one notice interval (a second) the first
// refusal is answered with a `rate_limited` error and the others silently, and past `close_after`
// refusals within one interval the connection is closed (docs/protocol.md, "Limits").
// Thread-safe; time is passed in, so tests drive it.
class FrameGuard {
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::chrono::seconds kNoticeInterval{1};

    struct Limits {
        double connection_rate = 50;  // frames per second per connection, sustained
        double connection_burst = 200;
        double user_rate = 100;  // frames per second per user, all their connections
        double user_burst = 400;
        std::size_t close_after = 1000;  // refused frames in one interval; 0: never closes
    };

    enum class Verdict {
        Accept,
        RefuseAndTell,  // the first refusal of this interval: answer with an error frame
        Refuse,         // refused silently (the client was told this interval already)
        Close,          // the flood passed close_after: close the connection (once)
    };

    explicit FrameGuard(Limits limits)
        : limits_(limits), users_(limits.user_rate, limits.user_burst) {}

    Verdict check(std::uint64_t connection,
                  std::string_view user,
                  Clock::time_point now = Clock::now());
    // The connection is gone: drops its state.
    void forget(std::uint64_t connection);
    std::size_t tracked_connections();

  private:
    struct State {
        double tokens;
        Clock::time_point updated;
        Clock::time_point window_start;
        std::size_t refused = 0;  // within the window
        bool told = false;        // within the window
        bool closed = false;
    };
    Verdict refuse(State& state, Clock::time_point now);

    const Limits limits_;
    std::mutex mutex_;
    std::unordered_map<std::uint64_t, State> connections_;
    RateLimiter users_;
};

// At most one ephemeral event (a typing notice) per key (user and room) per interval: the
// others within it are dropped. A notice that went out is "open" until a stop (close) or a
// message (reset) ends it: a stop goes out only for an open notice, so there are never more
// stops than notices. Thread-safe; entries older than the interval (open ones: kStopWithin) are
// swept now and then, so memory follows the number of recently typing users.
class Coalescer {
  public:
    using Clock = std::chrono::steady_clock;
    // A stop later than this after the notice it would end is dropped: clients have stopped
    // showing that notice by then (the web client after 5 s).
    static constexpr std::chrono::seconds kStopWithin{10};

    explicit Coalescer(std::chrono::milliseconds interval) : interval_(interval) {}

    // True when the event may go out (none went out for this key within the interval).
    bool admit(std::string_view user, std::string_view room, Clock::time_point now = Clock::now());
    // True when a stop may go out: a notice went out for this key within kStopWithin and no stop
    // or reset followed it. It does not shorten the interval of the next notice.
    bool close(std::string_view user, std::string_view room, Clock::time_point now = Clock::now());
    // The next event for this key goes out at once (the user sent a message: a new typing
    // notice after it is news, as the web client assumes; it ended the notice, so no stop does).
    void reset(std::string_view user, std::string_view room);
    std::size_t tracked_keys();

  private:
    struct Entry {
        Clock::time_point last;  // the last notice that went out
        bool open = false;       // no stop has ended it
    };
    static std::string key(std::string_view user, std::string_view room);

    const std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::unordered_map<std::string, Entry> last_;
    std::size_t calls_since_sweep_ = 0;
};

}  // namespace chatd::chat
