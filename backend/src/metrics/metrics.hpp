#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace chatd::metrics {

// Why a request or frame was refused; one `chat_limit_hits_total{kind}` series each.
enum class Limit {
    FrameSize,
    MessageLength,
    Rate,
    ConnectionsPerAddress,
    InvalidJson,
    UnknownType,
    InvalidUtf8,
    InvalidName,
    InvalidRoom,
    InvalidSentAt,  // a seed POST /send whose sent_at chat::valid_sent_at refuses
    BodySize,
    HeaderSize,
    OutboxOverflow,
    Unauthorized,
    Forbidden,
    NotFound,
    Conflict,
    BadRequest,
    LoginRate,
    Connections,      // the process-wide connection cap (--max-connections)
    RequestTimeout,   // an HTTP request not received within --http-request-timeout (slowloris)
    WsProtocol,       // a WebSocket protocol violation (reserved bits, bad opcode, ...): close 1002
    PingTimeout,      // a WebSocket peer silent for a ping interval after a ping: dropped
    FrameRate,        // a /ws client frame over its connection's or user's frame rate: refused
    FrameFlood,       // refused frames past --frame-flood-close within a second: close 1008
    TypingCoalesced,  // a typing notice within --typing-interval-ms of the last one: dropped
    EphemeralDropped,   // a typing or presence frame not queued to a backed-up connection
    ClientMsgIdReused,  // a send whose client_msg_id names the user's message in another room
    QueuedBytes,     // every byte queued for a connection (frames, pongs) past --outbox-max-bytes
    WriteStalled,    // a write to a WebSocket that made no progress for a ping interval
    ChunkedFraming,  // a chunk-size line or trailer section past the HTTP read buffer bound
    Sessions,        // a user's oldest session dropped past --max-sessions-per-user
    RegisterRate,    // a registration refused past --register-max-per-address
    // Room events refused, by reason: a change or reply naming no Text message of the room, or
    // a deleted one; a change of another user's message; an edit or delete past
    // --edit-window-seconds; a new emoji past --max-reactions-per-message; a reaction that is
    // not one emoji; a send or edit with blank content.
    MessageNotFound,
    MessageDeleted,
    NotAuthor,
    EditWindowClosed,
    TooManyReactions,
    InvalidReaction,
    EmptyMessage,
    WebCache,  // a web client file read from disk for one request: past --web-cache-bytes
    // Read state: a read mark above the room's newest id (refused); an unread count that
    // stopped at --max-unread-count.
    ReadMarkBeyondNewest,
    UnreadCapped,
    RoomMention,  // `@room` in a room with more than --max-room-mention-members members
    Csrf,         // a state-changing request signed in by cookie without the CSRF header or Origin
    WsOrigin,     // a WebSocket upgrade signed in by cookie from an origin not accepted
    // People: a directory page past --max-people-page; a display name past
    // --max-display-name-length, or holding a character names may not hold.
    PeoplePage,
    DisplayNameLength,
    InvalidDisplayName,
    LastSeenCoalesced,   // a user's last-seen time replaced within one --last-seen-interval-ms
    MembersPage,         // a members page asked for more names than --max-members-page
    GroupDmMembers,      // a group conversation asked for more people than --max-group-dm-members
    InvalidNotifyLevel,  // a notification level other than all, mentions, muted
    kCount
};

std::string_view to_string(Limit limit);

// Every instrument chatd exports, built once; pass by reference. Label values are fixed
// enums or route patterns: never users, rooms or raw paths.
class Metrics {
    // Declared first: every instrument below is registered in it during construction.
    std::shared_ptr<prometheus::Registry> registry_;

  public:
    explicit Metrics(std::string_view version);

    prometheus::Gauge& ws_connections;
    prometheus::Gauge& users_online;
    prometheus::Gauge& users_away;
    prometheus::Counter& ws_connections_accepted;
    prometheus::Counter& ws_frames_received;
    prometheus::Counter& ws_frames_sent;
    prometheus::Counter& ws_bytes_sent;
    prometheus::Counter& messages_received;  // sends accepted for storage
    prometheus::Counter& messages_stored;
    prometheus::Counter& messages_duplicate;  // retried sends answered from the store
    prometheus::Counter& messages_delivered;  // frames queued to recipients' outboxes
    prometheus::Counter& slow_consumer_disconnects;
    prometheus::Counter& store_errors;
    prometheus::Counter& store_callback_failures;  // append callbacks that threw (logged)
    prometheus::Counter& handler_exceptions;       // exceptions caught from I/O handlers
    prometheus::Histogram& delivery_seconds;       // receive -> queued at recipient outbox
    prometheus::Histogram& store_commit_seconds;   // one group commit
    prometheus::Histogram& store_batch_size;       // messages per group commit
    prometheus::Histogram& outbox_frames;          // outbox depth seen by each write batch
    // RabbitMQ bus (zero / absent meaning with the in-process bus).
    prometheus::Gauge& broker_connected;           // 1 while connected to RabbitMQ
    prometheus::Counter& broker_publish_failures;  // publishes not confirmed (nack, loss, full)
    prometheus::Histogram& broker_publish_confirm_seconds;  // publish -> broker confirm
    prometheus::Gauge& broker_outbox_pending;      // stored messages waiting to be (re)published
    prometheus::Counter& broker_reconnects;        // successful (re)connections
    prometheus::Counter& broker_foreign_messages;  // brief-format messages from other publishers
    prometheus::Gauge& web_cache_bytes;  // web client files held in memory, variants included
    // Read state: marks that moved (stored), marks refused (not a member, no such room, an id
    // above the room's newest).
    prometheus::Counter& read_marks_stored;
    prometheus::Counter& read_marks_refused;

    void limit_hit(Limit limit);
    // Counts one HTTP response; `route` is the route pattern ("/api/rooms/{room}/messages").
    void http_response(std::string_view route, unsigned status);

    // Prometheus text exposition of everything above.
    std::string serialize() const;

  private:
    prometheus::Family<prometheus::Counter>& limit_hits_;
    prometheus::Family<prometheus::Counter>& http_responses_;
    std::array<prometheus::Counter*, static_cast<std::size_t>(Limit::kCount)> limit_counters_{};
    std::mutex http_mutex_;
    std::map<std::pair<std::string, unsigned>, prometheus::Counter*, std::less<>> http_counters_;
};

}  // namespace chatd::metrics
