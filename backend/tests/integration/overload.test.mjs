// Overload and hostile clients (docs/security.md, "Overload"): each attack is refused or cut off
// quickly, counted in /metrics, and a healthy observer's round trip (send in one connection,
// receive in another, through store, hub and delivery) stays within 2x of its median just before
// that attack: median over SAMPLES round trips, plus SLACK_MS for the timer granularity of a
// shared machine. The figures are printed as test diagnostics (docs/security.md quotes them).
import assert from 'node:assert/strict'
import { fork } from 'node:child_process'
import { createConnection } from 'node:net'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { performance } from 'node:perf_hooks'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

import {
  WebSocket, http, isMessage, metrics, nativeConnect, openLogin, sendOk, startChatd, waitFor, within, wsConnect
} from './lib/chatd.mjs'

const ATTACKER = fileURLToPath(new URL('./lib/attacker.mjs', import.meta.url))

const MAX_CONNECTIONS = 40
const REQUEST_TIMEOUT_S = 2
const OUTBOX_MAX = 256 * 1024
const PING_INTERVAL_S = 2
// RSS growth allowed during an attack that would otherwise make chatd buffer without bound. Under
// ASan freed memory stays in its quarantine (256 MiB by default), so the bound is wider there.
const RSS_GROWTH_MAX_MB = process.env.CHATD_TEST_SANITIZED ? 320 : 64
const SAMPLES = 50
const SAMPLE_GAP_MS = 10
const SLACK_MS = 5
const CUT_OFF_MS = 10000 // "quickly": far above what is measured, far below any default timeout
// Sanitizer builds (asan, tsan presets) are too slow and uneven for a timing bound: the figures
// are printed, the 2x rule is asserted on the optimised build (ci preset) only.
const TIMING_ASSERTED = !process.env.CHATD_TEST_SANITIZED
const limitHits = (m, kind) => m.value(`chat_limit_hits_total{kind="${kind}"}`) ?? 0
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
// The resident set of a process (/proc/PID/status VmRSS), in MiB.
const rssMb = pid => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))[1]) / 1024

function median (values) {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

describe('overload', () => {
  let server
  let observerA
  let observerB
  const attackers = new Set() // attacker processes still running, killed in after()
  const figures = []

  before(async () => {
    server = await startChatd({
      auth: 'open',
      args: ['--max-connections', String(MAX_CONNECTIONS), '--http-request-timeout', String(REQUEST_TIMEOUT_S),
        '--outbox-max-bytes', String(OUTBOX_MAX), '--rate-per-second', '200', '--rate-burst', '400',
        '--sqlite-sync', 'normal', '--ws-ping-interval', String(PING_INTERVAL_S),
        // These attacks fill --max-connections from one address: no headroom rule here (the
        // "connections per address" suite below tests it).
        '--headroom-connections-per-address', '0']
    })
    const a = await openLogin(server.base, 'observer_a')
    const b = await openLogin(server.base, 'observer_b')
    assert.equal((await http(server.base, 'POST', '/api/rooms', { name: 'quiet' }, a)).status, 201)
    assert.equal((await http(server.base, 'POST', '/api/rooms/quiet/join', undefined, b)).status, 200)
    observerA = await nativeConnect(server, a)
    observerB = await nativeConnect(server, b)
    // The attackers' room; the observers are not in it.
    const arenaOwner = await openLogin(server.base, 'arena_owner')
    assert.equal((await http(server.base, 'POST', '/api/rooms', { name: 'arena' }, arenaOwner)).status, 201)
  })

  after(async () => {
    for (const child of attackers) child.kill('SIGKILL')
    await observerA?.close()
    await observerB?.close()
    try {
      await server?.stop({ expectCode: 0 })
    } finally {
      server?.cleanup()
    }
    if (figures.length) {
      console.log('overload figures (observer round trip, median ms):')
      for (const f of figures) console.log(`  ${f}`)
    }
  })

  // One round trip: observer A sends into "quiet", observer B receives it.
  let sampleCounter = 0
  async function roundTrip () {
    const content = `rt-${process.pid}-${++sampleCounter}`
    const started = performance.now()
    await Promise.all([
      sendOk(observerA, 'quiet', content),
      observerB.next(isMessage(m => m.content === content), 10000, `round trip ${content}`)
    ])
    const ms = performance.now() - started
    observerA.drain()
    observerB.drain()
    return ms
  }
  async function sampleLatency (count = SAMPLES) {
    const out = []
    for (let i = 0; i < count; i++) {
      out.push(await roundTrip())
      await sleep(SAMPLE_GAP_MS)
    }
    return out
  }
  // Starts lib/attacker.mjs with `kind`, samples the observer once the attack is engaged (at
  // least SAMPLES round trips, and on until `until()` holds), stops the attacker and returns its
  // result. Asserts the 2x rule and records the figures.
  async function underAttack (t, name, kind, params = {}, { until, note = () => '' } = {}) {
    const before = median(await sampleLatency())
    const child = fork(ATTACKER, [kind, JSON.stringify({ port: server.port, wsBase: server.wsBase, ...params })],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    attackers.add(child)
    const messages = []
    let wake = null
    child.on('message', m => { messages.push(m); wake?.() })
    const nextMessage = async what => {
      while (messages.length === 0) {
        if (child.exitCode !== null) throw new Error(`attacker ${kind} exited (${child.exitCode}) before ${what}`)
        await Promise.race([new Promise(resolve => { wake = resolve }), once(child, 'exit')])
      }
      const m = messages.shift()
      if (m.error) throw new Error(`attacker ${kind}: ${m.error}`)
      return m
    }
    await nextMessage('engaging')
    const samples = await sampleLatency()
    while (until && !(await until())) samples.push(...await sampleLatency(10))
    const during = median(samples)
    child.send('stop')
    const { result } = await nextMessage('its result')
    await once(child, 'exit').catch(() => {})
    attackers.delete(child)
    const line = `${TIMING_ASSERTED ? '' : '(sanitizer build, not asserted) '}${name}: before ${before.toFixed(2)} ms, during ${during.toFixed(2)} ms over ${samples.length} ` +
      `round trips (${(during / before).toFixed(2)}x; bound 2x + ${SLACK_MS} ms = ${(2 * before + SLACK_MS).toFixed(2)} ms)`
    const detail = note(result)
    figures.push(detail ? `${line}; ${detail}` : line)
    t.diagnostic(figures[figures.length - 1])
    if (TIMING_ASSERTED) {
      assert.ok(during <= 2 * before + SLACK_MS, `observer latency under "${name}": ${figures[figures.length - 1]}`)
    }
    return result
  }
  const maxMs = list => Math.max(0, ...list.map(r => r.ms)).toFixed(0)

  it('connections past --max-connections are refused with 503 and counted', async t => {
    const hitsBefore = limitHits(await metrics(server.base), 'connections')
    const token = await openLogin(server.base, 'crowd')
    const open = (await metrics(server.base)).value('chat_ws_connections')
    const result = await underAttack(t, 'connections past the limit', 'connections',
      { token, fill: MAX_CONNECTIONS - open },
      { note: r => `${r.opened} opened to the limit, then ${JSON.stringify(r.statuses)} (status: attempts), slowest refusal ${r.slowestMs.toFixed(0)} ms` })
    assert.deepEqual(Object.keys(result.statuses), ['503'], 'every connection past the limit is refused with 503')
    assert.ok(result.slowestMs < CUT_OFF_MS)
    const refused = result.statuses['503']
    assert.ok(limitHits(await metrics(server.base), 'connections') - hitsBefore >= refused)
    await waitFor(async () => (await metrics(server.base)).value('chat_ws_connections') <= open,
      { what: 'the crowd to disconnect' })
  })

  // One HTTP/1.1 request on a raw socket that stays open (keep-alive) unless the server closes
  // it; resolves with the socket and the answer's status code.
  function keepAliveRequest (path = '/api/config') {
    return new Promise((resolve, reject) => {
      const socket = createConnection(server.port, '127.0.0.1')
      let head = ''
      socket.setEncoding('latin1')
      socket.on('error', () => {})
      socket.once('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`))
      const onData = chunk => {
        head += chunk
        const status = /^HTTP\/1\.1 (\d{3})/.exec(head)
        if (status) { socket.off('data', onData); resolve({ socket, status: Number(status[1]) }) }
      }
      socket.on('data', onData)
      socket.once('close', () => reject(new Error(`closed without an answer: ${JSON.stringify(head)}`)))
    })
  }

  it('a flood from one user is refused message by message (rate_limited) and counted', async t => {
    const m0 = await metrics(server.base)
    const hitsBefore = limitHits(m0, 'rate') + limitHits(m0, 'frame_rate')
    const token = await openLogin(server.base, 'flooder')
    await http(server.base, 'POST', '/api/rooms/arena/join', undefined, token)
    const result = await underAttack(t, 'flood from one user', 'flood', { token, room: 'arena' },
      { note: r => `${r.sent} sends, ${r.rateLimited} answered rate_limited${r.closed ? `, closed ${r.closed}` : ''}` })
    // Refused send by send (`rate`), past the frame rate dropped with one error per second
    // (`frame_rate`) and closed with 1008 past --frame-flood-close; a flooder that does not keep
    // up reading its refusals may be cut off as a slow consumer (close 1006) first.
    assert.ok(result.rateLimited > 0, `flood sends refused: ${JSON.stringify(result)}`)
    assert.ok(result.closed === null || result.closed === 1006 || result.closed === 1008, JSON.stringify(result))
    await waitFor(async () => {
      const m = await metrics(server.base)
      return limitHits(m, 'rate') + limitHits(m, 'frame_rate') - hitsBefore >= result.rateLimited
    }, { what: 'chat_limit_hits_total{kind="rate"|"frame_rate"} to count every refusal' })
  })

  it('a typing flood in general costs nobody else their connection: coalesced, refused, counted', async t => {
    // Defaults: one typing notice per user per room per second (--typing-interval-ms), frames
    // refused past the frame rate with one rate_limited error per second, and a connection that
    // keeps flooding closed with 1008 (--frame-flood-close).
    const before = await metrics(server.base)
    const hits = kind => limitHits(before, kind)
    const token = await openLogin(server.base, 'typist')
    const notices = { a: 0, b: 0 }
    const countFrom = key => f => { if (f.type === 'typing' && f.user_name === 'typist') notices[key] += 1 }
    observerA.onFrame(countFrom('a'))
    observerB.onFrame(countFrom('b'))
    const started = performance.now()
    const result = await underAttack(t, 'typing flood in general', 'typingFlood', { token, room: 'general' }, {
      // ~10 s of flood, sampled in bursts far below the frame rate of the observer's connection.
      until: async () => { await sleep(500); return performance.now() - started >= 10000 },
      note: r => `${r.sent} typing frames over ${((performance.now() - started) / 1000).toFixed(1)} s on ${r.connections} connection(s), ` +
        `${r.rateLimited} rate_limited errors, closes ${JSON.stringify(r.closes)}; typing notices received: ${notices.a} and ${notices.b}`
    })
    const seconds = (performance.now() - started) / 1000
    assert.ok(!observerA.isClosed && !observerB.isClosed, 'the observers stay connected')
    for (const key of ['a', 'b']) {
      assert.ok(notices[key] >= 1, `observer ${key} saw the flooder's typing at least once`)
      assert.ok(notices[key] <= Math.ceil(seconds) + 1, `observer ${key}: ${notices[key]} typing notices in ${seconds.toFixed(1)} s`)
    }
    assert.ok(result.rateLimited >= 1, JSON.stringify(result))
    // The flooder's own answers are bounded: at most one error per connection per second.
    assert.ok(result.rateLimited <= result.connections * (Math.ceil(seconds) + 1), JSON.stringify(result))
    assert.ok((result.closes['1008'] ?? 0) >= 1, `the flood is closed with 1008: ${JSON.stringify(result)}`)
    const afterwards = await metrics(server.base)
    assert.equal(afterwards.value('chat_ws_slow_consumer_disconnects_total'), before.value('chat_ws_slow_consumer_disconnects_total'))
    assert.ok(limitHits(afterwards, 'frame_rate') > hits('frame_rate'))
    assert.ok(limitHits(afterwards, 'frame_flood') > hits('frame_flood'))
    assert.ok(limitHits(afterwards, 'typing_coalesced') > hits('typing_coalesced'))
    observerA.drain()
    observerB.drain()
  })

  it('a client that never reads is cut off at --outbox-max-bytes and counted', async t => {
    const before = await metrics(server.base)
    const overflowBefore = limitHits(before, 'outbox_overflow')
    const disconnectsBefore = before.value('chat_ws_slow_consumer_disconnects_total')
    const tokens = {}
    for (const name of ['sloth', 'loud_a', 'loud_b']) {
      tokens[name] = await openLogin(server.base, name)
      await http(server.base, 'POST', '/api/rooms/arena/join', undefined, tokens[name])
    }
    const started = performance.now()
    let cutAfterMs = null
    const result = await underAttack(t, 'client that never reads', 'neverReads',
      { slothToken: tokens.sloth, loudTokens: [tokens.loud_a, tokens.loud_b], room: 'arena' }, {
        async until () {
          if (cutAfterMs !== null) return true
          if ((await metrics(server.base)).value('chat_ws_slow_consumer_disconnects_total') > disconnectsBefore) {
            cutAfterMs = performance.now() - started
            return true
          }
          assert.ok(performance.now() - started < 60000, 'the reader that stopped was not cut off within 60 s')
          return false
        },
        note: r => `${r.sent} messages of 3.9 kB sent into its room; cut off ${(cutAfterMs / 1000).toFixed(1)} s after the attack began`
      })
    await waitFor(async () => limitHits(await metrics(server.base), 'outbox_overflow') > overflowBefore,
      { what: 'chat_limit_hits_total{kind="outbox_overflow"} to count the drop' })
    assert.equal(result.slothCloseCode, 1006, `the sloth's connection ended without a close frame: ${JSON.stringify(result)}`)
  })

  it('a ping flood from a client that never reads is dropped within two ping intervals of its stall, counted, and memory stays bounded', async t => {
    const before = await metrics(server.base)
    const droppedBefore = limitHits(before, 'write_stalled') + limitHits(before, 'queued_bytes')
    const rssBefore = rssMb(server.proc.pid)
    let rssMax = rssBefore
    const token = await openLogin(server.base, 'pinger')
    const started = performance.now()
    let droppedAfterMs = null
    // A server that buffers without bound is killed before it takes the machine's memory.
    const watch = setInterval(() => {
      if (!server.running) return
      rssMax = Math.max(rssMax, rssMb(server.proc.pid))
      if (rssMax - rssBefore > 4 * RSS_GROWTH_MAX_MB) server.proc.kill('SIGKILL')
    }, 20)
    t.after(() => clearInterval(watch))
    const result = await underAttack(t, 'ping flood, never reading (/receive and /ws)', 'pingFlood',
      { paths: ['/receive/pinger_open', `/ws?token=${token}`] }, {
        async until () {
          assert.ok(server.running, 'chatd is running')
          assert.ok(rssMax - rssBefore < RSS_GROWTH_MAX_MB, `chatd's RSS grew from ${rssBefore.toFixed(0)} to ${rssMax.toFixed(0)} MiB under a ping flood`)
          if (droppedAfterMs === null) {
            const m = await metrics(server.base)
            if (limitHits(m, 'write_stalled') + limitHits(m, 'queued_bytes') - droppedBefore >= 2) droppedAfterMs = performance.now() - started
          }
          assert.ok(performance.now() - started < CUT_OFF_MS + 4 * PING_INTERVAL_S * 1000, 'the ping flooders were not dropped in time')
          return droppedAfterMs !== null
        },
        note: r => `${r.floods.map(f => `${f.path}: ${f.pings} pings sent, closed after ${f.closedAfterMs?.toFixed(0)} ms`).join('; ')}; ` +
          `RSS ${rssBefore.toFixed(0)} -> max ${rssMax.toFixed(0)} MiB; both counted ${(droppedAfterMs / 1000).toFixed(1)} s after the attack began`
      })
    clearInterval(watch)
    assert.ok(server.running, 'chatd is still running')
    assert.ok(rssMax - rssBefore < RSS_GROWTH_MAX_MB, `chatd's RSS grew from ${rssBefore.toFixed(0)} to ${rssMax.toFixed(0)} MiB`)
    for (const f of result.floods) assert.notEqual(f.closedAfterMs, null, `the server closed the flood on ${f.path}`)
    const after = await metrics(server.base)
    assert.ok(after.value('chat_ws_slow_consumer_disconnects_total') - before.value('chat_ws_slow_consumer_disconnects_total') >= 2)
  })

  it('slowloris: requests trickled byte by byte are cut off after --http-request-timeout and counted', async t => {
    const hitsBefore = limitHits(await metrics(server.base), 'request_timeout')
    const count = 30
    const result = await underAttack(t, `slowloris (${count} connections)`, 'slowloris', { count }, {
      // Samples until the server timed every connection out.
      async until () { return limitHits(await metrics(server.base), 'request_timeout') - hitsBefore >= count },
      note: r => `${r.results.length} connections closed, slowest after ${maxMs(r.results)} ms`
    })
    assert.equal(result.results.length, count)
    for (const r of result.results) {
      assert.ok(r.ms < CUT_OFF_MS, `closed after ${r.ms} ms`)
      assert.equal(r.status, 'none', 'closed without an answer (the deadline closed the socket)')
    }
    assert.ok(limitHits(await metrics(server.base), 'request_timeout') - hitsBefore >= count)
  })

  it('a 100 MB body (declared or chunked) is refused with 413 after 64 KiB, read back by every client, and cut off', async t => {
    const hitsBefore = limitHits(await metrics(server.base), 'body_size')
    const { outcomes, hundredMb } = await underAttack(t, '100 MB bodies', 'hugeBodies', {}, {
      note: r => `${r.outcomes.length} uploads cut off after at most ${Math.max(...r.outcomes.map(o => o.written)) >> 20} MiB written, slowest ${maxMs(r.outcomes)} ms, answers ${[...new Set(r.outcomes.map(o => o.status))].join('/')}`
    })
    for (const o of outcomes) {
      assert.ok(o.written < hundredMb, `upload cut off before 100 MB: ${JSON.stringify(o)}`)
      assert.ok(o.ms < CUT_OFF_MS, JSON.stringify(o))
      // The lingering close: the answer is never destroyed by a reset.
      assert.equal(o.status, '413', JSON.stringify(o))
    }
    assert.ok(limitHits(await metrics(server.base), 'body_size') - hitsBefore >= outcomes.length)
  })

  it('a chunk-size line or a trailer section that never ends is refused with 431 at the read buffer bound, counted, and memory stays bounded', async t => {
    const hitsBefore = limitHits(await metrics(server.base), 'chunked_framing')
    const rssBefore = rssMb(server.proc.pid)
    let rssMax = rssBefore
    const watch = setInterval(() => { rssMax = Math.max(rssMax, rssMb(server.proc.pid)) }, 20)
    let result
    try {
      result = await underAttack(t, 'endless chunk extension and trailer', 'chunkedFraming', {}, {
        note: r => `${r.outcomes.length} uploads, answers ${[...new Set(r.outcomes.map(o => o.status))].join('/')}, ` +
          `at most ${Math.max(...r.outcomes.map(o => o.written)) >> 10} KiB written, slowest ${maxMs(r.outcomes)} ms; RSS ${rssBefore.toFixed(0)} -> max ${rssMax.toFixed(0)} MiB`
      })
    } finally {
      clearInterval(watch)
    }
    assert.ok(rssMax - rssBefore < RSS_GROWTH_MAX_MB / 2, `chatd's RSS grew from ${rssBefore.toFixed(0)} to ${rssMax.toFixed(0)} MiB`)
    const { outcomes } = result
    for (const o of outcomes) {
      assert.ok(o.status === '431' || o.status === 'reset', JSON.stringify(o))
      assert.ok(o.ms < CUT_OFF_MS, JSON.stringify(o))
      assert.ok(o.written < 64 * 1024 * 1024, `cut off before 64 MiB: ${JSON.stringify(o)}`)
    }
    for (const which of ['extension', 'trailer']) {
      assert.ok(outcomes.some(o => o.which === which && o.status === '431'), `a 431 read back for the endless ${which}: ${JSON.stringify(outcomes)}`)
    }
    await waitFor(async () => limitHits(await metrics(server.base), 'chunked_framing') - hitsBefore >= outcomes.length,
      { what: 'chat_limit_hits_total{kind="chunked_framing"} to count every refusal' })
  })

  it('permessage-deflate is not negotiated (no compression bomb possible)', async () => {
    const ws = new WebSocket(`${server.wsBase}/receive/deflater`, { perMessageDeflate: true })
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
    assert.equal(ws.extensions, '', 'the server accepted no extension')
    ws.terminate()
  })

  it('WebSocket frame bombs (huge declared length, endless fragments, endless empty fragments, compressed frames) are closed and counted', async t => {
    const before = await metrics(server.base)
    const frameBefore = limitHits(before, 'frame_size')
    const protocolBefore = limitHits(before, 'ws_protocol')
    const results = await underAttack(t, 'WebSocket frame bombs', 'frameBombs', {}, {
      note: r => Object.entries(r).map(([k, v]) =>
        `${k}: ${v.length} closed with ${[...new Set(v.map(x => x.code ?? 'no close frame'))].join('/')}, slowest ${maxMs(v)} ms`).join('; ')
    })
    // The server sends close 1009 and closes; an attacker still writing gets a reset, which can
    // discard the close frame before it is read (code null). Each is counted either way.
    for (const r of [...results.huge, ...results.fragments]) {
      assert.ok(r.code === 1009 || r.code === null, `too big: close 1009 (${JSON.stringify(r)})`)
      assert.ok(r.ms < CUT_OFF_MS)
    }
    assert.ok(results.huge.some(r => r.code === 1009) && results.fragments.some(r => r.code === 1009),
      'close frames with 1009 were read back')
    // Endless empty fragments never reach --max-frame-bytes: dropped at --ws-max-message-frames
    // (1024 by default), without a close frame.
    for (const r of results.emptyFragments) {
      assert.equal(r.code, null, `dropped without a close frame (${JSON.stringify(r)})`)
      assert.ok(r.ms < CUT_OFF_MS, JSON.stringify(r))
    }
    for (const r of results.compressed) {
      assert.equal(r.code, 1002, `compressed frame without the extension: close 1002 (${JSON.stringify(r)})`)
      assert.ok(r.ms < CUT_OFF_MS)
    }
    // The server counts once its read ends, just after the close the client saw: wait for it.
    await waitFor(async () => {
      const m = await metrics(server.base)
      return limitHits(m, 'frame_size') - frameBefore >= results.huge.length + results.fragments.length &&
        limitHits(m, 'ws_protocol') - protocolBefore >= results.compressed.length + results.emptyFragments.length
    }, { what: 'frame_size and ws_protocol hits for every bomb' })
    assert.ok(results.emptyFragments.length > 0)
  })

  it('plain HTTP connections count against --max-connections: at the limit requests and upgrades are answered 503 and counted', async () => {
    const OBSERVERS = 2 // the only WebSockets left open by the tests above
    await waitFor(async () => (await metrics(server.base)).value('chat_ws_connections') === OBSERVERS,
      { what: 'the earlier attacks\' WebSockets to close' })
    const hitsBefore = limitHits(await metrics(server.base), 'connections')
    const held = [] // keep-alive connections, each answered once and then left open (idle)
    let refusals = 0
    const refused = async ({ socket, status }) => {
      socket.destroy()
      assert.equal(status, 503)
      refusals++
    }
    try {
      // Up to the limit: a connection an earlier test just closed may still be counted for a
      // moment, so a refusal below the expected edge is followed by another try.
      await waitFor(async () => {
        const answer = await keepAliveRequest()
        if (answer.status !== 503) {
          assert.equal(answer.status, 200)
          held.push(answer.socket)
          assert.ok(held.length + OBSERVERS <= MAX_CONNECTIONS, `${held.length} idle HTTP connections held`)
          return false
        }
        await refused(answer)
        return held.length + OBSERVERS === MAX_CONNECTIONS
      }, { timeoutMs: 20000, intervalMs: 1, what: `${MAX_CONNECTIONS - OBSERVERS} idle HTTP connections to fill the limit` })
      // Past it: a request on a new connection and an upgrade are refused.
      const login = await http(server.base, 'POST', '/api/login', { user_name: 'late_crowd' })
      assert.equal(login.status, 503, login.text)
      assert.equal(login.json.error.code, 'server_full')
      refusals++
      await assert.rejects(wsConnect(`${server.wsBase}/receive/late_crowd`), e => e.status === 503)
      refusals++
      // One connection closed frees one slot, and only one.
      held.pop().destroy()
      await waitFor(async () => {
        const answer = await keepAliveRequest()
        if (answer.status === 503) { await refused(answer); return false }
        held.push(answer.socket)
        return true
      }, { what: 'the closed connection to free its slot' })
      await refused(await keepAliveRequest())
    } finally {
      for (const socket of held) socket.destroy()
    }
    await waitFor(async () => {
      const m = await metrics(server.base).catch(() => null) // refused (503) until a slot is free
      return m && limitHits(m, 'connections') - hitsBefore >= refusals
    }, { what: 'chat_limit_hits_total{kind="connections"} to count every refusal' })
  })

  it('afterwards the observers still talk', async () => {
    const content = 'still here'
    await sendOk(observerA, 'quiet', content)
    await observerB.next(isMessage(m => m.content === content), 5000)
  })
})

// One address filling the server before signing in (docs/security.md, "Overload"): every
// accepted TCP connection counts against its address at accept, an idle connection that never
// sends a request is closed after --http-first-request-timeout, and near --max-connections an
// address that already holds a few connections is refused so that other addresses still get in.
// Clients bind to other loopback addresses (127.0.0.2-127.0.0.8) to be other addresses; the test's
// own requests (/metrics) come from 127.0.0.1.
describe('connections per address', () => {
  const MAX = 40
  const PER_ADDRESS = 10
  const HEADROOM = 4
  const FIRST_REQUEST_S = 1
  let server
  const held = new Set()

  before(async () => {
    server = await startChatd({
      auth: 'open',
      args: ['--max-connections', String(MAX), '--max-connections-per-address', String(PER_ADDRESS),
        '--headroom-connections-per-address', String(HEADROOM), '--http-first-request-timeout', String(FIRST_REQUEST_S)]
    })
  })
  after(async () => {
    for (const s of held) s.destroy()
    try {
      await server?.stop({ expectCode: 0 })
    } finally {
      server?.cleanup()
    }
  })

  // An idle TCP connection from `localAddress`: resolves once connected, with `ended` (the time
  // to close and the bytes received).
  function idleConnection (localAddress) {
    return new Promise((resolve, reject) => {
      const socket = createConnection({ port: server.port, host: '127.0.0.1', localAddress })
      const chunks = []
      const opened = performance.now()
      socket.on('data', c => chunks.push(c))
      socket.on('error', () => {})
      socket.ended = new Promise(resolveEnd => socket.on('close', () => {
        held.delete(socket)
        resolveEnd({ ms: performance.now() - opened, data: Buffer.concat(chunks).toString('latin1') })
      }))
      socket.once('connect', () => { held.add(socket); resolve(socket) })
      socket.once('error', reject)
    })
  }
  // Sign in and chat from `localAddress`: a login, a WebSocket, a send acked.
  async function signInAndChat (localAddress, name) {
    const login = await new Promise((resolve, reject) => {
      const body = JSON.stringify({ user_name: name })
      const req = httpRequest({ host: '127.0.0.1', port: server.port, localAddress, agent: false, method: 'POST', path: '/api/login', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } }, res => {
        let text = ''
        res.on('data', c => { text += c })
        res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }))
      })
      req.on('error', reject)
      req.end(body)
    })
    assert.equal(login.status, 200, JSON.stringify(login))
    const ws = new WebSocket(`${server.wsBase}/ws?token=${login.json.token}`, { localAddress, perMessageDeflate: false })
    const frames = []
    let wake = null
    ws.on('message', d => { frames.push(JSON.parse(d)); wake?.() })
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); ws.once('unexpected-response', (q, r) => reject(new Error(`upgrade ${r.statusCode}`))) })
    ws.send(JSON.stringify({ type: 'send', room: 'general', content: `hello from ${localAddress}`, client_msg_id: `pa-${name}` }))
    const deadline = Date.now() + 5000
    while (!frames.some(f => f.type === 'ack' && f.client_msg_id === `pa-${name}`)) {
      assert.ok(Date.now() < deadline, `no ack from ${localAddress}: ${JSON.stringify(frames)}`)
      await new Promise(resolve => { wake = resolve; setTimeout(resolve, 100) })
    }
    ws.terminate()
  }
  const refusedAtOnce = async socket => {
    const { ms, data } = await socket.ended
    assert.match(data, /^HTTP\/1\.1 429 /, `refused with 429: ${JSON.stringify(data)}`)
    assert.match(data, /too_many_connections/)
    return ms
  }

  it('one address gets --max-connections-per-address idle TCP connections, the next is refused at once and counted, another address still signs in and chats, and the idle ones close after --http-first-request-timeout', async t => {
    const hitsBefore = limitHits(await metrics(server.base), 'connections_per_address')
    const idle = []
    for (let i = 0; i < PER_ADDRESS; i++) idle.push(await idleConnection('127.0.0.8'))
    const refusedMs = await refusedAtOnce(await idleConnection('127.0.0.8'))
    assert.ok(refusedMs < 1000, `refused within ${refusedMs} ms`)
    await signInAndChat('127.0.0.2', 'other_address')
    await waitFor(async () => limitHits(await metrics(server.base), 'connections_per_address') - hitsBefore >= 1,
      { what: 'chat_limit_hits_total{kind="connections_per_address"} to count the refusal' })
    // The held ones sent nothing: closed (without an answer) after the first-request timeout.
    const ended = await within(Promise.all(idle.map(s => s.ended)), FIRST_REQUEST_S * 1000 + CUT_OFF_MS, 'the idle connections to close')
    for (const e of ended) {
      assert.equal(e.data, '', 'closed without an answer')
      assert.ok(e.ms >= FIRST_REQUEST_S * 1000 - 50 && e.ms < FIRST_REQUEST_S * 1000 + 2000, `closed after ${e.ms} ms`)
    }
    t.diagnostic(`refused in ${refusedMs.toFixed(0)} ms; idle connections closed after ${Math.min(...ended.map(e => e.ms)).toFixed(0)}-${Math.max(...ended.map(e => e.ms)).toFixed(0)} ms`)
    // Its count is back: the address gets in again.
    await signInAndChat('127.0.0.8', 'first_address_again')
  })

  it(`above 90 % of --max-connections an address holding --headroom-connections-per-address is refused, one holding fewer gets in`, async () => {
    await waitFor(async () => server.running && (await metrics(server.base)).value('chat_ws_connections') === 0,
      { what: 'the first test\'s WebSockets to close' })
    // 36 of 40 held, by four addresses: 10, 10, 10 and 6.
    const fill = { '127.0.0.3': 10, '127.0.0.4': 10, '127.0.0.5': 10, '127.0.0.6': 6 }
    const sockets = []
    for (const [address, count] of Object.entries(fill)) {
      for (let i = 0; i < count; i++) {
        const socket = await idleConnection(address)
        // A request begun (so the first-request timeout no longer applies) and never finished.
        socket.write('GET /api/config HTTP/1.1\r\n')
        sockets.push(socket)
      }
    }
    // 127.0.0.6 holds 6 >= 4: refused; 127.0.0.7 holds none: it signs in and chats.
    await refusedAtOnce(await idleConnection('127.0.0.6'))
    await signInAndChat('127.0.0.7', 'headroom_user')
    for (const s of sockets) s.destroy()
  })
})
