// Nothing is unbounded: every limit refuses, answers clearly, is counted, and leaves the server
// healthy (docs/protocol.md error and close codes).
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import {
  http, isMessage, metrics, nativeConnect, openLogin, sendMessage, sendOk, startChatd, waitFor, within,
  wsConnect
} from './lib/chatd.mjs'

const LIMITS = {
  '--max-message-length': 100,
  '--max-frame-bytes': 4096,
  '--rate-per-second': 5,
  '--rate-burst': 5,
  '--max-connections-per-address': 8,
  '--max-body-bytes': 2048,
  '--ws-max-message-frames': 16
}

describe('limits', () => {
  let server
  const open = new Set()
  let userCounter = 0

  // A fresh user per check, so one check's rate budget never affects another.
  async function connectFresh () {
    userCounter += 1
    const token = await openLogin(server.base, `lim${userCounter}`)
    const c = await nativeConnect(server, token)
    open.add(c)
    c.closed.then(() => open.delete(c))
    return c
  }
  const closedWithin = (c, what) => within(c.closed, 5000, what)
  const errorCode = res => res.json?.error?.code

  before(async () => {
    server = await startChatd({ auth: 'open', args: Object.entries(LIMITS).flat().map(String) })
  })

  after(async () => {
    for (const c of open) c.terminate()
    try {
      await server?.stop({ expectCode: 0 })
    } finally {
      server?.cleanup()
    }
  })

  it('GET /api/config reports the configured limits', async () => {
    const res = await http(server.base, 'GET', '/api/config')
    assert.equal(res.status, 200, res.text)
    assert.deepEqual(res.json.limits, {
      ...res.json.limits,
      max_message_length: 100,
      max_frame_bytes: 4096,
      rate_per_second: 5,
      rate_burst: 5
    })
  })

  it('a message of exactly max-message-length is accepted and one character more is message_too_long', async () => {
    const c = await connectFresh()
    const ok = await sendMessage(c, 'general', 'x'.repeat(100))
    assert.equal(ok.type, 'ack', JSON.stringify(ok))
    const long = await sendMessage(c, 'general', 'x'.repeat(101), 'too-long')
    assert.equal(long.type, 'error', JSON.stringify(long))
    assert.equal(long.code, 'message_too_long')
    assert.equal(long.client_msg_id, 'too-long')
    await c.close()
  })

  it('max-message-length counts characters, not bytes', async () => {
    const c = await connectFresh()
    const ok = await sendMessage(c, 'general', 'é'.repeat(100)) // 200 bytes of UTF-8
    assert.equal(ok.type, 'ack', JSON.stringify(ok))
    await c.close()
  })

  it('a frame larger than max-frame-bytes closes the socket with 1009', async () => {
    const c = await connectFresh()
    c.sendRaw(JSON.stringify({ type: 'send', room: 'general', client_msg_id: 'big', content: 'y'.repeat(5000) }))
    const { code } = await closedWithin(c, 'close after an oversized frame')
    assert.equal(code, 1009)
  })

  it('invalid JSON is answered with invalid_json and the socket stays usable', async () => {
    const c = await connectFresh()
    c.sendRaw('{"type": "send", ')
    const err = await c.next(f => f.type === 'error')
    assert.equal(err.code, 'invalid_json')
    c.send({ type: 'ping' })
    await c.next(f => f.type === 'pong')
    c.sendRaw('[1, 2, 3]')
    const notObject = await c.next(f => f.type === 'error')
    assert.ok(['invalid_json', 'bad_request'].includes(notObject.code), JSON.stringify(notObject))
    await c.close()
  })

  it('an unknown frame type is answered with unknown_type', async () => {
    const c = await connectFresh()
    c.send({ type: 'teleport', room: 'general' })
    const err = await c.next(f => f.type === 'error')
    assert.equal(err.code, 'unknown_type')
    c.send({ type: 'ping' })
    await c.next(f => f.type === 'pong')
    await c.close()
  })

  it('invalid UTF-8 in a text frame closes the socket with 1007', async () => {
    const c = await connectFresh()
    c.sendRaw(Buffer.from([0xff, 0xfe]), { binary: false })
    const { code } = await closedWithin(c, 'close after invalid UTF-8')
    assert.equal(code, 1007)
  })

  it('invalid UTF-8 in the first fragment of a text message closes with 1007 at once, without waiting for the rest', async () => {
    const c = await connectFresh()
    const hitsBefore = (await metrics(server.base)).value('chat_limit_hits_total{kind="invalid_utf8"}') ?? 0
    // '{"type":"ping","x":"' then a byte that never starts valid UTF-8, no FIN, and no more.
    c.sendRaw(Buffer.concat([Buffer.from('{"type":"ping","x":"'), Buffer.from([0xc0, 0x80])]), { fin: false, binary: false })
    const { code } = await closedWithin(c, 'close 1007 after an invalid first fragment')
    assert.equal(code, 1007)
    await waitFor(async () => (await metrics(server.base)).value('chat_limit_hits_total{kind="invalid_utf8"}') === hitsBefore + 1,
      { what: 'chat_limit_hits_total{kind="invalid_utf8"} to count it' })
  })

  it('a UTF-8 sequence cut between two fragments is valid', async () => {
    const c = await connectFresh()
    const text = Buffer.from(JSON.stringify({ type: 'ping', x: 'é€😀' }))
    const cut = text.indexOf(0xf0) + 2 // inside the 4-byte sequence
    c.sendRaw(text.subarray(0, cut), { fin: false, binary: false })
    c.sendRaw(text.subarray(cut), { fin: true })
    await c.next(f => f.type === 'pong')
    await c.close()
  })

  it('a message of --ws-max-message-frames frames is read; one frame more drops the connection and is counted', async () => {
    const c = await connectFresh()
    const ping = JSON.stringify({ type: 'ping' })
    // 16 frames: the text, 14 empty continuation frames, an empty final one.
    c.sendRaw(ping, { fin: false })
    for (let i = 0; i < 14; i++) c.sendRaw('', { fin: false })
    c.sendRaw('', { fin: true })
    await c.next(f => f.type === 'pong')
    const hitsBefore = (await metrics(server.base)).value('chat_limit_hits_total{kind="ws_protocol"}') ?? 0
    // 17 frames of a message that never ends: dropped at the 17th, without a close frame.
    c.sendRaw(ping, { fin: false })
    for (let i = 0; i < 16; i++) c.sendRaw('', { fin: false })
    const { code } = await closedWithin(c, 'drop at the 17th frame of one message')
    assert.equal(code, 1006)
    await waitFor(async () => (await metrics(server.base)).value('chat_limit_hits_total{kind="ws_protocol"}') === hitsBefore + 1,
      { what: 'chat_limit_hits_total{kind="ws_protocol"} to count the drop' })
  })

  it('a burst of 20 sends gets the burst acked and the rest rate_limited, each answered once', async () => {
    const c = await connectFresh()
    const cmids = Array.from({ length: 20 }, (_, i) => `burst-${i}`)
    for (const cmid of cmids) c.send({ type: 'send', room: 'general', content: cmid, client_msg_id: cmid })
    const answers = []
    for (const cmid of cmids) {
      answers.push(await c.next(f => (f.type === 'ack' || f.type === 'error') && f.client_msg_id === cmid, 5000))
    }
    const acked = answers.filter(f => f.type === 'ack').map(f => f.client_msg_id)
    const limited = answers.filter(f => f.type === 'error' && f.code === 'rate_limited').map(f => f.client_msg_id)
    assert.equal(acked.length + limited.length, 20, `answers: ${JSON.stringify(answers)}`)
    assert.deepEqual(acked.slice(0, 5), cmids.slice(0, 5), 'the first 5 (the burst) are acked')
    // 5 tokens per second refill: the whole burst is read in well under 200 ms, so at most one
    // more token can appear; anything beyond that would mean the limit is not applied.
    assert.ok(acked.length <= 6, `acked ${acked.length}: ${acked}`)
    // Nothing else arrives for these ids (each was answered exactly once).
    c.send({ type: 'ping' })
    await c.next(f => f.type === 'pong')
    assert.deepEqual(c.drain(f => cmids.includes(f.client_msg_id) && f.type !== 'message'), [])
    await c.close()
  })

  it('the 9th concurrent connection from one address is refused with HTTP 429', async () => {
    for (const c of [...open]) await c.close()
    await waitFor(async () => (await metrics(server.base)).value('chat_ws_connections') === 0,
      { what: 'chat_ws_connections to drop to 0' })
    const token = await openLogin(server.base, 'many')
    const conns = []
    for (let i = 0; i < 8; i++) {
      const c = await wsConnect(`${server.wsBase}/ws?token=${token}`)
      open.add(c)
      conns.push(c)
    }
    await assert.rejects(wsConnect(`${server.wsBase}/ws?token=${token}`), err => {
      assert.equal(err.status, 429, err.message)
      return true
    })
    // Seed streams count too.
    await assert.rejects(wsConnect(`${server.wsBase}/receive/someone`), err => err.status === 429)
    for (const c of conns) await c.close()
  })

  it('an HTTP body over max-body-bytes is refused with 413 and a JSON error', async () => {
    const body = JSON.stringify({ content: 'z'.repeat(3000), user_name: 'bodycheck' })
    const res = await http(server.base, 'POST', '/send/', body)
    assert.equal(res.status, 413, res.text)
    assert.equal(typeof errorCode(res), 'string', res.text)
  })

  it('invalid user names in /api/login are refused with 400 invalid_name', async () => {
    for (const name of ['a/b', 'n'.repeat(33), '', 'two words', 'colon:name']) {
      const res = await http(server.base, 'POST', '/api/login', { user_name: name })
      assert.equal(res.status, 400, `${JSON.stringify(name)}: ${res.text}`)
      assert.equal(errorCode(res), 'invalid_name', `${JSON.stringify(name)}: ${res.text}`)
    }
  })

  it('invalid room names are refused with 400 invalid_room', async () => {
    const token = await openLogin(server.base, 'roomie')
    for (const name of ['Bad Room!', 'UPPER', 'r'.repeat(49), '', 'dm:roomie:x']) {
      const res = await http(server.base, 'POST', '/api/rooms', { name }, token)
      assert.equal(res.status, 400, `${JSON.stringify(name)}: ${res.text}`)
      assert.equal(errorCode(res), 'invalid_room', `${JSON.stringify(name)}: ${res.text}`)
    }
  })

  it('/metrics counts a hit for every limit exercised above', async () => {
    const m = await metrics(server.base)
    const kinds = ['message_length', 'frame_size', 'invalid_json', 'unknown_type', 'invalid_utf8', 'rate',
      'connections_per_address', 'body_size', 'invalid_name', 'invalid_room', 'ws_protocol']
    const missing = kinds.filter(k => !(m.value(`chat_limit_hits_total{kind="${k}"}`) > 0))
    assert.deepEqual(missing, [], `zero or absent chat_limit_hits_total for: ${missing.join(', ')}`)
  })

  it('afterwards the server is healthy and a normal message goes end to end', async () => {
    assert.equal((await http(server.base, 'GET', '/healthz')).status, 200)
    assert.equal((await http(server.base, 'GET', '/readyz')).status, 200)
    const sender = await connectFresh()
    const reader = await connectFresh()
    const ack = await sendOk(sender, 'general', 'still working')
    const { message } = await reader.next(isMessage(m => m.id === ack.id))
    assert.equal(message.content, 'still working')
    await sender.next(isMessage(m => m.id === ack.id))
  })
})
