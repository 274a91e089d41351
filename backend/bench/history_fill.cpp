// chatd-history-fill: fills a store (a --db URL, SQLite or PostgreSQL) with one room of
// N messages and the changes a lived-in room has, for the history-page benchmark
// (scripts/bench history; docs/benchmarks.md "History pages"). Per chunk of 10,000 messages
// from 100 users: every 10th message gets reactions (1 to 3 emoji from 1 to 3 users), every
// 20th message is a reply to a message of the chunk, every 50th is edited and every 200th
// deleted. Everything goes through Store::append, the server's own write path, with its rules
// and folded state, so the pages chatd then serves are the ones users would get.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "model/clock.hpp"
#include "store/open_store.hpp"

namespace {

using namespace chatd;

constexpr std::size_t kChunk = 10000;
constexpr int kUsers = 100;

std::string user(std::size_t i) {
    return fmt::format("hf{}", i % kUsers);
}

struct Filler {
    store::Store& store;
    std::string room;
    std::int64_t ts = model::now_ms();
    std::size_t appended = 0;
    std::size_t refused = 0;
    std::size_t next_key = 0;

    // Queues one append; `stored` (when given) receives the id in commit order.
    void append(store::NewMessage message, std::vector<model::MessageId>* stored = nullptr) {
        message.room = room;
        message.sent_at = "01/01/2027 00:00:00";
        message.ts_ms = ++ts;
        message.client_msg_id = fmt::format("hf-{}", next_key++);
        ++appended;
        store.append(std::move(message), [this, stored](store::AppendResult result) {
            if (!result.ok) {
                ++refused;
                return;
            }
            if (stored) stored->push_back(result.message.id);
        });
    }

    void chunk(std::size_t first) {
        std::vector<model::MessageId> ids;
        ids.reserve(kChunk);
        for (std::size_t i = 0; i < kChunk; ++i) {
            store::NewMessage m;
            m.user_name = user(first + i);
            m.content =
                fmt::format("message {} of the history benchmark, some words of text", first + i);
            append(std::move(m), &ids);
        }
        store.flush();  // the chunk's ids are known from here on
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const auto target = ids[i];
            const auto author = user(first + i);
            if (i % 10 == 0) {
                static constexpr const char* kEmoji[] = {"\U0001F44D", "\U0001F389", "\U0001F440"};
                for (std::size_t r = 0; r <= i % 3; ++r) {
                    store::NewMessage react;
                    react.kind = model::MessageKind::React;
                    react.user_name = user(first + i + r + 1);
                    react.content = kEmoji[(i / 10 + r) % 3];
                    react.target_id = target;
                    append(std::move(react));
                }
            }
            if (i % 20 == 5) {
                store::NewMessage reply;
                reply.user_name = user(first + i + 7);
                reply.content = fmt::format("a reply to message {}", first + i - 5);
                reply.reply_to = ids[i - 5];
                append(std::move(reply));
            }
            if (i % 50 == 1) {
                store::NewMessage edit;
                edit.kind = model::MessageKind::Edit;
                edit.user_name = author;
                edit.content =
                    fmt::format("message {} of the history benchmark, edited", first + i);
                edit.target_id = target;
                append(std::move(edit));
            }
            if (i % 200 == 3) {
                store::NewMessage gone;
                gone.kind = model::MessageKind::Delete;
                gone.user_name = author;
                gone.target_id = target;
                append(std::move(gone));
            }
        }
        store.flush();
    }
};

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"chatd-history-fill: one room of N messages with reactions, replies, edits"};
    std::string db;
    std::string room = "history";
    std::size_t messages = 1000000;
    app.add_option("--db", db, "Store URL (sqlite:PATH or postgresql://...)")->required();
    app.add_option("--room", room, "Room to fill (created)")->capture_default_str();
    app.add_option("--messages", messages, "Messages (rounded up to 10,000)")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    store::StoreTuning tuning;
    tuning.sqlite_synchronous_full = false;
    auto store = store::open_store(db, tuning, nullptr);
    store->create_room({room, false, "hf0", model::now_ms()});
    for (int u = 0; u < kUsers; ++u) store->add_member(room, user(static_cast<std::size_t>(u)));

    const auto start = std::chrono::steady_clock::now();
    Filler filler{*store, room};
    for (std::size_t first = 0; first < messages; first += kChunk) filler.chunk(first);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    fmt::print("filled {}: {} messages, {} rows appended ({} refused) in {:.1f} s\n", room,
               messages, filler.appended, filler.refused, seconds);
    return filler.refused == 0 ? 0 : 1;
}
