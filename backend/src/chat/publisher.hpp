#pragma once

#include <string_view>

#include "model/message.hpp"

namespace chatd::chat {

// Carries each stored message to its recipients on every node: the one way out of the store
// for a message. One implementation per deployment shape (delivery/), chosen in app/.
class Publisher {
  public:
    virtual ~Publisher() = default;
    // Called by the store's writer after the message's commit, in id order. Never waits for a
    // broker; may wait for room in a bounded queue (back-pressure on the writer).
    virtual void publish(model::Message stored) = 0;
    // Stamped on every stored message as its origin node: the key of this node's publication
    // outbox in the store, or empty when messages need no outbox (one process).
    virtual std::string_view outbox_origin() const = 0;
};

}  // namespace chatd::chat
