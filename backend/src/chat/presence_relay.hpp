#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "model/message.hpp"

namespace chatd::chat {

// What this node's clients are told of a user's presence (docs/protocol.md "Away"). A presence
// event says what one node holds (the user's first connection there opened, the last closed,
// all of them went away, one came back); clients are told what the user is over every node
// (ChatService::availability), and only when that differs from what they were told last.
// Thread-safe: the look-up and the hand-off happen under one lock, so the last status handed on
// for a user is the user's latest.
class PresenceRelay {
  public:
    using Lookup = std::function<model::Availability(const std::string& user_name)>;
    using Deliver = std::function<void(const model::Presence&)>;

    explicit PresenceRelay(Lookup availability) : availability_(std::move(availability)) {}

    // Hands `deliver` the user's presence when it changed since the last one handed on.
    void relay(const model::Presence& event, const Deliver& deliver);

  private:
    Lookup availability_;
    std::mutex mutex_;
    // Users told online or away; absent: offline.
    std::unordered_map<std::string, model::Availability> told_;
};

}  // namespace chatd::chat
