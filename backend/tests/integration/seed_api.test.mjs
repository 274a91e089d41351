// The brief's API, exactly: POST /send/, WS /receive/{user}, GET /users/ (docs/protocol.md, "Seed API").
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { http, metrics, startChatd, waitFor, within, wsConnect } from './lib/chatd.mjs'

const SENT_AT = /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/

describe('seed API (--auth open)', () => {
  let server
  let alice
  let bob

  const users = async () => {
    const res = await http(server.base, 'GET', '/users/')
    assert.equal(res.status, 200, res.text)
    return res.json.users
  }
  const send = (body, path = '/send/') => http(server.base, 'POST', path, body)
  const fromSeed = content => f => f.content === content

  before(async () => {
    server = await startChatd({ auth: 'open' })
    alice = await wsConnect(`${server.wsBase}/receive/alice`)
    bob = await wsConnect(`${server.wsBase}/receive/bob`)
    // The upgrade has completed; wait until the hub lists both before publishing.
    await waitFor(async () => {
      const u = await users()
      return u.includes('alice') && u.includes('bob')
    }, { what: 'alice and bob in /users/' })
  })

  after(async () => {
    alice?.terminate()
    bob?.terminate()
    try {
      await server?.stop({ expectCode: 0 })
    } finally {
      server?.cleanup()
    }
  })

  it('POST /send/ answers 200 "message sent" and every receiver gets exactly content, user_name, sent_at', async () => {
    const res = await send({ content: 'hello from alice', user_name: 'alice' })
    assert.equal(res.status, 200, res.text)
    assert.deepEqual(res.json, { status: 'message sent' })
    for (const sock of [alice, bob]) {
      const frame = await sock.next(fromSeed('hello from alice'))
      assert.deepEqual(Object.keys(frame).sort(), ['content', 'sent_at', 'user_name'])
      assert.equal(frame.user_name, 'alice')
      assert.match(frame.sent_at, SENT_AT)
    }
  })

  it('sent_at is the current UTC time in DD/MM/YYYY HH:MM:SS', async () => {
    const before = Date.now()
    assert.equal((await send({ content: 'clock check', user_name: 'bob' })).status, 200)
    const frame = await bob.next(fromSeed('clock check'))
    const [, dd, mm, yyyy, hh, mi, ss] = /^(\d{2})\/(\d{2})\/(\d{4}) (\d{2}):(\d{2}):(\d{2})$/.exec(frame.sent_at)
    const t = Date.UTC(+yyyy, +mm - 1, +dd, +hh, +mi, +ss)
    assert.ok(Math.abs(t - before) < 60_000, `sent_at ${frame.sent_at} is not close to now (UTC)`)
    await alice.next(fromSeed('clock check'))
  })

  it('a sent_at given by the sender is passed through verbatim', async () => {
    const sentAt = '01/02/2003 04:05:06 (client clock)'
    assert.equal((await send({ content: 'with my time', user_name: 'alice', sent_at: sentAt })).status, 200)
    for (const sock of [alice, bob]) {
      const frame = await sock.next(fromSeed('with my time'))
      assert.equal(frame.sent_at, sentAt)
    }
  })

  it('sent_at: the brief\'s format, ISO 8601 and any text up to 64 bytes are kept verbatim', async () => {
    const accepted = [
      '27/11/2026 21:51:18', '2026-11-27T21:51:18Z', '2026-11-27T21:51:18.123456789+05:30',
      '2026-11-27 21:51:18', 'x'.repeat(64), 'é'.repeat(32), '', "x'; DROP TABLE users; --"
    ]
    for (const [i, sentAt] of accepted.entries()) {
      const content = `sent_at ok ${i}`
      const res = await send({ content, user_name: 'alice', sent_at: sentAt })
      assert.equal(res.status, 200, `${JSON.stringify(sentAt)}: ${res.text}`)
      assert.equal((await bob.next(fromSeed(content))).sent_at, sentAt)
      await alice.next(fromSeed(content))
    }
  })

  it('sent_at: past 64 bytes, or with a control or bidi character, is refused with 400 invalid_sent_at and counted', async () => {
    const counted = async () => (await metrics(server.base)).value('chat_limit_hits_total{kind="invalid_sent_at"}') ?? 0
    const before = await counted()
    const refused = ['x'.repeat(65), 'é'.repeat(32) + 'x', 'x'.repeat(60 * 1024), '27/11/2026\n21:51:18',
      '27/11/2026 21:51:18\u0000', '\t27/11/2026', '27/11/2026 \u007f', '\u0085', '\u202e81:15:12 6202/11/72']
    for (const [i, sentAt] of refused.entries()) {
      const res = await send({ content: `refused sent_at ${i}`, user_name: 'alice', sent_at: sentAt })
      assert.equal(res.status, 400, `${JSON.stringify(sentAt.slice(0, 80))}: ${res.status} ${res.text}`)
      assert.equal(res.json?.error?.code, 'invalid_sent_at', res.text)
      assert.match(res.json.error.message, /sent_at/)
      assert.match(res.json.error.message, /64 bytes/)
    }
    assert.equal(await counted(), before + refused.length)
    // Nothing refused was stored or delivered: the next frame is the one sent after them.
    assert.equal((await send({ content: 'after the refusals', user_name: 'alice' })).status, 200)
    const next = await bob.next(f => f.content.startsWith('refused sent_at') || f.content === 'after the refusals')
    assert.equal(next.content, 'after the refusals')
    await alice.next(fromSeed('after the refusals'))
    // Not a string: refused as before, naming the field.
    const typed = await send({ content: 'typed', user_name: 'alice', sent_at: 7 })
    assert.equal(typed.status, 400, typed.text)
    assert.match(typed.json.error.message, /sent_at/)
  })

  it('POST /send without the trailing slash works too', async () => {
    const res = await send({ content: 'no slash', user_name: 'bob' }, '/send')
    assert.equal(res.status, 200, res.text)
    assert.deepEqual(res.json, { status: 'message sent' })
    for (const sock of [alice, bob]) {
      const frame = await sock.next(fromSeed('no slash'))
      assert.equal(frame.user_name, 'bob')
    }
  })

  it('GET /users/ and /users list both connected users', async () => {
    for (const path of ['/users/', '/users']) {
      const res = await http(server.base, 'GET', path)
      assert.equal(res.status, 200, `${path}: ${res.text}`)
      assert.ok(Array.isArray(res.json.users), `${path}: ${res.text}`)
      assert.deepEqual([...res.json.users].sort(), ['alice', 'bob'])
    }
  })

  it('a POST with invalid JSON is refused with 400 and a JSON error body', async () => {
    const res = await send('{"content": "oops", ')
    assert.equal(res.status, 400, res.text)
    assert.equal(typeof res.json?.error?.code, 'string', res.text)
    assert.equal(typeof res.json?.error?.message, 'string', res.text)
  })

  it('a POST without content is refused with 400', async () => {
    const res = await send({ user_name: 'alice' })
    assert.equal(res.status, 400, res.text)
    assert.equal(typeof res.json?.error?.code, 'string', res.text)
  })

  it('a CORS preflight from the web client origin gets 204 with access-control-allow-origin', async () => {
    const res = await http(server.base, 'OPTIONS', '/send/', undefined, undefined, {
      headers: {
        origin: 'http://localhost:5173',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type'
      }
    })
    assert.equal(res.status, 204, res.text)
    const allow = res.headers['access-control-allow-origin']
    assert.ok(allow === '*' || allow === 'http://localhost:5173', `access-control-allow-origin: ${allow}`)
    const post = await http(server.base, 'POST', '/send/', { content: 'cors', user_name: 'alice' }, undefined, {
      headers: { origin: 'http://localhost:5173' }
    })
    assert.equal(post.status, 200, post.text)
    assert.ok(post.headers['access-control-allow-origin'], 'POST answer carries access-control-allow-origin')
  })

  it('DISCONNECTION_MESSAGE from alice closes her stream with 1000 and takes her off /users/', async () => {
    assert.equal((await send({ content: 'DISCONNECTION_MESSAGE', user_name: 'alice' })).status, 200)
    const { code } = await within(alice.closed, 5000, 'alice\'s socket to close')
    assert.equal(code, 1000)
    const left = await bob.next(fromSeed('DISCONNECTION_MESSAGE'))
    assert.equal(left.user_name, 'alice')
    const u = await waitFor(async () => {
      const list = await users()
      return list.includes('alice') ? null : list
    }, { timeoutMs: 3000, what: 'alice to leave /users/' })
    assert.deepEqual(u, ['bob'])
  })

  it('the leaver gets their own DISCONNECTION_MESSAGE notice before the close frame, 20 tries in a row', async () => {
    // The brief's server sends the notice to the leaver first; chatd must too, in every mode.
    for (let i = 0; i < 20; i++) {
      const name = `leaver${i}`
      const sock = await wsConnect(`${server.wsBase}/receive/${name}`)
      try {
        await waitFor(async () => (await users()).includes(name), { what: `${name} in /users/` })
        assert.equal((await send({ content: 'DISCONNECTION_MESSAGE', user_name: name })).status, 200)
        const { code } = await within(sock.closed, 5000, `${name}'s socket to close`)
        assert.equal(code, 1000, `try ${i}: close code`)
        const own = sock.all.filter(fromSeed('DISCONNECTION_MESSAGE'))
        assert.equal(own.length, 1, `try ${i}: ${name} got ${JSON.stringify(sock.all)} before the close`)
        assert.deepEqual(Object.keys(own[0]).sort(), ['content', 'sent_at', 'user_name'])
        assert.equal(own[0].user_name, name)
        assert.match(own[0].sent_at, SENT_AT)
      } finally {
        sock.terminate()
      }
    }
  })

  it('a /receive socket that closes without a message takes its user off /users/ at once', async () => {
    await bob.close()
    const u = await waitFor(async () => {
      const list = await users()
      return list.includes('bob') ? null : list
    }, { timeoutMs: 3000, what: 'bob to leave /users/' })
    assert.deepEqual(u, [])
  })
})
