#include "bus/wire.hpp"

#include <boost/json.hpp>
#include <cstdio>

namespace chatd::bus {
namespace json = boost::json;
namespace {

model::MessageKind kind_from(std::string_view name, std::string_view content) {
    // Foreign bodies (the brief's format) have no kind: their notices are recognised by content.
    return model::kind_from_name(name).value_or(model::kind_of_content(content));
}

json::object message_object(const model::Message& m) {
    return json::object{
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

model::Message message_from(const json::object& o) {
    model::Message m;
    m.id = num(o, "id");
    m.room = str(o, "room");
    if (m.room.empty()) m.room = std::string(model::kGeneralRoom);
    m.user_name = str(o, "user_name");
    m.content = str(o, "content");
    m.sent_at = str(o, "sent_at");
    m.ts_ms = num(o, "ts");
    m.client_msg_id = str(o, "client_msg_id");
    m.kind = kind_from(str(o, "kind"), m.content);
    m.prev_id = num(o, "prev_id");  // absent from foreign bodies: they get it when stored
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
                return json::object{
                    {"type", "typing"}, {"room", t.room}, {"user_name", t.user_name}};
            },
            [](const model::Presence& p) {
                return json::object{
                    {"type", "presence"}, {"user_name", p.user_name}, {"online", p.online}};
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
        },
        event);
    o["node"] = node;
    return json::serialize(o);
}

std::string encode_heartbeat(std::string_view node, const std::vector<std::string>& users) {
    json::array list;
    for (const auto& u : users) list.emplace_back(u);
    return json::serialize(
        json::object{{"type", "heartbeat"}, {"node", node}, {"users", std::move(list)}});
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
        if (m.user_name.empty() || m.content.empty()) return invalid("no user_name or content");
        if (!o.contains("id")) m.id = 0;  // foreign: the receiver stores it
        w.kind = Wire::Kind::Event;
        w.event = std::make_shared<const model::Event>(std::move(m));
    } else if (type == "typing") {
        w.kind = Wire::Kind::Event;
        w.event = std::make_shared<const model::Event>(
            model::Typing{str(o, "room"), str(o, "user_name")});
    } else if (type == "presence") {
        w.kind = Wire::Kind::Event;
        w.event = std::make_shared<const model::Event>(
            model::Presence{str(o, "user_name"), boolean(o, "online")});
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
    } else if (type == "heartbeat") {
        w.kind = Wire::Kind::Heartbeat;
        if (const auto* users = o.if_contains("users"); users && users->is_array()) {
            for (const auto& u : users->as_array()) {
                if (u.is_string()) w.users.emplace_back(u.as_string());
            }
        }
    } else if (type == "forward") {
        const auto* inner = o.if_contains("message");
        if (!inner || !inner->is_object()) return invalid("forward without message");
        w.kind = Wire::Kind::Forward;
        w.user = str(o, "user");
        w.event = std::make_shared<const model::Event>(message_from(inner->as_object()));
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
