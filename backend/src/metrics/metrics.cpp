#include "metrics/metrics.hpp"

#include <prometheus/text_serializer.h>

namespace chatd::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

prometheus::Counter& counter(prometheus::Registry& registry,
                             const std::string& name,
                             const std::string& help) {
    return BuildCounter().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Gauge& gauge(prometheus::Registry& registry,
                         const std::string& name,
                         const std::string& help) {
    return BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Histogram& histogram(prometheus::Registry& registry,
                                 const std::string& name,
                                 const std::string& help,
                                 Histogram::BucketBoundaries buckets) {
    return BuildHistogram().Name(name).Help(help).Register(registry).Add({}, std::move(buckets));
}

Histogram::BucketBoundaries latency_buckets() {
    return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
            0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};
}

}  // namespace

std::string_view to_string(Limit limit) {
    switch (limit) {
        case Limit::FrameSize:
            return "frame_size";
        case Limit::MessageLength:
            return "message_length";
        case Limit::Rate:
            return "rate";
        case Limit::ConnectionsPerAddress:
            return "connections_per_address";
        case Limit::InvalidJson:
            return "invalid_json";
        case Limit::UnknownType:
            return "unknown_type";
        case Limit::InvalidUtf8:
            return "invalid_utf8";
        case Limit::InvalidName:
            return "invalid_name";
        case Limit::InvalidRoom:
            return "invalid_room";
        case Limit::InvalidSentAt:
            return "invalid_sent_at";
        case Limit::BodySize:
            return "body_size";
        case Limit::HeaderSize:
            return "header_size";
        case Limit::OutboxOverflow:
            return "outbox_overflow";
        case Limit::Unauthorized:
            return "unauthorized";
        case Limit::Forbidden:
            return "forbidden";
        case Limit::NotFound:
            return "not_found";
        case Limit::Conflict:
            return "conflict";
        case Limit::BadRequest:
            return "bad_request";
        case Limit::LoginRate:
            return "login_rate";
        case Limit::Connections:
            return "connections";
        case Limit::RequestTimeout:
            return "request_timeout";
        case Limit::WsProtocol:
            return "ws_protocol";
        case Limit::PingTimeout:
            return "ping_timeout";
        case Limit::FrameRate:
            return "frame_rate";
        case Limit::FrameFlood:
            return "frame_flood";
        case Limit::TypingCoalesced:
            return "typing_coalesced";
        case Limit::EphemeralDropped:
            return "ephemeral_dropped";
        case Limit::ClientMsgIdReused:
            return "client_msg_id_reused";
        case Limit::QueuedBytes:
            return "queued_bytes";
        case Limit::WriteStalled:
            return "write_stalled";
        case Limit::ChunkedFraming:
            return "chunked_framing";
        case Limit::Sessions:
            return "sessions";
        case Limit::RegisterRate:
            return "register_rate";
        case Limit::MessageNotFound:
            return "message_not_found";
        case Limit::MessageDeleted:
            return "message_deleted";
        case Limit::NotAuthor:
            return "not_author";
        case Limit::EditWindowClosed:
            return "edit_window_closed";
        case Limit::TooManyReactions:
            return "too_many_reactions";
        case Limit::InvalidReaction:
            return "invalid_reaction";
        case Limit::EmptyMessage:
            return "empty_message";
        case Limit::WebCache:
            return "web_cache";
        case Limit::ReadMarkBeyondNewest:
            return "read_mark_beyond_newest";
        case Limit::UnreadCapped:
            return "unread_capped";
        case Limit::RoomMention:
            return "room_mention";
        case Limit::Csrf:
            return "csrf";
        case Limit::WsOrigin:
            return "ws_origin";
        case Limit::PeoplePage:
            return "people_page";
        case Limit::DisplayNameLength:
            return "display_name_length";
        case Limit::InvalidDisplayName:
            return "invalid_display_name";
        case Limit::InvalidNotifyLevel:
            return "invalid_notify_level";
        case Limit::LastSeenCoalesced:
            return "last_seen_coalesced";
        case Limit::MembersPage:
            return "members_page";
        case Limit::GroupDmMembers:
            return "group_dm_members";
        case Limit::kCount:
            break;
    }
    return "unknown";
}

Metrics::Metrics(std::string_view version)
    : registry_(std::make_shared<prometheus::Registry>()),
      ws_connections(gauge(*registry_, "chat_ws_connections", "Open WebSocket connections")),
      users_online(gauge(*registry_, "chat_users_online", "Users with at least one connection")),
      users_away(gauge(*registry_,
                       "chat_users_away",
                       "Users online on this node whose connections here are all away")),
      ws_connections_accepted(
          counter(*registry_, "chat_ws_connections_accepted_total", "WebSocket upgrades accepted")),
      ws_frames_received(counter(
          *registry_, "chat_ws_frames_received_total", "WebSocket frames read from clients")),
      ws_frames_sent(
          counter(*registry_, "chat_ws_frames_sent_total", "WebSocket frames written to clients")),
      ws_bytes_sent(counter(
          *registry_, "chat_ws_sent_bytes_total", "Payload bytes written to WebSocket clients")),
      messages_received(counter(*registry_,
                                "chat_messages_received_total",
                                "Messages accepted from clients for storage")),
      messages_stored(counter(*registry_, "chat_messages_stored_total", "Messages durably stored")),
      messages_duplicate(counter(*registry_,
                                 "chat_messages_duplicate_total",
                                 "Retried sends answered with the already stored message")),
      messages_delivered(counter(
          *registry_, "chat_messages_delivered_total", "Message frames queued to recipients")),
      slow_consumer_disconnects(counter(*registry_,
                                        "chat_ws_slow_consumer_disconnects_total",
                                        "Connections closed because their outbox overflowed")),
      store_errors(counter(*registry_, "chat_store_errors_total", "Failed store operations")),
      store_callback_failures(counter(*registry_,
                                      "chat_store_callback_failures_total",
                                      "Append callbacks that threw (logged; the writer goes on)")),
      handler_exceptions(
          counter(*registry_,
                  "chat_handler_exceptions_total",
                  "Exceptions caught from I/O handlers (the connection is dropped)")),
      delivery_seconds(histogram(*registry_,
                                 "chat_message_delivery_seconds",
                                 "From receiving a message to queueing it for a recipient",
                                 latency_buckets())),
      store_commit_seconds(histogram(*registry_,
                                     "chat_store_commit_seconds",
                                     "Duration of one group commit",
                                     latency_buckets())),
      store_batch_size(histogram(*registry_,
                                 "chat_store_commit_batch_messages",
                                 "Messages per group commit",
                                 {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024})),
      outbox_frames(histogram(*registry_,
                              "chat_ws_outbox_frames",
                              "Frames waiting in an outbox when its writer wakes",
                              {1, 2, 4, 8, 16, 64, 256, 1024, 4096})),
      broker_connected(
          gauge(*registry_, "chat_broker_connected", "1 while connected to RabbitMQ, else 0")),
      broker_publish_failures(counter(*registry_,
                                      "chat_broker_publish_failures_total",
                                      "Publishes to RabbitMQ not confirmed (nack, lost "
                                      "connection, full queue); the store outbox retries them")),
      broker_publish_confirm_seconds(histogram(*registry_,
                                               "chat_broker_publish_confirm_seconds",
                                               "From publish to the broker's confirm",
                                               latency_buckets())),
      broker_outbox_pending(gauge(*registry_,
                                  "chat_broker_outbox_pending",
                                  "Stored messages of this node waiting to be (re)published")),
      broker_reconnects(
          counter(*registry_, "chat_broker_connects_total", "Successful connections to RabbitMQ")),
      broker_foreign_messages(counter(*registry_,
                                      "chat_broker_foreign_messages_total",
                                      "Brief-format messages from other AMQP publishers stored")),
      web_cache_bytes(gauge(*registry_,
                            "chat_web_cache_bytes",
                            "Bytes of web client files held in memory (precompressed variants "
                            "included)")),
      read_marks_stored(counter(
          *registry_, "chat_read_marks_stored_total", "Read marks moved forward and stored")),
      read_marks_refused(counter(*registry_,
                                 "chat_read_marks_refused_total",
                                 "Read marks refused: not a member, no such room, or an id above "
                                 "the room's newest")),
      limit_hits_(BuildCounter()
                      .Name("chat_limit_hits_total")
                      .Help("Requests or frames refused, by limit or error kind")
                      .Register(*registry_)),
      http_responses_(BuildCounter()
                          .Name("chat_http_responses_total")
                          .Help("HTTP responses by route pattern and status code")
                          .Register(*registry_)) {
    for (std::size_t i = 0; i < limit_counters_.size(); ++i) {
        limit_counters_[i] =
            &limit_hits_.Add({{"kind", std::string(to_string(static_cast<Limit>(i)))}});
    }
    BuildGauge()
        .Name("chat_build_info")
        .Help("Build version of the running chatd")
        .Register(*registry_)
        .Add({{"version", std::string(version)}})
        .Set(1);
}

void Metrics::limit_hit(Limit limit) {
    limit_counters_[static_cast<std::size_t>(limit)]->Increment();
}

void Metrics::http_response(std::string_view route, unsigned status) {
    std::lock_guard lock(http_mutex_);
    auto key = std::pair<std::string, unsigned>(route, status);
    auto it = http_counters_.find(key);
    if (it == http_counters_.end()) {
        auto& child =
            http_responses_.Add({{"route", std::string(route)}, {"code", std::to_string(status)}});
        it = http_counters_.emplace(std::move(key), &child).first;
    }
    it->second->Increment();
}

std::string Metrics::serialize() const {
    return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace chatd::metrics
