// @vitest-environment node
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import {
  ChatSocket,
  DEFAULT_BACKOFF,
  backoffDelay,
  reconnectDelay,
  type ChatSocketOptions,
  type ConnectionStatus,
  type HistoryBatch,
} from '../chatSocket'
import type { MessagePage, ServerFrame } from '@/protocol/frames'
import { msg } from '@/protocol/__tests__/factories'
import { FakeWebSocket } from './fakeWebSocket'

type Fetch = ChatSocketOptions['fetchMessages']

/** A ChatSocket wired to FakeWebSocket, with everything it reports recorded. */
function setup(overrides: Partial<ChatSocketOptions> = {}) {
  const frames: ServerFrame[] = []
  const history: HistoryBatch[] = []
  const statuses: ConnectionStatus[] = []
  const fetchMessages = vi.fn<Fetch>(async () => ({ messages: [], has_more: false }))
  const socket = new ChatSocket({
    url: () => 'ws://test/ws?token=t',
    fetchMessages,
    onFrame: (f) => frames.push(f),
    onHistory: (b) => history.push(b),
    onStatus: (s) => statuses.push(s),
    WebSocket: FakeWebSocket,
    random: () => 0.5,
    network: null,
    // No quick retries: these tests follow the exponential part ("reconnect schedule" has both).
    backoff: { baseMs: 1000, capMs: 8000, stableMs: 5000, quickRetries: 0 },
    heartbeat: { intervalMs: 10_000, timeoutMs: 3000 },
    ...overrides,
  })
  return { socket, frames, history, statuses, fetchMessages }
}

/** Lets pending promise callbacks (the fake fetches) run. */
const flush = () => vi.advanceTimersByTimeAsync(0)

beforeEach(() => {
  vi.useFakeTimers()
  FakeWebSocket.reset()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('backoffDelay', () => {
  const options = { baseMs: 500, capMs: 10_000, stableMs: 0 }

  it('is full jitter: random × min(cap, base·2^attempt)', () => {
    expect(backoffDelay(0, options, () => 0.5)).toBe(250)
    expect(backoffDelay(1, options, () => 0.5)).toBe(500)
    expect(backoffDelay(3, options, () => 0.5)).toBe(2000)
    expect(backoffDelay(3, options, () => 0)).toBe(0)
    expect(backoffDelay(3, options, () => 0.999)).toBe(3996)
  })

  it('is capped', () => {
    expect(backoffDelay(10, options, () => 0.5)).toBe(5000)
    expect(backoffDelay(1000, options, () => 0.999)).toBeLessThan(10_000)
  })
})

describe('reconnectDelay', () => {
  const options = { ...DEFAULT_BACKOFF }

  it('retries quickly first: each of the first 8 waits 0.1-1 s, spread by random()', () => {
    for (let attempt = 0; attempt < 8; attempt++) {
      expect(reconnectDelay(attempt, options, () => 0)).toBe(100)
      expect(reconnectDelay(attempt, options, () => 0.5)).toBe(550)
      expect(reconnectDelay(attempt, options, () => 0.999)).toBe(999)
    }
  })

  it('then backs off exponentially with full jitter, up to the 15 s cap', () => {
    const ceilings = [1000, 2000, 4000, 8000, 15_000, 15_000]
    for (const [n, ceiling] of ceilings.entries()) {
      expect(reconnectDelay(8 + n, options, () => 0.5)).toBe(ceiling / 2)
      expect(reconnectDelay(8 + n, options, () => 0)).toBe(0)
    }
    expect(reconnectDelay(1000, options, () => 0.999)).toBeLessThan(15_000)
  })

  it('spreads 10,000 clients over the first second instead of one instant', () => {
    // Park-Miller: a fixed, evenly spread sequence in (0, 1).
    let seed = 42
    const random = () => (seed = (seed * 48271) % 2147483647) / 2147483647
    const perTenth = new Array<number>(10).fill(0)
    for (let i = 0; i < 10_000; i++) {
      const delay = reconnectDelay(0, options, random)
      expect(delay).toBeGreaterThanOrEqual(100)
      expect(delay).toBeLessThan(1000)
      perTenth[Math.floor(delay / 100)]! += 1
    }
    // Nothing before 100 ms, then about 1,111 per 100 ms: no tenth holds more than 15 %.
    expect(perTenth[0]).toBe(0)
    for (const count of perTenth.slice(1)) expect(count).toBeLessThan(1500)
  })
})

describe('ChatSocket reconnect schedule', () => {
  function setupDefault(overrides: Partial<ChatSocketOptions> = {}) {
    return setup({ backoff: {}, ...overrides })
  }

  it('is back within a second of the server answering again after a restart', async () => {
    const { socket } = setupDefault()
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    await flush()
    // The server restarts (1012) and refuses connections for 3 s; then it answers again.
    FakeWebSocket.last.serverClose(1012)
    const upAt = Date.now() + 3000
    for (;;) {
      const count = FakeWebSocket.instances.length
      while (FakeWebSocket.instances.length === count) await vi.advanceTimersByTimeAsync(10)
      if (Date.now() < upAt) {
        FakeWebSocket.last.serverClose(1006) // refused
        continue
      }
      FakeWebSocket.last.open()
      FakeWebSocket.last.welcome()
      break
    }
    await flush()
    expect(socket.status).toBe('online')
    expect(Date.now() - upAt).toBeLessThan(1000)
    expect(FakeWebSocket.instances.length).toBeLessThanOrEqual(1 + 8) // all quick retries
  })

  it('draws a new random wait for every attempt', async () => {
    const draws = [0.1, 0.9, 0.3]
    const random = vi.fn(() => draws.shift() ?? 0.5)
    const { socket } = setupDefault({ random })
    socket.start()
    const waits: number[] = []
    for (let i = 0; i < 3; i++) {
      FakeWebSocket.last.serverClose(1006)
      const started = Date.now()
      const count = FakeWebSocket.instances.length
      while (FakeWebSocket.instances.length === count) await vi.advanceTimersByTimeAsync(10)
      waits.push(Date.now() - started)
    }
    expect(waits).toEqual([190, 910, 370])
  })

  it('slows down after the quick retries, and the online event skips the wait', async () => {
    const network = new EventTarget()
    const { socket } = setupDefault({ network })
    socket.start()
    for (let i = 0; i < 8; i++) {
      FakeWebSocket.last.serverClose(1006)
      await vi.advanceTimersByTimeAsync(550)
    }
    expect(FakeWebSocket.instances).toHaveLength(9)
    FakeWebSocket.last.serverClose(1006)
    await vi.advanceTimersByTimeAsync(499) // 9th attempt: 0.5 × 1000
    expect(FakeWebSocket.instances).toHaveLength(9)
    await vi.advanceTimersByTimeAsync(1)
    expect(FakeWebSocket.instances).toHaveLength(10)
    FakeWebSocket.last.serverClose(1006)
    await vi.advanceTimersByTimeAsync(900) // 10th: 0.5 × 2000
    expect(FakeWebSocket.instances).toHaveLength(10)
    network.dispatchEvent(new Event('online'))
    expect(FakeWebSocket.instances).toHaveLength(11)
  })
})

describe('ChatSocket visibility', () => {
  class FakeDocument extends EventTarget {
    visibilityState: DocumentVisibilityState = 'visible'
    show() {
      this.visibilityState = 'visible'
      this.dispatchEvent(new Event('visibilitychange'))
    }
    hide() {
      this.visibilityState = 'hidden'
      this.dispatchEvent(new Event('visibilitychange'))
    }
  }

  it('reconnects at once when a hidden tab with no socket becomes visible', async () => {
    const visibility = new FakeDocument()
    const { socket } = setup({ visibility })
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    visibility.hide()
    for (let i = 0; i < 4; i++) {
      FakeWebSocket.last.serverClose(1006)
      await vi.advanceTimersByTimeAsync(8000)
    }
    FakeWebSocket.last.serverClose(1006) // the next wait is 4 s
    expect(socket.status).toBe('waiting')
    const count = FakeWebSocket.instances.length
    visibility.show()
    expect(FakeWebSocket.instances).toHaveLength(count + 1)
    expect(socket.status).toBe('connecting')
  })

  it('pings a socket that looks open when the tab becomes visible, and replaces it if dead', async () => {
    const visibility = new FakeDocument()
    const { socket } = setup({ visibility })
    socket.start()
    const first = FakeWebSocket.last
    first.open()
    first.welcome()
    await flush()
    visibility.hide()
    visibility.show()
    expect(first.frames.at(-1)).toEqual({ type: 'ping' })
    await vi.advanceTimersByTimeAsync(3000) // heartbeat timeoutMs: no pong came
    expect(first.closedWith).toBe(4000)
    expect(socket.status).toBe('waiting')
  })

  it('does nothing while hidden, nor for a live socket that answers', async () => {
    const visibility = new FakeDocument()
    const { socket } = setup({ visibility })
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    await flush()
    visibility.hide()
    expect(FakeWebSocket.last.frames).toEqual([])
    visibility.show()
    FakeWebSocket.last.receive({ type: 'pong' })
    await vi.advanceTimersByTimeAsync(3000)
    expect(FakeWebSocket.instances).toHaveLength(1)
    expect(socket.status).toBe('online')
  })

  it('stops listening after stop()', () => {
    const visibility = new FakeDocument()
    const { socket } = setup({ visibility })
    socket.start()
    socket.stop()
    visibility.show()
    expect(FakeWebSocket.instances).toHaveLength(1)
  })
})

describe('ChatSocket connection', () => {
  it('connects, and is online once welcomed and caught up', async () => {
    const { socket, statuses, frames } = setup()
    socket.start()
    expect(FakeWebSocket.last.url).toBe('ws://test/ws?token=t')
    expect(socket.status).toBe('connecting')
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    expect(socket.status).toBe('syncing')
    await flush()
    expect(socket.status).toBe('online')
    expect(statuses).toEqual(['connecting', 'syncing', 'online'])
    expect(frames[0]?.type).toBe('welcome')
  })

  it('reconnects with exponential backoff and full jitter, up to the cap', async () => {
    const { socket } = setup()
    socket.start()
    // random() = 0.5: delays are half of 1000, 2000, 4000, 8000, then the 8000 cap.
    const expected = [500, 1000, 2000, 4000, 4000, 4000]
    for (const [i, delay] of expected.entries()) {
      FakeWebSocket.last.serverClose(1006)
      expect(socket.status).toBe('waiting')
      await vi.advanceTimersByTimeAsync(delay - 1)
      expect(FakeWebSocket.instances).toHaveLength(i + 1)
      await vi.advanceTimersByTimeAsync(1)
      expect(FakeWebSocket.instances).toHaveLength(i + 2)
    }
  })

  it('uses the injected random for jitter', async () => {
    const random = vi.fn(() => 0.1)
    const { socket } = setup({ random })
    socket.start()
    FakeWebSocket.last.serverClose()
    expect(random).toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(100) // 0.1 × 1000
    expect(FakeWebSocket.instances).toHaveLength(2)
  })

  it('resets the attempt count after a stable connection', async () => {
    const { socket } = setup()
    socket.start()
    FakeWebSocket.last.serverClose()
    await vi.advanceTimersByTimeAsync(500)
    FakeWebSocket.last.serverClose()
    await vi.advanceTimersByTimeAsync(1000)
    // Third socket: stays up past stableMs, then drops; the next delay is the first one again.
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    await vi.advanceTimersByTimeAsync(5000)
    FakeWebSocket.last.serverClose()
    await vi.advanceTimersByTimeAsync(500)
    expect(FakeWebSocket.instances).toHaveLength(4)
  })

  it('stops for good on close 1008 (token revoked)', async () => {
    const onAuthRevoked = vi.fn()
    const { socket } = setup({ onAuthRevoked })
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.serverClose(1008)
    expect(socket.status).toBe('closed')
    expect(onAuthRevoked).toHaveBeenCalledOnce()
    await vi.advanceTimersByTimeAsync(60_000)
    expect(FakeWebSocket.instances).toHaveLength(1)
  })

  it('keeps the reads made offline, the highest per room, and sends them after the welcome', async () => {
    const { socket } = setup()
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome(['general', 'dev', 'ops'])
    FakeWebSocket.last.serverClose(1006)
    socket.sendRead('general', 7)
    socket.sendRead('general', 9)
    socket.sendRead('general', 8)
    // "Mark all as read" offline becomes reads of what this client holds, not a read_all that
    // would also mark what arrives meanwhile.
    socket.sendReadAll([
      ['dev', 4],
      ['ops', 0],
    ])
    await vi.advanceTimersByTimeAsync(10_000)
    const next = FakeWebSocket.last
    next.open()
    expect(next.frames).toEqual([])
    next.welcome(['general', 'dev', 'ops'])
    const reads = next.frames.filter((f) => f.type === 'read' || f.type === 'read_all')
    expect(reads.map(({ type, room, id }) => ({ type, room, id }))).toEqual([
      { type: 'read', room: 'general', id: 9 },
      { type: 'read', room: 'dev', id: 4 },
    ])
    // Sent once: a later reconnect does not repeat them.
    next.serverClose(1006)
    await vi.advanceTimersByTimeAsync(10_000)
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome(['general', 'dev', 'ops'])
    expect(FakeWebSocket.last.frames.filter((f) => f.type === 'read')).toEqual([])
    // Online, "mark all" is one read_all.
    socket.sendReadAll([['dev', 5]])
    expect(FakeWebSocket.last.frames.at(-1)?.type).toBe('read_all')
  })

  it('does not reconnect after stop()', async () => {
    const { socket } = setup()
    socket.start()
    FakeWebSocket.last.open()
    socket.stop()
    expect(FakeWebSocket.last.closedWith).toBe(1000)
    expect(socket.status).toBe('closed')
    await vi.advanceTimersByTimeAsync(60_000)
    expect(FakeWebSocket.instances).toHaveLength(1)
  })

  it('ignores events from a replaced socket', async () => {
    const { socket, frames } = setup()
    socket.start()
    const old = FakeWebSocket.last
    old.serverClose()
    await vi.advanceTimersByTimeAsync(500)
    expect(FakeWebSocket.instances).toHaveLength(2)
    old.receive({ type: 'presence', user_name: 'ghost', online: true, status: 'online' })
    old.serverClose()
    expect(frames).toEqual([])
    expect(socket.status).toBe('connecting')
  })

  it('reconnects at once when the browser comes back online', async () => {
    const network = new EventTarget()
    const { socket } = setup({ network })
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    network.dispatchEvent(new Event('offline'))
    expect(socket.status).toBe('waiting')
    expect(FakeWebSocket.instances[0]?.closedWith).toBe(4001)
    network.dispatchEvent(new Event('online'))
    expect(FakeWebSocket.instances).toHaveLength(2)
    expect(socket.status).toBe('connecting')
  })
})

describe('ChatSocket heartbeat', () => {
  it('pings, and keeps the socket when the pong comes', async () => {
    const { socket } = setup()
    socket.start()
    const ws = FakeWebSocket.last
    ws.open()
    ws.welcome()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(ws.frames.filter((f) => f.type === 'ping')).toHaveLength(1)
    ws.receive({ type: 'pong' })
    await vi.advanceTimersByTimeAsync(5000)
    expect(ws.closedWith).toBeNull()
    expect(socket.status).toBe('online')
  })

  it('drops the socket and reconnects when no pong comes in time', async () => {
    const { socket } = setup()
    socket.start()
    const ws = FakeWebSocket.last
    ws.open()
    ws.welcome()
    await vi.advanceTimersByTimeAsync(10_000 + 2999)
    expect(ws.closedWith).toBeNull()
    await vi.advanceTimersByTimeAsync(1)
    expect(ws.closedWith).toBe(4000)
    expect(socket.status).toBe('waiting')
    await vi.advanceTimersByTimeAsync(500)
    expect(FakeWebSocket.instances).toHaveLength(2)
  })

  it('does not forward pongs to the app', async () => {
    const { socket, frames } = setup()
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.receive({ type: 'pong' })
    expect(frames).toEqual([])
  })
})

describe('ChatSocket send buffer', () => {
  const send = (n: number) => ({
    type: 'send' as const,
    room: 'general',
    content: `m${n}`,
    client_msg_id: `c-${n}`,
  })

  it('sends at once when connected', async () => {
    const { socket } = setup()
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    expect(socket.send(send(1))).toBe('sent')
    expect(FakeWebSocket.last.frames).toContainEqual(send(1))
  })

  it('queues while offline, bounded, and flushes in order after welcome', async () => {
    const { socket } = setup({ maxPending: 3 })
    socket.start()
    expect(socket.send(send(1))).toBe('queued')
    expect(socket.send(send(2))).toBe('queued')
    expect(socket.send(send(3))).toBe('queued')
    expect(socket.send(send(4))).toBe('full')
    // A retry of a queued message does not take another slot.
    expect(socket.send(send(2))).toBe('queued')
    expect(socket.pendingCount).toBe(3)
    const ws = FakeWebSocket.last
    ws.open()
    expect(ws.sent).toEqual([]) // nothing before welcome
    ws.welcome()
    expect(ws.frames.filter((f) => f.type === 'send').map((f) => f.client_msg_id)).toEqual([
      'c-1',
      'c-2',
      'c-3',
    ])
  })

  it('keeps a message until its ack, and sends it again (same id) after a reconnect', async () => {
    const { socket } = setup()
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    socket.send(send(1))
    socket.send(send(2))
    FakeWebSocket.last.receive({
      type: 'ack',
      client_msg_id: 'c-1',
      id: 10,
      room: 'general',
      ts: 1,
      sent_at: '',
      duplicate: false,
    })
    expect(socket.pendingCount).toBe(1)
    FakeWebSocket.last.serverClose()
    await vi.advanceTimersByTimeAsync(500)
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    expect(FakeWebSocket.last.frames.filter((f) => f.type === 'send')).toEqual([send(2)])
  })

  it('drops a refused message from the outbox', async () => {
    const { socket } = setup()
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    socket.send(send(1))
    FakeWebSocket.last.receive({
      type: 'error',
      code: 'rate_limited',
      message: 'slow down',
      client_msg_id: 'c-1',
    })
    expect(socket.pendingCount).toBe(0)
  })

  it('never buffers typing', () => {
    const { socket } = setup()
    socket.start()
    socket.sendTyping('general')
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    expect(FakeWebSocket.last.frames.some((f) => f.type === 'typing')).toBe(false)
    socket.sendTyping('general')
    expect(FakeWebSocket.last.frames).toContainEqual({ type: 'typing', room: 'general' })
  })

  it('sends the away status when it changes, and again after each welcome while away', async () => {
    const { socket } = setup()
    socket.start()
    socket.setAway(true) // before the welcome: kept, not sent
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    const statuses = () => FakeWebSocket.last.frames.filter((f) => f.type === 'status')
    expect(statuses()).toEqual([{ type: 'status', status: 'away' }])
    socket.setAway(true) // no change: nothing sent
    socket.setAway(false)
    expect(statuses()).toEqual([
      { type: 'status', status: 'away' },
      { type: 'status', status: 'active' },
    ])
    // A new connection starts active on the server: only an away status is said again.
    FakeWebSocket.last.serverClose()
    await vi.advanceTimersByTimeAsync(500)
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    expect(statuses()).toEqual([])
    socket.setAway(true)
    FakeWebSocket.last.serverClose()
    await vi.advanceTimersByTimeAsync(1000)
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    expect(statuses()).toEqual([{ type: 'status', status: 'away' }])
  })
})

describe('ChatSocket resync', () => {
  it('moves the mark to a page’s as_of, resyncs changes after it, and passes as_of on', async () => {
    const pages: Record<string, MessagePage[]> = {
      // the newest page: two messages, folded as of 9 (changes 3..9 are in them)
      'general:latest': [{ messages: [msg(1), msg(2)], has_more: false, as_of: 9 }],
      // after the reconnect: nothing new since the live change 10, the room is at 12
      'general:after:10': [{ messages: [], has_more: false, as_of: 12 }],
    }
    const fetchMessages = vi.fn<Fetch>(async (room, query) => {
      const key = query.after === undefined ? `${room}:latest` : `${room}:after:${query.after}`
      const page = pages[key]?.shift()
      if (!page) throw new Error(`unexpected fetch ${key}`)
      return page
    })
    const { socket, history } = setup({ fetchMessages })
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome(['general'])
    await flush()
    expect(socket.lastSeenId('general')).toBe(9)
    // a live change continues the chain like a message
    FakeWebSocket.last.receive({
      type: 'message',
      message: msg(10, { kind: 'react', target_id: 2, content: '👍', prev_id: 9 }),
    })
    expect(socket.lastSeenId('general')).toBe(10)
    FakeWebSocket.last.serverClose()
    await vi.advanceTimersByTimeAsync(500)
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome(['general'])
    await flush()
    // the last page (has_more false) moves the mark to its as_of
    expect(socket.lastSeenId('general')).toBe(12)
    expect(history.map((b) => [b.mode, b.asOf])).toEqual([
      ['latest', 9],
      ['after', 12],
    ])
  })

  it('loads a baseline for new rooms, then fetches what was missed after a reconnect', async () => {
    const pages: Record<string, MessagePage[]> = {
      'general:latest': [{ messages: [msg(1), msg(2)], has_more: true }],
      'dev:latest': [{ messages: [], has_more: false }],
      'general:after:3': [{ messages: [msg(4), msg(5)], has_more: true }],
      'general:after:5': [{ messages: [msg(6)], has_more: false }],
      'dev:after:0': [{ messages: [msg(7, { room: 'dev' })], has_more: false }],
    }
    const fetchMessages = vi.fn<Fetch>(async (room, query) => {
      const key = query.after === undefined ? `${room}:latest` : `${room}:after:${query.after}`
      const page = pages[key]?.shift()
      if (!page) throw new Error(`unexpected fetch ${key}`)
      return page
    })
    const { socket, history } = setup({ fetchMessages })
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome(['general', 'dev'])
    await flush()
    expect(fetchMessages.mock.calls).toEqual([
      ['general', { limit: 100 }],
      ['dev', { limit: 100 }],
    ])
    expect(socket.lastSeenId('general')).toBe(2)
    expect(socket.lastSeenId('dev')).toBe(0)
    // A live message moves the mark.
    FakeWebSocket.last.receive({ type: 'message', message: msg(3) })
    expect(socket.lastSeenId('general')).toBe(3)

    FakeWebSocket.last.serverClose()
    await vi.advanceTimersByTimeAsync(500)
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome(['general', 'dev'])
    expect(socket.status).toBe('syncing')
    await flush()
    expect(fetchMessages.mock.calls.slice(2)).toEqual([
      ['general', { after: 3, limit: 100 }],
      ['dev', { after: 0, limit: 100 }],
      ['general', { after: 5, limit: 100 }],
    ])
    expect(socket.status).toBe('online')
    expect(socket.lastSeenId('general')).toBe(6)
    expect(socket.lastSeenId('dev')).toBe(7)
    expect(history.map((b) => [b.room, b.mode, b.messages.map((m) => m.id)])).toEqual([
      ['general', 'latest', [1, 2]],
      ['dev', 'latest', []],
      ['general', 'after', [4, 5]],
      ['dev', 'after', [7]],
      ['general', 'after', [6]],
    ])
  })

  it('does not move the mark on live frames while a room syncs; retries a failed page', async () => {
    let fail = true
    const fetchMessages = vi.fn<Fetch>(async (_room, query) => {
      if (query.after === undefined) return { messages: [msg(1)], has_more: false }
      if (query.after === 1) return { messages: [msg(2)], has_more: true }
      if (fail) {
        fail = false
        throw new Error('network')
      }
      return { messages: [msg(3)], has_more: false }
    })
    const { socket } = setup({ fetchMessages })
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    await flush()
    FakeWebSocket.last.serverClose()
    await vi.advanceTimersByTimeAsync(500)
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    // A live message newer than the gap arrives while the resync runs.
    FakeWebSocket.last.receive({ type: 'message', message: msg(9) })
    await flush()
    // Page after=1 gave id 2; after=2 failed: the mark is 2, not 9.
    expect(socket.lastSeenId('general')).toBe(2)
    expect(socket.status).toBe('syncing')
    await vi.advanceTimersByTimeAsync(8000)
    expect(fetchMessages.mock.calls.at(-1)).toEqual(['general', { after: 2, limit: 100 }])
    expect(socket.lastSeenId('general')).toBe(9)
    expect(socket.status).toBe('online')
  })

  it('fetches the baseline of a room joined while connected, and forgets a room left', async () => {
    const { socket, fetchMessages } = setup()
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome(['general'], 'alice')
    await flush()
    FakeWebSocket.last.receive({
      type: 'membership',
      room: 'dm:alice:bob',
      user_name: 'alice',
      joined: true,
    })
    await flush()
    expect(fetchMessages).toHaveBeenLastCalledWith('dm:alice:bob', { limit: 100 })
    expect(socket.lastSeenId('dm:alice:bob')).toBe(0)
    // Someone else joining does not trigger a fetch.
    FakeWebSocket.last.receive({
      type: 'membership',
      room: 'general',
      user_name: 'bob',
      joined: true,
    })
    expect(fetchMessages).toHaveBeenCalledTimes(2)
    FakeWebSocket.last.receive({
      type: 'membership',
      room: 'dm:alice:bob',
      user_name: 'alice',
      joined: false,
    })
    expect(socket.lastSeenId('dm:alice:bob')).toBeUndefined()
  })

  it('abandons a sync when its socket is replaced', async () => {
    let resolve: (page: MessagePage) => void = () => {}
    const fetchMessages = vi.fn<Fetch>(() => new Promise<MessagePage>((r) => (resolve = r)))
    const { socket, history } = setup({ fetchMessages })
    socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    FakeWebSocket.last.serverClose()
    resolve({ messages: [msg(1)], has_more: false })
    await flush()
    expect(history).toEqual([])
    expect(socket.lastSeenId('general')).toBeUndefined()
  })
})

describe('ChatSocket per-room chain', () => {
  /** Connected and welcomed to `general`, whose baseline page ended at id 10. */
  async function connectedAt10(fetch?: Fetch, extra: Partial<ChatSocketOptions> = {}) {
    const fetchMessages =
      fetch ??
      vi.fn<Fetch>(async (_room, query) =>
        query.after === undefined
          ? { messages: [msg(9, { prev_id: 8 }), msg(10, { prev_id: 9 })], has_more: true }
          : { messages: [], has_more: false },
      )
    const repairs: Array<[string, number]> = []
    const ctx = setup({
      fetchMessages,
      holeRepairMs: 1500,
      onHoleRepair: (room, mark) => repairs.push([room, mark]),
      ...extra,
    })
    ctx.socket.start()
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    await flush()
    expect(ctx.socket.lastSeenId('general')).toBe(10)
    return { ...ctx, fetchMessages, repairs }
  }
  const live = (id: number, prev_id: number) =>
    FakeWebSocket.last.receive({ type: 'message', message: msg(id, { prev_id }) })

  it('moves the mark along messages that arrive in chain order', async () => {
    const { socket, fetchMessages, repairs } = await connectedAt10()
    live(11, 10)
    live(13, 11)
    expect(socket.lastSeenId('general')).toBe(13)
    await vi.advanceTimersByTimeAsync(5000)
    expect(fetchMessages).toHaveBeenCalledTimes(1)
    expect(repairs).toEqual([])
  })

  it('keeps the mark below a live inversion and moves it when the older message comes', async () => {
    const { socket, frames, fetchMessages, repairs } = await connectedAt10()
    live(12, 11) // 11 comes from the other node, later
    expect(socket.lastSeenId('general')).toBe(10)
    // The newer message is still shown at once.
    expect(frames.at(-1)).toMatchObject({ type: 'message', message: { id: 12 } })
    await vi.advanceTimersByTimeAsync(1000)
    live(11, 10)
    expect(socket.lastSeenId('general')).toBe(12)
    await vi.advanceTimersByTimeAsync(5000)
    expect(fetchMessages).toHaveBeenCalledTimes(1)
    expect(repairs).toEqual([])
  })

  it('fetches a hole that stays open, without a reconnect', async () => {
    const fetchMessages = vi.fn<Fetch>(async (_room, query) => {
      if (query.after === undefined) return { messages: [msg(10, { prev_id: 9 })], has_more: true }
      if (query.after === 10) {
        return { messages: [msg(11, { prev_id: 10 }), msg(12, { prev_id: 11 })], has_more: false }
      }
      throw new Error(`unexpected after=${query.after}`)
    })
    const { socket, history, repairs } = await connectedAt10(fetchMessages)
    live(12, 11)
    await vi.advanceTimersByTimeAsync(1499)
    expect(fetchMessages).toHaveBeenCalledTimes(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(repairs).toEqual([['general', 10]])
    expect(fetchMessages).toHaveBeenLastCalledWith('general', { after: 10, limit: 100 })
    expect(history.at(-1)).toMatchObject({ mode: 'after', messages: [{ id: 11 }, { id: 12 }] })
    expect(socket.lastSeenId('general')).toBe(12)
    expect(socket.status).toBe('online')
    expect(FakeWebSocket.instances).toHaveLength(1)
  })

  it('resyncs from the mark, not from the highest id seen, after a drop', async () => {
    const { socket, fetchMessages } = await connectedAt10()
    live(14, 13)
    FakeWebSocket.last.serverClose() // before the hole's timer
    await vi.advanceTimersByTimeAsync(500)
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    await flush()
    expect(fetchMessages).toHaveBeenLastCalledWith('general', { after: 10, limit: 100 })
    // The resync page (empty in this stub) ends the sync; 14 stays above the hole.
    expect(socket.lastSeenId('general')).toBe(10)
  })

  it('a live message during a resync that continues the page closes the hole', async () => {
    let release: (page: MessagePage) => void = () => {}
    const fetchMessages = vi.fn<Fetch>(async (_room, query) => {
      if (query.after === undefined) return { messages: [msg(10, { prev_id: 9 })], has_more: true }
      return new Promise<MessagePage>((r) => (release = r))
    })
    const { socket } = await connectedAt10(fetchMessages)
    FakeWebSocket.last.serverClose()
    await vi.advanceTimersByTimeAsync(500)
    FakeWebSocket.last.open()
    FakeWebSocket.last.welcome()
    live(13, 12) // arrives while the page after=10 is in flight
    release({ messages: [msg(11, { prev_id: 10 }), msg(12, { prev_id: 11 })], has_more: false })
    await flush()
    expect(socket.lastSeenId('general')).toBe(13)
    expect(socket.status).toBe('online')
  })
})
