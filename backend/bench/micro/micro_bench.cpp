// Google Benchmark micro-benchmarks of the chat core: codecs (client frames, seed frames, the
// AMQP wire bodies), hub fan-out, outbox.
// Run: build/<dir>/bench/chatd-micro (docs/benchmarks.md lists the figures).
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "bus/wire.hpp"
#include "chat/codec.hpp"
#include "chat/hub.hpp"
#include "chat/outbox.hpp"
#include "metrics/metrics.hpp"

namespace {

using namespace chatd;

model::Message sample_message() {
    model::Message m;
    m.id = 123456;
    m.room = "general";
    m.user_name = "alice";
    m.content = "cb 1 2 3 1234567890123 hello there, a message of about sixty bytes";
    m.sent_at = "27/11/2026 21:51:18";
    m.ts_ms = 1795816278000;
    m.client_msg_id = "c-123456";
    return m;
}

// A sink that only counts: the hub's own cost, without a network.
class CountingSink final : public chat::Sink {
  public:
    void deliver(const chat::Frame& frame) override {
        ++frames;
        benchmark::DoNotOptimize(frame.get());
    }
    void close(chat::CloseCode, std::string_view) override {}
    std::size_t frames = 0;
};

// A sink with a real outbox, as a WebSocket session has (minus the wake-up post).
class OutboxSink final : public chat::Sink {
  public:
    void deliver(const chat::Frame& frame) override { outbox.push(frame); }
    void close(chat::CloseCode, std::string_view) override {}
    chat::Outbox outbox{chat::Outbox::Limits{}};
};

void BM_EncodeMessage(benchmark::State& state) {
    const auto m = sample_message();
    for (auto _ : state) benchmark::DoNotOptimize(chat::encode_message(m));
}
BENCHMARK(BM_EncodeMessage);

void BM_DecodeSend(benchmark::State& state) {
    const std::string text =
        R"({"type":"send","room":"general","content":"cb 1 2 3 1234567890123 hello","client_msg_id":"1-2-3"})";
    for (auto _ : state) benchmark::DoNotOptimize(chat::decode_client_frame(text));
}
BENCHMARK(BM_DecodeSend);

void BM_EncodeSeedMessage(benchmark::State& state) {
    const auto m = sample_message();
    for (auto _ : state) benchmark::DoNotOptimize(chat::encode_seed_message(m));
}
BENCHMARK(BM_EncodeSeedMessage);

void BM_EncodeAck(benchmark::State& state) {
    const auto m = sample_message();
    for (auto _ : state) benchmark::DoNotOptimize(chat::encode_ack(m, false));
}
BENCHMARK(BM_EncodeAck);

// The body published to RabbitMQ for every message, and its decoding on the consuming node.
void BM_WireEncodeEvent(benchmark::State& state) {
    const model::Event event(sample_message());
    for (auto _ : state) benchmark::DoNotOptimize(bus::encode_event(event, "node-1"));
}
BENCHMARK(BM_WireEncodeEvent);

void BM_WireDecode(benchmark::State& state) {
    const std::string body = bus::encode_event(model::Event(sample_message()), "node-1");
    for (auto _ : state) benchmark::DoNotOptimize(bus::decode_wire(body));
}
BENCHMARK(BM_WireDecode);

void BM_HubFanOut(benchmark::State& state) {
    metrics::Metrics metrics("bench");
    chat::Hub hub(metrics);
    std::vector<std::shared_ptr<CountingSink>> sinks;
    for (int i = 0; i < state.range(0); ++i) {
        sinks.push_back(std::make_shared<CountingSink>());
        hub.attach("u" + std::to_string(i), chat::Protocol::Native, sinks.back(), {});
    }
    const model::Event event(sample_message());
    for (auto _ : state) hub.deliver(event);
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_HubFanOut)->Arg(100)->Arg(1000)->Arg(10000);

void BM_HubFanOutToOutboxes(benchmark::State& state) {
    metrics::Metrics metrics("bench");
    chat::Hub hub(metrics);
    std::vector<std::shared_ptr<OutboxSink>> sinks;
    for (int i = 0; i < state.range(0); ++i) {
        sinks.push_back(std::make_shared<OutboxSink>());
        hub.attach("u" + std::to_string(i), chat::Protocol::Native, sinks.back(), {});
    }
    const model::Event event(sample_message());
    std::vector<chat::Frame> drained;
    std::int64_t n = 0;
    for (auto _ : state) {
        hub.deliver(event);
        if (++n % 64 == 0) {
            state.PauseTiming();
            for (auto& s : sinks) s->outbox.take(drained);
            state.ResumeTiming();
        }
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_HubFanOutToOutboxes)->Arg(1000);

// N joins into one room: the cost of attach (and detach) as a room grows.
void BM_HubAttachDetach(benchmark::State& state) {
    metrics::Metrics metrics("bench");
    for (auto _ : state) {
        chat::Hub hub(metrics);
        std::vector<chat::ConnectionId> ids;
        for (int i = 0; i < state.range(0); ++i) {
            ids.push_back(hub.attach("u" + std::to_string(i), chat::Protocol::Native,
                                     std::make_shared<CountingSink>(), {})
                              .id);
        }
        for (const auto id : ids) hub.detach(id);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_HubAttachDetach)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

void BM_OutboxPushTake(benchmark::State& state) {
    chat::Outbox outbox(chat::Outbox::Limits{});
    const auto frame = chat::make_frame(chat::encode_message(sample_message()));
    std::vector<chat::Frame> batch;
    for (auto _ : state) {
        for (int i = 0; i < state.range(0); ++i) outbox.push(frame);
        outbox.take(batch);
    }
    state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_OutboxPushTake)->Arg(1)->Arg(16)->Arg(256);

}  // namespace

BENCHMARK_MAIN();
