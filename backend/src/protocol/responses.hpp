#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "chat/service.hpp"

namespace chatd::protocol {

// The JSON bodies of the HTTP API's answers (docs/protocol.md), each the complete text. Keys
// come in a fixed order, the one the brief's examples and the golden tests show.

// {"status": status}: /healthz, /readyz and the seed API's POST /send.
std::string status_body(std::string_view status);
// {"users": [...]}: the seed API's GET /users and GET /api/users/online.
std::string users_body(const std::vector<std::string>& users);
// {"error": {"code", "message"}}: every refusal.
std::string error_body(std::string_view code, std::string_view message);

// GET /api/config: {"auth", "version", "limits": {...}} (the limits a client can check before
// sending).
std::string config_body(const chat::ServiceOptions& options);
// POST /api/register and /api/login: {"user_name", "token", "expires_ms"}.
std::string session_body(const chat::Session& session);
// POST /api/logout-all: {"signed_out_sessions"}.
std::string signed_out_body(std::size_t sessions);
// GET /api/sessions: {"sessions": [{id, created_ms, last_used_ms, expires_ms, user_agent,
// address, current}]}, newest first.
std::string sessions_body(const std::vector<chat::SessionEntry>& sessions);
// GET /api/me: {"user_name", "rooms"}.
std::string profile_body(const chat::Profile& profile);
// GET /api/rooms: {"rooms": [{"name", "joined"}, ...]}.
std::string rooms_body(const std::vector<chat::RoomEntry>& rooms);
// POST /api/rooms, /join, /leave: {"name", "joined"}.
std::string room_body(const chat::RoomEntry& room);
// POST /api/dm/{user_name}: {"name"}.
std::string direct_body(std::string_view room);
// POST /api/rooms/{room}/read: the room's read state, as frames carry it.
std::string read_state_body(const model::ReadState& state);
// PUT /api/rooms/{room}/notify: {"room", "level"}.
std::string notify_level_body(const model::RoomNotifyLevel& setting);
// GET /api/read, POST /api/read/all: {"rooms": [read state...]}.
std::string read_states_body(const std::vector<model::ReadState>& states);
// GET /api/rooms/{room}/messages and .../messages/{id}/replies:
// {"messages": [message objects], "has_more", "as_of"}.
std::string history_body(const chat::HistoryPage& page);
// GET /api/rooms/{room}/members: {"members": [names], "has_more"}.
std::string members_body(const chat::MembersPage& page);
// GET /api/rooms/{room}/messages/{id}: {"message": message object, "as_of"}.
std::string message_body(const chat::FoundMessage& found);

}  // namespace chatd::protocol
