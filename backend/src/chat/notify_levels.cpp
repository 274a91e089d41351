#include "chat/notify_levels.hpp"

#include <algorithm>

#include "chat/validation.hpp"
#include "store/store.hpp"

namespace chatd::chat {

NotifyLevels::NotifyLevels(
    store::Store& store,
    std::function<void(const std::string& user, std::string_view room)> require_member,
    std::function<void(model::Event)> publish)
    : store_(store), require_member_(std::move(require_member)), publish_(std::move(publish)) {}

model::NotifyLevel NotifyLevels::default_for(std::string_view room) {
    return is_direct_room(room) ? model::NotifyLevel::All : model::NotifyLevel::Mentions;
}

model::RoomNotifyLevel NotifyLevels::set(const std::string& user_name,
                                         std::string_view room,
                                         model::NotifyLevel level) {
    require_member_(user_name, room);
    const bool is_default = level == default_for(room);
    store_.set_notify_level(user_name, room,
                            is_default ? std::nullopt : std::optional<model::NotifyLevel>(level));
    model::RoomNotifyLevel setting{std::string(room), level};
    publish_(model::NotifyChanged{user_name, setting});
    return setting;
}

std::vector<model::RoomNotifyLevel> NotifyLevels::chosen(
    const std::string& user_name, const std::vector<std::string>& rooms) const {
    auto levels = store_.notify_levels(user_name);
    // A row of a room the user no longer reads (general is never left; others delete theirs
    // on leaving) or one equal to the default is left out.
    std::erase_if(levels, [&rooms](const model::RoomNotifyLevel& setting) {
        return setting.level == default_for(setting.room) ||
               std::find(rooms.begin(), rooms.end(), setting.room) == rooms.end();
    });
    return levels;
}

}  // namespace chatd::chat
