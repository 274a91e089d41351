#include "chat/presence_relay.hpp"

namespace chatd::chat {

void PresenceRelay::relay(const model::Presence& event, const Deliver& deliver) {
    std::lock_guard lock(mutex_);
    const auto now = availability_(event.user_name);
    const auto it = told_.find(event.user_name);
    const auto before = it == told_.end() ? model::Availability::Offline : it->second;
    if (now == before) return;
    if (now == model::Availability::Offline) {
        told_.erase(it);
    } else {
        told_.insert_or_assign(event.user_name, now);
    }
    deliver(model::Presence{event.user_name, now != model::Availability::Offline,
                            now == model::Availability::Away});
}

}  // namespace chatd::chat
