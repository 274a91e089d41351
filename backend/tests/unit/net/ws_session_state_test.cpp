#include "net/ws_session_state.hpp"

#include <gtest/gtest.h>

#include <string>

#include "net/ws_frames.hpp"

namespace chatd::net {
namespace {

using Phase = WsSessionState::Phase;
using Writer = WsSessionState::Writer;
using Reader = WsSessionState::Reader;
using KeepAlive = WsSessionState::KeepAlive;
using Tick = WsSessionState::Tick;
using Clock = WsSessionState::Clock;

constexpr auto kInterval = std::chrono::seconds(30);
const Clock::time_point kStart{};

WsSessionState upgraded_state() {
    WsSessionState state(kInterval);
    state.upgraded();
    return state;
}

// A state in `phase`, reached the way the session reaches it.
WsSessionState state_in(Phase phase) {
    WsSessionState state = upgraded_state();
    switch (phase) {
        case Phase::Open:
            break;
        case Phase::CloseAfterBatch:
            state.request_close(false);
            break;
        case Phase::CloseAfterOutbox:
            state.request_close(true);
            break;
        case Phase::CloseSent:
            state.queue_close_frame();
            break;
        case Phase::Closing:
            state.close_received();
            break;
        case Phase::ShutDown:
            state.close_received();
            state.shut_down(true);
            break;
        case Phase::Dropped:
            state.drop();
            break;
    }
    EXPECT_EQ(state.phase(), phase);
    return state;
}

constexpr Phase kPhases[] = {Phase::Open,      Phase::CloseAfterBatch, Phase::CloseAfterOutbox,
                             Phase::CloseSent, Phase::Closing,         Phase::ShutDown,
                             Phase::Dropped};

TEST(WsSessionState, BeforeTheUpgradeNothingIsWrittenButTheClientIsRegistered) {
    WsSessionState state(kInterval);
    EXPECT_EQ(state.phase(), Phase::Open);
    EXPECT_EQ(state.writer(), Writer::Held);
    EXPECT_EQ(state.reader(), Reader::Reading);
    EXPECT_EQ(state.keep_alive(), KeepAlive::Quiet);
    EXPECT_TRUE(state.registered());
    EXPECT_TRUE(state.takes_messages());
    EXPECT_FALSE(state.writes_messages());
    EXPECT_FALSE(state.dropped());

    state.upgraded();
    EXPECT_EQ(state.writer(), Writer::Idle);
    EXPECT_TRUE(state.writes_messages());
    EXPECT_TRUE(state.may_write());
}

TEST(WsSessionState, ACloseRequestedBeforeTheUpgradeWaitsForIt) {
    WsSessionState state(kInterval);
    EXPECT_TRUE(state.request_close(false));
    EXPECT_FALSE(state.writes_messages());
    state.upgraded();
    EXPECT_EQ(state.phase(), Phase::CloseAfterBatch);
    EXPECT_TRUE(state.writes_messages());
}

TEST(WsSessionState, CloseFollowsTheBatchInHand) {
    WsSessionState state = upgraded_state();
    EXPECT_TRUE(state.request_close(false));
    EXPECT_EQ(state.phase(), Phase::CloseAfterBatch);
    EXPECT_TRUE(state.close_requested());
    EXPECT_TRUE(state.writes_messages());  // the frames already taken still go
    EXPECT_TRUE(state.takes_messages());
}

// close_after_queued(): the leaver's own notice, queued in the outbox, goes before the close.
TEST(WsSessionState, CloseAfterQueuedWritesTheOutboxFirst) {
    WsSessionState state = upgraded_state();
    EXPECT_TRUE(state.request_close(true));
    EXPECT_EQ(state.phase(), Phase::CloseAfterOutbox);
    EXPECT_TRUE(state.close_requested());
    EXPECT_TRUE(state.writes_messages());
    EXPECT_TRUE(state.queue_close_frame());  // once the outbox is empty
    EXPECT_EQ(state.phase(), Phase::CloseSent);
    EXPECT_FALSE(state.close_requested());
}

TEST(WsSessionState, OnlyTheFirstCloseRequestCounts) {
    for (const Phase phase : kPhases) {
        WsSessionState state = state_in(phase);
        EXPECT_EQ(state.request_close(true), phase == Phase::Open) << int(phase);
        EXPECT_EQ(state.phase(), phase == Phase::Open ? Phase::CloseAfterOutbox : phase);
    }
}

TEST(WsSessionState, TheCloseFrameIsQueuedOnceAndNothingIsWrittenAfterIt) {
    for (const Phase phase : kPhases) {
        WsSessionState state = state_in(phase);
        const bool before_close = phase < Phase::CloseSent;
        EXPECT_EQ(state.queue_close_frame(), before_close) << int(phase);
        EXPECT_EQ(state.phase(), before_close ? Phase::CloseSent : phase);
        EXPECT_FALSE(state.writes_messages());
        EXPECT_FALSE(state.takes_messages());  // pings are no longer answered either
        EXPECT_FALSE(state.queue_close_frame());
    }
}

// Our close frame is out: the client's is awaited, so its frames are still parsed.
TEST(WsSessionState, AfterOurCloseFrameTheClientStaysRegisteredUntilItsOwn) {
    WsSessionState state = state_in(Phase::CloseSent);
    EXPECT_TRUE(state.registered());
    EXPECT_FALSE(state.close_received());  // no reply: ours is out
    EXPECT_EQ(state.phase(), Phase::Closing);
    EXPECT_FALSE(state.registered());
}

TEST(WsSessionState, TheClientsCloseFrameIsAnsweredUnlessOursIsOut) {
    for (const Phase phase : {Phase::Open, Phase::CloseAfterBatch, Phase::CloseAfterOutbox}) {
        WsSessionState state = state_in(phase);
        EXPECT_TRUE(state.close_received()) << int(phase);
        EXPECT_EQ(state.phase(), Phase::Closing);
        EXPECT_FALSE(state.registered());
        EXPECT_FALSE(state.takes_messages());
        EXPECT_FALSE(state.writes_messages());
        EXPECT_FALSE(state.queue_close_frame());  // the reply is the one close frame
    }
    for (const Phase phase : {Phase::Closing, Phase::ShutDown, Phase::Dropped}) {
        WsSessionState state = state_in(phase);
        EXPECT_FALSE(state.close_received()) << int(phase);
        EXPECT_EQ(state.phase(), phase);
    }
}

// The teardown starts once both close frames are through and nothing waits to be written.
TEST(WsSessionState, TheSendingSideShutsDownOnceBothCloseFramesAreThrough) {
    for (const Phase phase : kPhases) {
        WsSessionState state = state_in(phase);
        EXPECT_EQ(state.shut_down(true), phase == Phase::Closing) << int(phase);
    }
    WsSessionState state = state_in(Phase::Closing);
    EXPECT_FALSE(state.shut_down(false));  // bytes queued
    state.write_started(kStart);
    EXPECT_FALSE(state.shut_down(true));  // a write in flight
    state.write_ended();
    EXPECT_TRUE(state.shut_down(true));
    EXPECT_EQ(state.phase(), Phase::ShutDown);
    EXPECT_FALSE(state.shut_down(true));  // once
    EXPECT_FALSE(state.registered());     // what the client still sends is discarded
}

TEST(WsSessionState, ServerInitiatedCloseHandshake) {
    WsSessionState state = upgraded_state();
    EXPECT_TRUE(state.request_close(false));
    EXPECT_TRUE(state.queue_close_frame());
    EXPECT_FALSE(state.shut_down(true));  // the client's close frame is awaited
    EXPECT_FALSE(state.close_received());
    EXPECT_TRUE(state.shut_down(true));
    EXPECT_TRUE(state.drop());  // the client closed the TCP connection
    EXPECT_EQ(state.phase(), Phase::Dropped);
}

TEST(WsSessionState, DropEndsEveryPhaseOnce) {
    for (const Phase phase : kPhases) {
        WsSessionState state = state_in(phase);
        // The session leaves the service when a drop ends a registered connection.
        EXPECT_EQ(state.registered(), phase < Phase::Closing) << int(phase);
        EXPECT_EQ(state.drop(), phase != Phase::Dropped);
        EXPECT_TRUE(state.dropped());
        EXPECT_FALSE(state.registered());
        EXPECT_FALSE(state.takes_messages());
        EXPECT_FALSE(state.writes_messages());
        EXPECT_FALSE(state.may_write());
        EXPECT_FALSE(state.drop());
    }
}

TEST(WsSessionState, OneWriteInFlightAtATime) {
    WsSessionState state = upgraded_state();
    state.write_started(kStart);
    EXPECT_EQ(state.writer(), Writer::Writing);
    EXPECT_FALSE(state.may_write());
    EXPECT_TRUE(state.writes_messages());  // frames queue beside the write
    state.write_ended();
    EXPECT_EQ(state.writer(), Writer::Idle);
    EXPECT_TRUE(state.may_write());
    // A drop while a write is in flight: its buffer stays until its handler ends it.
    state.write_started(kStart);
    state.drop();
    EXPECT_EQ(state.writer(), Writer::Writing);
    state.write_ended();
    EXPECT_EQ(state.writer(), Writer::Idle);
    EXPECT_FALSE(state.may_write());
}

// Pongs are coalesced, and reading pauses while the pong waits behind a write in flight: a ping
// flood to a client that does not read costs one pong and no reads.
TEST(WsSessionState, ReadingPausesWhileAPongWaitsBehindAWrite) {
    WsSessionState state = upgraded_state();
    WsWriteQueue queue;
    queue.append(WsOpcode::Text, std::string(1000, 'x'));
    queue.start_write();
    state.write_started(kStart);
    for (int i = 0; i < 100; ++i) queue.queue_pong(std::to_string(i));
    EXPECT_TRUE(state.pause_reading(queue.pong_due()));
    EXPECT_EQ(state.reader(), Reader::Paused);

    std::string only_the_last;
    append_server_frame(only_the_last, WsOpcode::Pong, "99");
    queue.written(1004);  // the text frame: 4 header bytes
    state.write_ended();
    EXPECT_EQ(queue.start_write(), only_the_last);
    EXPECT_TRUE(state.resume_reading());
    EXPECT_EQ(state.reader(), Reader::Reading);
    EXPECT_FALSE(state.resume_reading());  // not paused
}

TEST(WsSessionState, ReadingGoesOnWithoutAPongOrWithoutAWriteInFlight) {
    WsSessionState state = upgraded_state();
    EXPECT_FALSE(state.pause_reading(true));  // the pong leaves by the next send
    state.write_started(kStart);
    EXPECT_FALSE(state.pause_reading(false));
    EXPECT_EQ(state.reader(), Reader::Reading);
}

TEST(WsSessionState, ADroppedConnectionDoesNotResumeReading) {
    WsSessionState state = upgraded_state();
    state.write_started(kStart);
    EXPECT_TRUE(state.pause_reading(true));
    state.drop();
    state.write_ended();
    EXPECT_FALSE(state.resume_reading());
}

TEST(WsSessionState, AnIdleConnectionIsPingedAndDroppedWhenSilent) {
    WsSessionState state = upgraded_state();
    EXPECT_EQ(state.tick(kStart + kInterval), Tick::Ping);
    EXPECT_EQ(state.keep_alive(), KeepAlive::Pinged);
    EXPECT_EQ(state.tick(kStart + 2 * kInterval), Tick::PingTimeout);
}

TEST(WsSessionState, AnyByteReceivedAnswersThePing) {
    WsSessionState state = upgraded_state();
    EXPECT_EQ(state.tick(kStart + kInterval), Tick::Ping);
    state.received();
    EXPECT_EQ(state.keep_alive(), KeepAlive::Quiet);
    EXPECT_EQ(state.tick(kStart + 2 * kInterval), Tick::Ping);
}

TEST(WsSessionState, AConnectionWrittenToIsNotPinged) {
    WsSessionState state = upgraded_state();
    state.wrote();
    EXPECT_EQ(state.tick(kStart + kInterval), Tick::Rearm);
    EXPECT_EQ(state.tick(kStart + 2 * kInterval), Tick::Ping);  // idle for a whole interval
    // Writing does not answer a ping: once idle again, the silent peer is dropped.
    state.wrote();
    EXPECT_EQ(state.tick(kStart + 3 * kInterval), Tick::Rearm);
    EXPECT_EQ(state.tick(kStart + 4 * kInterval), Tick::PingTimeout);
}

TEST(WsSessionState, AWriteThatMovesNoByteForAnIntervalDropsTheConnection) {
    WsSessionState state = upgraded_state();
    state.write_started(kStart);
    EXPECT_EQ(state.tick(kStart + kInterval - std::chrono::seconds(1)), Tick::Rearm);
    state.write_started(kStart + std::chrono::seconds(10));  // some bytes written
    EXPECT_EQ(state.tick(kStart + kInterval), Tick::Rearm);
    EXPECT_EQ(state.tick(kStart + std::chrono::seconds(10) + kInterval), Tick::WriteStalled);
}

TEST(WsSessionState, TheTimerBoundsTheCloseHandshake) {
    for (const Phase phase : kPhases) {
        WsSessionState state = state_in(phase);
        const Tick expected = phase == Phase::Dropped     ? Tick::None
                              : phase >= Phase::CloseSent ? Tick::HandshakeTimeout
                                                          : Tick::Ping;
        EXPECT_EQ(state.tick(kStart + kInterval), expected) << int(phase);
    }
}

}  // namespace
}  // namespace chatd::net
