#pragma once

#include <functional>
#include <string>

#include "model/message.hpp"

namespace chatd::bus {

// Carries events from the node that produced them to every node that has a recipient,
// this one included. Implementations: LocalBus (in-process), AmqpBus (RabbitMQ, issue 3).
class Bus {
  public:
    using Handler = std::function<void(const model::EventPtr&)>;

    virtual ~Bus() = default;

    // Sets where delivered events go; call once before the first publish.
    virtual void start(Handler on_event) = 0;
    // Never blocks; thread-safe. Delivery to the handler may happen before this returns.
    virtual void publish(model::EventPtr event) = 0;
    // A user got their first / lost their last connection on this node; the per-user RabbitMQ
    // topology consumes the user's queue in between.
    virtual void user_online(const std::string& user_name) = 0;
    virtual void user_offline(const std::string& user_name) = 0;
    // False while the bus cannot publish (feeds /readyz).
    virtual bool ready() const = 0;
    // Delivers or drops nothing after it returns.
    virtual void stop() = 0;
};

}  // namespace chatd::bus
