#pragma once

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
};

}  // namespace chatd::chat
