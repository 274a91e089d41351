// A client that stops reading is disconnected once its outbox passes --outbox-max-bytes, without
// slowing anyone else down, and recovers everything from history.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { fetchAfter, metrics, nativeConnect, openLogin, sendOk, startChatd, waitFor, within } from './lib/chatd.mjs'

// The healthy reader must never come near the limit, even when this shared machine deschedules
// the test process for a moment (with 64 KiB it was cut off about one run in six under load), and
// with RabbitMQ the ack comes before delivery, so the broker hands over bursts of several hundred
// messages. A 1 MiB outbox absorbs both; the reader that stopped reading still overflows it.
const OUTBOX_MAX = 1024 * 1024
const CONTENT = 'x'.repeat(1000)
const MIN_MESSAGES = 2000
// Loopback kernel buffers absorb about 4 MB towards a reader that has stopped (measured on these
// machines), so the sender keeps going until the server reports the disconnect, up to this cap.
const MAX_MESSAGES = 10000
const WINDOW = 32 // sends in flight (not yet acked)
// Messages sent that the healthy reader has not received yet. The ack window alone does not
// bound the reader's outbox: with RabbitMQ the ack comes before delivery, and on a loaded machine
// the broker fell seconds behind and then handed over thousands of messages at once; the reader
// and the sender (both members of general) were cut off as slow consumers (3 runs in 80 at load
// average 9-15). 256 messages of 1 KB keep their outboxes far below the limit.
const READER_WINDOW = 256
const DISCONNECTS = 'chat_ws_slow_consumer_disconnects_total'

async function stopAll (server, sockets) {
  for (const s of sockets) s.terminate()
  try {
    await server?.stop({ expectCode: 0 })
  } finally {
    server?.cleanup()
  }
}

describe('slow consumer', () => {
  let server
  const sockets = []

  before(async () => {
    server = await startChatd({
      auth: 'open',
      args: ['--outbox-max-bytes', String(OUTBOX_MAX), '--rate-per-second', '100000', '--rate-burst', '100000',
        '--max-message-length', '4096']
    })
  })

  after(() => stopAll(server, sockets))

  it('a paused reader is cut off, the healthy reader gets every message, and the slow one recovers from history', async t => {
    const tokens = {}
    for (const name of ['sender', 'reader', 'slow']) tokens[name] = await openLogin(server.base, name)
    const sender = await nativeConnect(server, tokens.sender)
    const reader = await nativeConnect(server, tokens.reader)
    const slow = await nativeConnect(server, tokens.slow)
    sockets.push(sender, reader, slow)
    slow.ws._socket.pause() // stop reading: the kernel buffers fill, then the server's outbox

    const readerIds = new Set()
    let readerWaiter = null
    let sendNext = () => {}
    reader.onFrame(f => {
      if (f.type !== 'message') return
      readerIds.add(f.message.id)
      if (readerWaiter && readerWaiter.ids.every(id => readerIds.has(id))) readerWaiter.resolve()
      sendNext()
    })
    const slowIds = []
    slow.onFrame(f => { if (f.type === 'message') slowIds.push(f.message.id) })

    // Send in a window of WINDOW unacked messages until the disconnect is counted (and then some more).
    const ackedIds = []
    let sent = 0
    let stopAt = MAX_MESSAGES
    let inFlight = 0
    let allAcked
    const done = new Promise(resolve => { allAcked = resolve })
    sendNext = () => {
      while (inFlight < WINDOW && sent - readerIds.size < READER_WINDOW && sent < stopAt) {
        const cmid = `slow-${sent}`
        sender.send({ type: 'send', room: 'general', content: `${sent} ${CONTENT}`, client_msg_id: cmid })
        sent += 1
        inFlight += 1
      }
      if (inFlight === 0 && sent >= stopAt) allAcked()
    }
    const failures = []
    sender.onFrame(f => {
      if (f.type === 'error') failures.push(f)
      if (f.type !== 'ack' && f.type !== 'error') return
      if (f.type === 'ack') ackedIds.push(f.id)
      inFlight -= 1
      sendNext()
    })
    let disconnectSeen = false
    const watcher = (async () => {
      while (sent < stopAt) {
        const m = await metrics(server.base)
        if (m.value(DISCONNECTS) >= 1) {
          disconnectSeen = true
          stopAt = Math.min(MAX_MESSAGES, Math.max(MIN_MESSAGES, sent + 200))
          sendNext()
          return
        }
        await new Promise(resolve => setTimeout(resolve, 50))
      }
    })()
    sendNext()
    await within(done, 120000, `acks for ${stopAt} sends (sent ${sent}, acked ${ackedIds.length})`)
    await watcher
    assert.deepEqual(failures, [], 'no send was refused')
    assert.equal(ackedIds.length, sent)

    // The healthy reader got every message, none missing.
    if (!ackedIds.every(id => readerIds.has(id))) {
      await within(new Promise(resolve => { readerWaiter = { ids: ackedIds, resolve } }), 30000,
        `the reader to receive all ${ackedIds.length} messages (has ${readerIds.size})`)
    }

    const m = await waitFor(async () => {
      const snap = await metrics(server.base)
      return snap.value(DISCONNECTS) >= 1 ? snap : null
    }, { timeoutMs: 10000, what: `${DISCONNECTS} >= 1 (sent ${sent} messages)` })
    assert.ok(disconnectSeen || m.value(DISCONNECTS) >= 1)

    // Once it reads again, the slow client sees what the kernel held, then the close.
    slow.ws._socket.resume()
    const { code } = await within(slow.closed, 20000, 'the slow client\'s connection to end')
    assert.equal(code, 1006, `close code ${code}: a reader that stopped reading is dropped without a close frame`)
    for (let i = 1; i < slowIds.length; i++) assert.ok(slowIds[i] > slowIds[i - 1], 'live frames arrive in id order')
    assert.ok(slowIds.length < ackedIds.length, 'the slow client missed messages live')

    // Reconnect and recover: everything after the last id it saw, paging until has_more is false.
    const again = await nativeConnect(server, tokens.slow)
    sockets.push(again)
    const last = slowIds.length ? slowIds[slowIds.length - 1] : 0
    const recovered = await fetchAfter(server.base, tokens.slow, 'general', last, 500)
    const have = new Set([...slowIds, ...recovered.map(msg => msg.id)])
    const missing = ackedIds.filter(id => !have.has(id))
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} message(s) not recovered after id ${last}`)
    t.diagnostic(`sent ${sent}; slow client got ${slowIds.length} live, closed with ${code}, recovered ${recovered.length} after id ${last}`)
    await again.close()
  })
})

// A peer that went away without closing (no FIN: a dead host, a dropped NAT mapping) is found by
// pings: an idle connection is pinged every --ws-ping-interval, and one from which nothing, not
// even the pong, arrived in the interval after a ping is dropped and counted.
describe('liveness pings', () => {
  const PING_INTERVAL_S = 1
  const TIMEOUTS = 'chat_limit_hits_total{kind="ping_timeout"}'
  let server
  const sockets = []

  before(async () => {
    server = await startChatd({ auth: 'open', args: ['--ws-ping-interval', String(PING_INTERVAL_S)] })
  })

  after(() => stopAll(server, sockets))

  const pings = c => {
    let count = 0
    let waiter = null
    c.ws.on('ping', () => {
      count += 1
      if (waiter && count >= waiter.n) waiter.resolve()
    })
    return n => count >= n ? Promise.resolve() : new Promise(resolve => { waiter = { n, resolve } })
  }

  it('an idle client that answers pings is pinged every interval and stays connected', async () => {
    const c = await nativeConnect(server, await openLogin(server.base, 'alive'))
    sockets.push(c)
    const pinged = pings(c)
    await within(pinged(3), 10000 * PING_INTERVAL_S, 'three pings')
    assert.equal(c.isClosed, false)
    // Still served: a message goes both ways.
    await sendOk(c, 'general', 'still here')
    assert.equal(((await metrics(server.base)).value(TIMEOUTS) ?? 0), 0)
  })

  it('a client that stops answering is dropped after the interval that follows a ping, and counted', async () => {
    const c = await nativeConnect(server, await openLogin(server.base, 'gone'), { autoPong: false })
    sockets.push(c)
    const pinged = pings(c)
    await within(pinged(1), 5000 * PING_INTERVAL_S, 'the first ping')
    const { code } = await within(c.closed, 5000 * PING_INTERVAL_S, 'the server to drop the silent client')
    assert.equal(code, 1006, 'dropped without a close frame: the peer is presumed gone')
    await waitFor(async () => (await metrics(server.base)).value(TIMEOUTS) === 1, { what: `${TIMEOUTS} = 1` })
  })
})
