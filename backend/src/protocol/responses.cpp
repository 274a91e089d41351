#include "protocol/responses.hpp"

#include <boost/json.hpp>
#include <chrono>

#include "chat/codec.hpp"

namespace chatd::protocol {
namespace {

namespace json = boost::json;

json::array to_array(const std::vector<std::string>& items) {
    json::array out;
    for (const auto& item : items) out.emplace_back(item);
    return out;
}

}  // namespace

std::string status_body(std::string_view status) {
    return json::serialize(json::object{{"status", status}});
}

std::string users_body(const std::vector<std::string>& users) {
    return json::serialize(json::object{{"users", to_array(users)}});
}

std::string members_body(const chat::MembersPage& page) {
    return json::serialize(
        json::object{{"members", to_array(page.members)}, {"has_more", page.has_more}});
}

std::string error_body(std::string_view code, std::string_view message) {
    return json::serialize(
        json::object{{"error", json::object{{"code", code}, {"message", message}}}});
}

std::string config_body(const chat::ServiceOptions& options) {
    return json::serialize(json::object{
        {"auth", options.open_auth ? "open" : "password"},
        {"version", options.version},
        {"limits",
         json::object{
             {"max_message_length", options.max_message_length},
             {"max_frame_bytes", options.max_frame_bytes},
             {"rate_per_second", options.rate_per_second},
             {"rate_burst", options.rate_burst},
             {"edit_window_seconds",
              std::chrono::duration_cast<std::chrono::seconds>(options.edit_window).count()},
             {"max_reactions_per_message", options.max_reactions_per_message},
             {"max_room_mention_members", options.max_room_mention_members},
             {"max_members_page", options.max_members_page},
             {"max_group_dm_members", options.max_group_dm_members},
         }},
    });
}

std::string session_body(const chat::Session& session) {
    return json::serialize(json::object{{"user_name", session.user_name},
                                        {"token", session.token},
                                        {"expires_ms", session.expires_ms}});
}

std::string signed_out_body(std::size_t sessions) {
    return json::serialize(json::object{{"signed_out_sessions", sessions}});
}

std::string sessions_body(const std::vector<chat::SessionEntry>& sessions) {
    json::array list;
    for (const auto& s : sessions) {
        list.push_back(json::object{{"id", s.id},
                                    {"created_ms", s.created_ms},
                                    {"last_used_ms", s.last_used_ms},
                                    {"expires_ms", s.expires_ms},
                                    {"user_agent", s.user_agent},
                                    {"address", s.address},
                                    {"current", s.current}});
    }
    return json::serialize(json::object{{"sessions", std::move(list)}});
}

std::string profile_body(const chat::Profile& profile) {
    return json::serialize(
        json::object{{"user_name", profile.user_name}, {"rooms", to_array(profile.rooms)}});
}

std::string rooms_body(const std::vector<chat::RoomEntry>& rooms) {
    json::array items;
    for (const auto& room : rooms) {
        items.emplace_back(json::object{{"name", room.name}, {"joined", room.joined}});
    }
    return json::serialize(json::object{{"rooms", std::move(items)}});
}

std::string room_body(const chat::RoomEntry& room) {
    return json::serialize(json::object{{"name", room.name}, {"joined", room.joined}});
}

std::string direct_body(std::string_view room) {
    return json::serialize(json::object{{"name", room}});
}

std::string history_body(const chat::HistoryPage& page) {
    // Each message object is serialized once, as a `message` frame carries it.
    std::string body = "{\"messages\":[";
    for (std::size_t i = 0; i < page.messages.size(); ++i) {
        if (i > 0) body += ',';
        body += chat::message_json(page.messages[i]);
    }
    body += page.has_more ? "],\"has_more\":true" : "],\"has_more\":false";
    body += ",\"as_of\":" + std::to_string(page.as_of) + "}";
    return body;
}

std::string read_state_body(const model::ReadState& state) {
    return chat::read_state_json(state);
}

std::string notify_level_body(const model::RoomNotifyLevel& setting) {
    return chat::notify_level_json(setting);
}

std::string read_states_body(const std::vector<model::ReadState>& states) {
    std::string body = "{\"rooms\":[";
    for (std::size_t i = 0; i < states.size(); ++i) {
        if (i > 0) body += ',';
        body += chat::read_state_json(states[i]);
    }
    return body + "]}";
}

std::string message_body(const chat::FoundMessage& found) {
    return "{\"message\":" + chat::message_json(found.message) +
           ",\"as_of\":" + std::to_string(found.as_of) + "}";
}

}  // namespace chatd::protocol
