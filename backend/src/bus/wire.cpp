#include "bus/wire.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <optional>
#include <variant>

namespace chatd::bus {
namespace json = boost::json;
namespace {

json::object message_object(const model::Message& m) {
    json::object o{
        {"sent_at", m.sent_at},
        {"content", m.content},
        {"user_name", m.user_name},
        {"type", "message"},
        {"id", m.id},
        {"room", m.room},
        {"ts", m.ts_ms},
        {"client_msg_id", m.client_msg_id},
        {"kind", model::kind_name(m.kind)},
        {"prev_id", m.prev_id},
    };
    // The fields below only when they are not the default, so a plain message's body is what it
    // was before changes existed. The folded state is never set on a live row (it is read from
    // the store), but a message carrying it keeps it across the wire.
    if (m.target_id != 0) o["target_id"] = m.target_id;
    if (m.reply_to != 0) o["reply_to"] = m.reply_to;
    if (m.edited_ms != 0) o["edited_ts"] = m.edited_ms;
    if (m.deleted) o["deleted"] = true;
    if (!m.reactions.empty()) {
        json::array reactions;
        for (const auto& reaction : m.reactions) {
            json::array users;
            for (const auto& user : reaction.users) users.emplace_back(user);
            reactions.emplace_back(
                json::object{{"emoji", reaction.emoji}, {"users", std::move(users)}});
        }
        o["reactions"] = std::move(reactions);
    }
    if (m.reply_count != 0) o["reply_count"] = m.reply_count;
    if (m.last_reply_ms != 0) o["last_reply_ts"] = m.last_reply_ms;
    if (!m.mentions.empty()) {
        json::array names;
        for (const auto& name : m.mentions) names.emplace_back(name);
        o["mentions"] = std::move(names);
    }
    if (m.mentions_room) o["mentions_room"] = true;
    return o;
}

std::string str(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v || !v->is_string()) return {};
    return std::string(v->as_string());
}

std::int64_t num(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (!v) return 0;
    if (v->is_int64()) return v->as_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
    return 0;
}

bool boolean(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_bool() && v->as_bool();
}

std::vector<model::Reaction> reactions_from(const json::object& o) {
    std::vector<model::Reaction> reactions;
    const auto* list = o.if_contains("reactions");
    if (!list || !list->is_array()) return reactions;
    for (const auto& item : list->as_array()) {
        if (!item.is_object()) continue;
        model::Reaction reaction{str(item.as_object(), "emoji"), {}};
        if (const auto* users = item.as_object().if_contains("users"); users && users->is_array()) {
            for (const auto& user : users->as_array()) {
                if (user.is_string()) reaction.users.emplace_back(user.as_string());
            }
        }
        if (!reaction.emoji.empty() && !reaction.users.empty()) {
            reactions.push_back(std::move(reaction));
        }
    }
    return reactions;
}

// A message body, or why it is not one. Foreign bodies (the brief's format, without `id`) have
// no kind: their notices are recognised by content, and a change never comes from one.
std::variant<model::Message, std::string> message_from(const json::object& o) {
    model::Message m;
    m.id = num(o, "id");
    m.room = str(o, "room");
    if (m.room.empty()) m.room = std::string(model::kGeneralRoom);
    m.user_name = str(o, "user_name");
    m.content = str(o, "content");
    m.sent_at = str(o, "sent_at");
    m.ts_ms = num(o, "ts");
    m.client_msg_id = str(o, "client_msg_id");
    if (const auto* kind = o.if_contains("kind")) {
        const auto known = kind->is_string() ? model::kind_from_name(kind->as_string())
                                             : std::optional<model::MessageKind>{};
        if (!known) return std::string("unknown kind");
        m.kind = *known;
    } else {
        m.kind = model::kind_of_content(m.content);
    }
    m.prev_id = num(o, "prev_id");  // absent from foreign bodies: they get it when stored
    m.target_id = num(o, "target_id");
    m.reply_to = num(o, "reply_to");
    m.edited_ms = num(o, "edited_ts");
    m.deleted = boolean(o, "deleted");
    m.reactions = reactions_from(o);
    m.reply_count = num(o, "reply_count");
    m.last_reply_ms = num(o, "last_reply_ts");
    if (const auto* names = o.if_contains("mentions"); names && names->is_array()) {
        for (const auto& name : names->as_array()) {
            if (name.is_string()) m.mentions.emplace_back(name.as_string());
        }
    }
    m.mentions_room = boolean(o, "mentions_room");
    if (!o.contains("id")) {
        // Foreign (the brief's format): the receiver stores it as a new message of general,
        // so only content, user_name and sent_at count.
        m = model::Message{0,         m.room,  m.user_name,     m.content,
                           m.sent_at, m.ts_ms, m.client_msg_id, m.kind};
    }
    if (m.user_name.empty()) return std::string("no user_name");
    if (model::is_change(m.kind)) {
        // A change is only ever a stored row: an AMQP client cannot make one by publishing.
        if (m.id <= 0) return std::string("a change without id");
        if (m.target_id <= 0) return std::string("a change without target_id");
        // A delete's content is empty; every other change carries its content or emoji.
        if (m.content.empty() && m.kind != model::MessageKind::Delete) {
            return std::string("no content");
        }
    } else if (m.content.empty()) {
        return std::string("no content");
    }
    return m;
}

Wire invalid(std::string why) {
    Wire w;
    w.error = std::move(why);
    return w;
}

}  // namespace

std::string encode_event(const model::Event& event, std::string_view node) {
    json::object o = std::visit(
        model::Overloaded{
            [](const model::Message& m) { return message_object(m); },
            [](const model::Typing& t) {
                // A stop has its own type: a node that does not know it drops it rather than
                // showing the user as typing.
                return json::object{{"type", t.stopped ? "typing_stop" : "typing"},
                                    {"room", t.room},
                                    {"user_name", t.user_name}};
            },
            [](const model::Presence& p) {
                json::object presence{
                    {"type", "presence"}, {"user_name", p.user_name}, {"online", p.online}};
                // Only when set: a node that does not know it sees the user online, as before.
                if (p.online && p.away) presence["away"] = true;
                return presence;
            },
            [](const model::Membership& m) {
                return json::object{{"type", "membership"},
                                    {"room", m.room},
                                    {"user_name", m.user_name},
                                    {"joined", m.joined}};
            },
            [](const model::SessionsEnded& ended) {
                json::array sessions;
                for (const auto& session : ended.sessions) sessions.emplace_back(session);
                return json::object{{"type", "sessions_ended"},
                                    {"sessions", std::move(sessions)},
                                    {"reason", ended.reason}};
            },
            [](const model::ReadMoved& read) {
                return json::object{
                    {"type", "read_moved"},        {"user_name", read.user_name},
                    {"room", read.state.room},     {"last_read_id", read.state.last_read_id},
                    {"unread", read.state.unread}, {"unread_capped", read.state.unread_capped},
                    {"as_of", read.state.as_of},   {"mentions", read.state.mentions}};
            },
            [](const model::ProfileChanged& profile) {
                return json::object{{"type", "profile"},
                                    {"user_name", profile.user_name},
                                    {"display_name", profile.display_name}};
            },
            [](const model::NotifyChanged& changed) {
                return json::object{{"type", "notify_level"},
                                    {"user_name", changed.user_name},
                                    {"room", changed.setting.room},
                                    {"level", model::notify_level_name(changed.setting.level)}};
            },
        },
        event);
    o["node"] = node;
    return json::serialize(o);
}

std::string encode_heartbeat(std::string_view node,
                             const std::vector<std::string>& users,
                             const std::vector<std::string>& away) {
    json::array list;
    for (const auto& u : users) list.emplace_back(u);
    json::object o{{"type", "heartbeat"}, {"node", node}, {"users", std::move(list)}};
    if (!away.empty()) {
        json::array away_list;
        for (const auto& u : away) away_list.emplace_back(u);
        o["away"] = std::move(away_list);
    }
    return json::serialize(o);
}

std::string encode_forward(const model::Message& message,
                           std::string_view node,
                           std::string_view user) {
    return json::serialize(json::object{
        {"type", "forward"}, {"node", node}, {"user", user}, {"message", message_object(message)}});
}

Wire decode_wire(std::string_view body) {
    // The parsed tree lives only in this call: a stack arena instead of one malloc per node
    // (the bus thread decodes every delivery; bigger bodies spill over to the heap).
    unsigned char arena[2048];
    json::monotonic_resource resource(arena, sizeof arena);
    boost::system::error_code ec;
    auto value = json::parse(body, ec, &resource);
    if (ec || !value.is_object()) return invalid("not a JSON object");
    const auto& o = value.as_object();
    const auto type = str(o, "type");
    Wire w;
    w.node = str(o, "node");
    if (type == "message" || type.empty()) {
        auto m = message_from(o);
        if (auto* why = std::get_if<std::string>(&m)) return invalid(std::move(*why));
        w.kind = Wire::Kind::Event;
        w.event = std::make_shared<const model::Event>(std::get<model::Message>(std::move(m)));
    } else if (type == "typing" || type == "typing_stop") {
        w.kind = Wire::Kind::Event;
        w.event = std::make_shared<const model::Event>(
            model::Typing{str(o, "room"), str(o, "user_name"), type == "typing_stop"});
    } else if (type == "presence") {
        w.kind = Wire::Kind::Event;
        w.event = std::make_shared<const model::Event>(
            model::Presence{str(o, "user_name"), boolean(o, "online"), boolean(o, "away")});
    } else if (type == "membership") {
        w.kind = Wire::Kind::Event;
        w.event = std::make_shared<const model::Event>(
            model::Membership{str(o, "room"), str(o, "user_name"), boolean(o, "joined")});
    } else if (type == "sessions_ended") {
        model::SessionsEnded ended{{}, str(o, "reason")};
        if (const auto* sessions = o.if_contains("sessions"); sessions && sessions->is_array()) {
            for (const auto& session : sessions->as_array()) {
                if (session.is_string()) ended.sessions.emplace_back(session.as_string());
            }
        }
        w.kind = Wire::Kind::Event;
        w.event = std::make_shared<const model::Event>(std::move(ended));
    } else if (type == "read_moved") {
        w.kind = Wire::Kind::Event;
        w.event = std::make_shared<const model::Event>(model::ReadMoved{
            str(o, "user_name"),
            model::ReadState{str(o, "room"), num(o, "last_read_id"), num(o, "unread"),
                             boolean(o, "unread_capped"), num(o, "as_of"), num(o, "mentions")}});
    } else if (type == "profile") {
        w.kind = Wire::Kind::Event;
        w.event = std::make_shared<const model::Event>(
            model::ProfileChanged{str(o, "user_name"), str(o, "display_name")});
    } else if (type == "notify_level") {
        const auto level = model::parse_notify_level(str(o, "level"));
        if (!level) return invalid("notify_level: unknown level");
        w.kind = Wire::Kind::Event;
        w.event = std::make_shared<const model::Event>(
            model::NotifyChanged{str(o, "user_name"), {str(o, "room"), *level}});
    } else if (type == "heartbeat") {
        w.kind = Wire::Kind::Heartbeat;
        if (const auto* users = o.if_contains("users"); users && users->is_array()) {
            for (const auto& u : users->as_array()) {
                if (u.is_string()) w.users.emplace_back(u.as_string());
            }
        }
        if (const auto* away = o.if_contains("away"); away && away->is_array()) {
            for (const auto& u : away->as_array()) {
                if (u.is_string()) w.away.emplace_back(u.as_string());
            }
        }
    } else if (type == "forward") {
        const auto* inner = o.if_contains("message");
        if (!inner || !inner->is_object()) return invalid("forward without message");
        auto m = message_from(inner->as_object());
        if (auto* why = std::get_if<std::string>(&m)) return invalid("forward: " + *why);
        w.kind = Wire::Kind::Forward;
        w.user = str(o, "user");
        w.event = std::make_shared<const model::Event>(std::get<model::Message>(std::move(m)));
    } else {
        return invalid("unknown type");
    }
    return w;
}

std::string foreign_key(const model::Message& message) {
    std::uint64_t hash = 14695981039346656037ull;
    const auto mix = [&hash](std::string_view s) {
        for (const unsigned char c : s) {
            hash ^= c;
            hash *= 1099511628211ull;
        }
        hash ^= 0xff;  // separator: ("ab","c") and ("a","bc") differ
        hash *= 1099511628211ull;
    };
    mix(message.user_name);
    mix(message.content);
    mix(message.sent_at);
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "amqp-%016llx", static_cast<unsigned long long>(hash));
    return buffer;
}

}  // namespace chatd::bus
