// Security review, proved end to end (docs/security.md): tokens, password storage, login rate
// limiting, authorization, static-file path traversal, web client headers, SQL injection and
// malformed input on every endpoint. Local mode (SQLite): the database file is inspected.
import assert from 'node:assert/strict'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { spawnSync } from 'node:child_process'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import {
  distributed, fetchAfter, http, login, metrics, nativeConnect, newCmid, register, sendMessage, sendOk,
  startChatd, waitFor, within, wsConnect
} from './lib/chatd.mjs'

const PASSWORD = 'correct horse battery'
const errorCode = res => res.json?.error?.code
// A password of each user's own, without the user's name in it (that would be refused).
const passwordOf = name => `${PASSWORD} #${name.charCodeAt(0)}`

// One request with the target sent byte for byte (node's URL class would normalize ".."); the
// answer as raw text, once chatd closes the connection.
function rawRequest (port, target, headers, method = 'GET') {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks = []
    socket.setTimeout(5000, () => socket.destroy(new Error(`${method} ${target}: no answer in 5 s`)))
    socket.on('data', c => chunks.push(c))
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
    socket.on('error', reject)
    socket.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`)
  })
}

const rawGet = (port, target) => rawRequest(port, target, 'Connection: close\r\n')

// A WebSocket upgrade without a token.
const rawUpgrade = (port, target) => rawRequest(port, target,
  'Connection: Upgrade\r\nUpgrade: websocket\r\n' +
  'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n')

// Every byte chatd wrote for a SQLite database (the WAL holds recent writes).
function databaseBytes (dbPath) {
  return Buffer.concat([dbPath, `${dbPath}-wal`].filter(existsSync).map(p => readFileSync(p)))
}

describe('security (--auth password)', () => {
  let server
  let webRoot
  let dir
  const tokens = {}
  const get = (path, token) => http(server.base, 'GET', path, undefined, token)
  const post = (path, body, token) => http(server.base, 'POST', path, body, token)

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chatd-sec-'))
    webRoot = join(dir, 'web')
    mkdirSync(webRoot)
    mkdirSync(join(dir, 'outside'))
    writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>WEBROOT-INDEX</title>')
    writeFileSync(join(webRoot, 'app.js'), 'console.log("WEBROOT-APP")')
    writeFileSync(join(dir, 'outside', 'secret.txt'), 'OUTSIDE-SECRET')
    server = await startChatd({ auth: 'password', args: ['--web-root', webRoot, '--max-body-bytes', '4096'] })
    for (const name of ['alice', 'bob', 'carol']) {
      const res = await register(server.base, name, passwordOf(name))
      assert.equal(res.status, 201, res.text)
      tokens[name] = res.token
    }
  })
  after(async () => {
    await server?.stop()
    server?.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it('tokens are 43 base64url characters (256 bits), unique per session', async () => {
    const again = await login(server.base, 'alice', passwordOf('alice'))
    assert.equal(again.status, 200, again.text)
    for (const token of [...Object.values(tokens), again.token]) assert.match(token, /^[A-Za-z0-9_-]{43}$/)
    assert.equal(new Set([...Object.values(tokens), again.token]).size, 4)
  })

  it('the database holds neither tokens nor passwords, only argon2id strings', async () => {
    const bytes = databaseBytes(server.dbPath)
    assert.ok(bytes.length > 0)
    for (const [name, token] of Object.entries(tokens)) {
      assert.equal(bytes.indexOf(token), -1, `token of ${name} stored in clear`)
      assert.equal(bytes.indexOf(passwordOf(name)), -1, `password of ${name} stored in clear`)
    }
    assert.ok(bytes.indexOf('$argon2id$') >= 0, 'no argon2id hash in the database')
  })

  it('logout revokes the token for HTTP and WebSocket', async () => {
    const session = await login(server.base, 'carol', passwordOf('carol'))
    assert.equal((await get('/api/me', session.token)).status, 200)
    const ws = await nativeConnect(server, session.token)
    assert.equal((await post('/api/logout', undefined, session.token)).status, 204)
    const closed = await ws.closed
    assert.equal(closed.code, 1008)
    const me = await get('/api/me', session.token)
    assert.equal(me.status, 401)
    assert.equal(errorCode(me), 'unauthorized')
    await assert.rejects(wsConnect(`${server.wsBase}/ws?token=${session.token}`), err => err.status === 401)
    assert.equal((await get('/api/me', 'A'.repeat(43))).status, 401, 'a made-up token')
    assert.equal((await get('/api/me', tokens.carol)).status, 200, 'other sessions stay valid')
  })

  it('no reading a room one has not joined, nor another pair\'s DM', async () => {
    assert.equal((await post('/api/rooms', { name: 'secret' }, tokens.alice)).status, 201)
    const dm = await post('/api/dm/carol', undefined, tokens.alice)
    assert.equal(dm.status, 200, dm.text)
    const alice = await nativeConnect(server, tokens.alice)
    await sendOk(alice, 'secret', 'for members only')
    await sendOk(alice, dm.json.name, 'for carol only')
    const secret = await get('/api/rooms/secret/messages', tokens.bob)
    assert.equal(secret.status, 403)
    assert.equal(errorCode(secret), 'not_member')
    const other = await get(`/api/rooms/${encodeURIComponent(dm.json.name)}/messages`, tokens.bob)
    assert.ok([403, 404].includes(other.status), other.text)
    assert.doesNotMatch(other.text, /carol only/)
    const join = await post(`/api/rooms/${encodeURIComponent(dm.json.name)}/join`, undefined, tokens.bob)
    assert.ok([403, 404].includes(join.status), join.text)
    alice.close()
  })

  it('no sending to a room one has not joined, nor into another pair\'s DM, via /ws', async () => {
    const bob = await nativeConnect(server, tokens.bob)
    for (const room of ['secret', 'dm:alice:carol']) {
      const f = await sendMessage(bob, room, 'intrusion')
      assert.equal(f.type, 'error', JSON.stringify(f))
      assert.equal(f.code, 'not_member')
    }
    const history = await fetchAfter(server.base, tokens.alice, 'secret')
    assert.ok(history.every(m => m.content !== 'intrusion'))
    bob.close()
  })

  it('no sending as another user through /send/, no reading /receive/{other}', async () => {
    const res = await post('/send/', { user_name: 'alice', content: 'forged' }, tokens.bob)
    assert.equal(res.status, 403)
    assert.equal(errorCode(res), 'forbidden')
    assert.equal((await post('/send/', { user_name: 'alice', content: 'forged' })).status, 401)
    await assert.rejects(wsConnect(`${server.wsBase}/receive/alice?token=${tokens.bob}`), err => err.status === 403)
    await assert.rejects(wsConnect(`${server.wsBase}/receive/alice`), err => err.status === 401)
    const history = await fetchAfter(server.base, tokens.alice, 'general')
    assert.ok(history.every(m => m.content !== 'forged'))
  })

  it('static files: no path, encoded or not, leaves --web-root', async () => {
    const targets = [
      '/../../etc/passwd', '/../outside/secret.txt', '/%2e%2e/outside/secret.txt',
      '/%2e%2e%2foutside%2fsecret.txt', '/..%2foutside%2fsecret.txt', '/..%2f..%2f..%2fetc%2fpasswd',
      '/%252e%252e%252foutside%252fsecret.txt', '/..\\outside\\secret.txt', '/..%5coutside%5csecret.txt',
      '/....//outside/secret.txt', '/.%2e/outside/secret.txt', '/%2E%2E/%2E%2E/etc/passwd',
      '/app.js/../../outside/secret.txt', '/%00../outside/secret.txt', '//etc/passwd'
    ]
    for (const target of targets) {
      const text = await rawGet(server.port, target)
      assert.doesNotMatch(text, /OUTSIDE-SECRET|root:x:0/, `${target} escaped the web root`)
      if (text) assert.match(text, /^HTTP\/1\.1 (200|400|404)/, `${target}: ${text.slice(0, 80)}`)
    }
    assert.match(await rawGet(server.port, '/app.js'), /WEBROOT-APP/, 'the raw helper reaches files')
    const app = await get('/app.js')
    assert.equal(app.status, 200)
    assert.match(app.text, /WEBROOT-APP/)
  })

  it('static files and the API answer HEAD with their GET headers and no body', async () => {
    const head = await rawRequest(server.port, '/app.js', 'Connection: close\r\n', 'HEAD')
    assert.match(head, /^HTTP\/1\.1 200/)
    assert.match(head, /content-security-policy: default-src 'self'/i)
    assert.match(head, /content-type: text\/javascript/i)
    assert.doesNotMatch(head, /WEBROOT-APP/, 'no body')
    assert.equal(head.split('\r\n\r\n')[1], '')
    const missing = await rawRequest(server.port, '/nope.js', 'Connection: close\r\n', 'HEAD')
    assert.match(missing, /^HTTP\/1\.1 404/)
    const api = await rawRequest(server.port, '/api/config', 'Connection: close\r\n', 'HEAD')
    assert.match(api, /^HTTP\/1\.1 200/)
    assert.match(api, /cache-control: no-store/i)
    assert.equal(api.split('\r\n\r\n')[1], '')
  })

  it('the web client is served with CSP, nosniff, no framing and no referrer', async () => {
    for (const path of ['/', '/app.js', '/some/client/route']) {
      const res = await get(path)
      assert.equal(res.status, 200, path)
      const csp = res.headers['content-security-policy'] ?? ''
      assert.match(csp, /default-src 'self'/)
      assert.match(csp, /frame-ancestors 'none'/)
      assert.doesNotMatch(csp, /script-src[^;]*'unsafe-inline'/)
      assert.equal(res.headers['x-content-type-options'], 'nosniff')
      assert.equal(res.headers['x-frame-options'], 'DENY')
      assert.equal(res.headers['referrer-policy'], 'no-referrer')
      assert.equal(res.headers['set-cookie'], undefined, 'no cookies: tokens travel in headers')
    }
  })

  it('on HTTP a token is taken from Authorization only: ?token= is refused with 401, on WebSocket upgrades it works', async () => {
    const session = await login(server.base, 'bob', passwordOf('bob'))
    const token = session.token
    const unauthorizedBefore = (await metrics(server.base)).value('chat_limit_hits_total{kind="unauthorized"}') ?? 0
    const refused = [
      ['GET', `/api/me?token=${token}`, undefined, undefined],
      ['GET', `/api/rooms/general/messages?limit=5&token=${token}`, undefined, undefined],
      ['GET', `/api/users/online?token=${token}`, undefined, undefined],
      ['POST', `/send/?token=${token}`, { user_name: 'bob', content: 'query token seed' }, undefined],
      // Even beside a valid header: the token in the URL has leaked into logs and history.
      ['GET', `/api/me?token=${token}`, undefined, token],
      ['POST', `/api/logout?token=${token}`, undefined, undefined]
    ]
    for (const [method, path, body, header] of refused) {
      const res = await http(server.base, method, path, body, header)
      assert.equal(res.status, 401, `${method} ${path.replace(token, 'T')}: ${res.status} ${res.text}`)
      assert.equal(errorCode(res), 'token_in_query', res.text)
      assert.match(res.json.error.message, /Authorization: Bearer/)
      assert.match(res.json.error.message, /WebSocket/)
    }
    const unauthorizedAfter = (await metrics(server.base)).value('chat_limit_hits_total{kind="unauthorized"}')
    assert.ok(unauthorizedAfter >= unauthorizedBefore + refused.length, `counted: ${unauthorizedBefore} -> ${unauthorizedAfter}`)
    assert.equal((await get('/api/me', token)).status, 200, 'the refused calls did not sign the session out')
    const history = await fetchAfter(server.base, token, 'general')
    assert.ok(history.every(m => m.content !== 'query token seed'), 'the refused /send/ stored nothing')
    // The upgrades, where browsers cannot set headers, still take ?token=.
    const ws = await nativeConnect(server, token)
    ws.close()
    const seed = await wsConnect(`${server.wsBase}/receive/bob?token=${encodeURIComponent(token)}`)
    seed.terminate()
  })

  it('API responses, errors and refusals carry nosniff, no-store, no framing and no referrer', async () => {
    const fresh = await login(server.base, 'carol', passwordOf('carol'))
    const checks = [
      ['GET', '/healthz'], ['GET', '/readyz'], ['GET', '/metrics'], ['GET', '/api/config'],
      ['GET', '/users/'], ['GET', '/api/me', undefined, tokens.alice], ['GET', '/api/me'],
      ['GET', '/api/rooms/general/messages?limit=1', undefined, tokens.alice], ['GET', '/api/nope'],
      ['POST', '/api/login', 'not json'], ['POST', '/api/login', { user_name: 'alice', password: 'wrong wrong' }],
      ['POST', '/send/', '{"content":"' + 'x'.repeat(10000) + '"}'], ['DELETE', '/api/rooms'],
      ['OPTIONS', '/api/me'], ['POST', '/api/logout', undefined, fresh.token],
      ['GET', '/api/me?token=x']
    ]
    for (const [method, path, body, token] of checks) {
      const res = await http(server.base, method, path, body, token)
      const what = `${method} ${path}: ${res.status}`
      assert.equal(res.headers['x-content-type-options'], 'nosniff', what)
      assert.equal(res.headers['cache-control'], 'no-store', what)
      assert.equal(res.headers['x-frame-options'], 'DENY', what)
      assert.match(res.headers['content-security-policy'] ?? '', /frame-ancestors 'none'/, what)
      assert.equal(res.headers['referrer-policy'], 'no-referrer', what)
    }
    // A refused WebSocket upgrade (an HTTP answer) too.
    const refusal = await rawUpgrade(server.port, '/ws')
    assert.match(refusal, /^HTTP\/1\.1 401/)
    for (const header of [/^x-content-type-options: nosniff\r$/mi, /^cache-control: no-store\r$/mi, /^x-frame-options: DENY\r$/mi, /^referrer-policy: no-referrer\r$/mi]) {
      assert.match(refusal, header, refusal)
    }
    // The web client keeps its own policy (checked above) and stays cacheable.
    assert.notEqual((await get('/app.js')).headers['cache-control'], 'no-store')
  })

  it('SQL is parameterized: an injection string is stored and read back verbatim', async () => {
    const evil = "'); DROP TABLE messages; --"
    const alice = await nativeConnect(server, tokens.alice)
    const ack = await sendOk(alice, 'general', evil)
    const seed = await post('/send/', { user_name: 'alice', content: `${evil} seed`, sent_at: "x'; DROP TABLE users; --" }, tokens.alice)
    assert.equal(seed.status, 200, seed.text)
    const history = await fetchAfter(server.base, tokens.alice, 'general', ack.id - 1)
    assert.equal(history[0].content, evil)
    assert.ok(history.some(m => m.content === `${evil} seed`))
    await sendOk(alice, 'general', 'still works')
    const injectedName = await post('/api/login', { user_name: "alice' OR '1'='1", password: "' OR '1'='1" })
    assert.ok([400, 401].includes(injectedName.status), injectedName.text)
    assert.equal((await get('/api/me', tokens.bob)).status, 200, 'users table intact')
    alice.close()
  })

  it('malformed and oversize input on every endpoint gets a JSON error', async () => {
    // Endpoints that read a JSON body get every malformed body; the others malformed paths.
    const endpoints = [['POST', '/send/'], ['POST', '/api/register'], ['POST', '/api/login'], ['POST', '/api/rooms']]
    const pathOnly = [
      ['POST', '/api/dm/%00'], ['POST', '/api/dm/a%2Fb'], ['POST', '/api/dm/' + 'x'.repeat(300)],
      ['POST', '/api/rooms/Bad%20Room/join'], ['POST', '/api/rooms/%ff%fe/leave'], ['POST', '/api/rooms/nope/join'],
      ['GET', '/api/rooms/general/messages?limit=abc'], ['GET', '/api/rooms/general/messages?before=-1x'],
      ['GET', '/api/rooms/%ff%fe/messages'], ['GET', '/api/nope'], ['DELETE', '/api/rooms'], ['PUT', '/send/']
    ]
    for (const [method, path] of pathOnly) {
      const res = await http(server.base, method, path, undefined, tokens.carol)
      assert.ok(res.status >= 400 && res.status < 500, `${method} ${path}: ${res.status} ${res.text}`)
      assert.equal(typeof res.json?.error?.code, 'string', `${method} ${path}: ${res.text}`)
    }
    const bodies = ['not json', '[]', '{"user_name": 5, "password": [], "name": {}, "content": null}',
      '{"user_name": "' + 'x'.repeat(3000) + '", "password": "y"}', '"\u0000"', '{"a":' + '['.repeat(2000)]
    for (const [method, path] of endpoints) {
      for (const body of bodies) {
        const res = await http(server.base, method, path, body, tokens.carol)
        assert.ok(res.status >= 400 && res.status < 500, `${method} ${path} ${String(body).slice(0, 40)}: ${res.status} ${res.text}`)
        assert.equal(typeof res.json?.error?.code, 'string', `${method} ${path}: ${res.text}`)
      }
      const big = await http(server.base, method, path, '{"content":"' + 'x'.repeat(10000) + '"}', tokens.carol)
      assert.equal(big.status, 413, `${path}: ${big.text}`)
      assert.equal(errorCode(big), 'body_too_large')
    }
  })
})

// Wrong passwords slow the address that sends them, never the owner elsewhere (docs/security.md
// "Sign-in throttling"). Every request comes from 127.0.0.1, a trusted proxy here, so that
// X-Forwarded-For names a different client address per caller. The first delay is a minute
// (CHATD_LOGIN_DELAY_BASE_MS) so that no wait in the test can outlast it.
describe('login throttling', () => {
  const servers = []
  const start = async (dbPath) => {
    const s = await startChatd({
      auth: 'password',
      dbPath,
      args: ['--trusted-proxies', '127.0.0.1/32'],
      env: { CHATD_LOGIN_DELAY_BASE_MS: '60000' }
    })
    servers.push(s)
    return s
  }
  const loginFrom = (server, name, password, address) =>
    http(server.base, 'POST', '/api/login', { user_name: name, password },
      undefined, { headers: { 'x-forwarded-for': address } })
  after(async () => {
    for (const s of servers) {
      if (s.running) await s.stop()
      s.cleanup()
    }
  })

  it('a wrong-password flood throttles its address, the owner elsewhere signs in at once, and a restart keeps the attacker throttled', async () => {
    let server = await start()
    assert.equal((await register(server.base, 'victim', PASSWORD)).status, 201)
    const attacker = '203.0.113.66'
    const statuses = []
    let throttled
    for (let i = 0; i < 12; i++) {
      const res = await loginFrom(server, 'victim', `guess ${i}`, attacker)
      statuses.push(res.status)
      if (res.status === 429) throttled = res
    }
    // The owner, from another address, is not locked out.
    const owner = await loginFrom(server, 'victim', PASSWORD, '198.51.100.7')
    assert.equal(owner.status, 200, `the owner signs in at once: ${owner.text}`)
    assert.deepEqual(statuses.slice(0, 3), [401, 401, 401], `the first failures are answered: ${statuses}`)
    assert.ok(throttled, `the flood is throttled: ${statuses}`)
    assert.equal(errorCode(throttled), 'rate_limited')
    const retryAfter = Number(throttled.headers['retry-after'])
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${throttled.headers['retry-after']}`)
    // Even the right password waits, from the attacker's address.
    assert.equal((await loginFrom(server, 'victim', PASSWORD, attacker)).status, 429)
    assert.ok((await metrics(server.base)).value('chat_limit_hits_total{kind="login_rate"}') >= 1)

    // The throttle is in the store: a restart does not wipe it.
    await server.stop({ expectCode: 0 })
    server = await start(server.dbPath)
    const after = await loginFrom(server, 'victim', PASSWORD, attacker)
    assert.equal(after.status, 429, `still throttled after a restart: ${after.text}`)
    assert.equal((await loginFrom(server, 'victim', PASSWORD, '198.51.100.7')).status, 200)
  })

  it('an address guessing across accounts is throttled (unknown names included); registration is not a login', async () => {
    const server = await start()
    assert.equal((await register(server.base, 'bystander', PASSWORD)).status, 201)
    const sprayer = '203.0.113.77'
    for (let i = 0; i < 20; i++) {
      const res = await loginFrom(server, `ghost${i}`, 'nope nope nope', sprayer)
      assert.equal(res.status, 401, res.text)
    }
    const res = await loginFrom(server, 'bystander', PASSWORD, sprayer)
    assert.equal(res.status, 429, res.text)
    assert.ok(Number(res.headers['retry-after']) >= 1)
    assert.equal((await loginFrom(server, 'bystander', PASSWORD, '198.51.100.8')).status, 200)
    const token = (await register(server.base, 'newcomer', PASSWORD)).token
    assert.ok(token, 'registration is not a login: it still works')
    assert.equal((await http(server.base, 'GET', '/api/me', undefined, token)).status, 200)
  })
})

// Names are NFC-normalised, invisible and bidi-control characters refused, and a name whose
// case-folded confusable skeleton (ICU's spoof checker) is taken is taken (docs/security.md
// "Look-alike user names").
describe('look-alike user names', () => {
  let server
  before(async () => {
    server = await startChatd({ auth: 'password' })
  })
  after(async () => {
    await server?.stop({ expectCode: 0 })
    server?.cleanup()
  })

  it('refuses every look-alike of a registered name', async () => {
    assert.equal((await register(server.base, 'alice', PASSWORD)).status, 201)
    const lookalikes = {
      'Cyrillic a': '\u0430lice',
      'zero-width joiner': 'al\u200Dice',
      'zero-width space': 'al\u200Bice',
      'right-to-left override': '\u202Ealice',
      'soft hyphen': 'al\u00ADice',
      fullwidth: '\uFF41\uFF4C\uFF49\uFF43\uFF45',
      'upper case': 'Alice',
      'all capitals': 'ALICE',
      'digit one for l': 'a1ice',
      'Cyrillic capitals': '\u0410LICE'
    }
    for (const [what, name] of Object.entries(lookalikes)) {
      const res = await register(server.base, name, PASSWORD)
      assert.ok(res.status === 409 || res.status === 400, `${what} (${JSON.stringify(name)}): ${res.status} ${res.text}`)
      assert.ok(['name_taken', 'invalid_name'].includes(errorCode(res)), `${what}: ${res.text}`)
    }
    assert.equal(errorCode(await register(server.base, '\u0430lice', PASSWORD)), 'name_taken')
    assert.equal(errorCode(await register(server.base, 'Alice', PASSWORD)), 'name_taken')
    assert.equal(errorCode(await register(server.base, 'al\u200Dice', PASSWORD)), 'invalid_name')
    assert.equal(errorCode(await register(server.base, '\u202Eecila', PASSWORD)), 'invalid_name')
  })

  it('normalises accents (NFC): the decomposed spelling is the same account', async () => {
    const composed = 'zo\u00E9'
    const decomposed = 'zoe\u0301'
    const res = await register(server.base, decomposed, PASSWORD)
    assert.equal(res.status, 201, res.text)
    assert.equal(res.json.user_name, composed, 'stored in NFC')
    assert.equal(errorCode(await register(server.base, composed, PASSWORD)), 'name_taken')
    const again = await login(server.base, composed, PASSWORD)
    assert.equal(again.status, 200, again.text)
    assert.equal((await login(server.base, decomposed, PASSWORD)).status, 200)
  })

  it('refuses invisible and bidi characters wherever a name enters (open mode, /receive, /send)', async () => {
    const open = await startChatd({ auth: 'open' })
    try {
      for (const name of ['al\u200Dice', '\u202Ealice', 'al\u2066ice', 'bo\uFEFFb']) {
        assert.equal(errorCode(await login(open.base, name)), 'invalid_name', JSON.stringify(name))
        const send = await http(open.base, 'POST', '/send/', { user_name: name, content: 'hi' })
        assert.equal(send.status, 400, `${JSON.stringify(name)}: ${send.text}`)
        await assert.rejects(wsConnect(`${open.wsBase}/receive/${encodeURIComponent(name)}`),
          err => err.status === 400, `/receive/${JSON.stringify(name)}`)
      }
    } finally {
      await open.stop({ expectCode: 0 })
      open.cleanup()
    }
  })

  it('an existing clash survives the migration: both accounts keep working, new look-alikes are refused', { skip: distributed && !!process.env.CHATD_TEST_PG }, async () => {
    const first = await startChatd({ auth: 'password' })
    assert.equal((await register(first.base, 'mallory', PASSWORD)).status, 201)
    await first.stop({ expectCode: 0 })
    // A database from before the keys: the look-alike registered then, no key stored for either.
    const sql = "INSERT INTO users (name, password_hash, created_ms) SELECT 'Mallory', password_hash, created_ms + 1 FROM users WHERE name = 'mallory';" +
      "DELETE FROM user_name_keys; UPDATE users SET name_key = '';"
    const r = spawnSync('sqlite3', [first.dbPath, sql], { encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
    const second = await startChatd({ auth: 'password', dbPath: first.dbPath })
    try {
      assert.equal((await login(second.base, 'mallory', PASSWORD)).status, 200)
      assert.equal((await login(second.base, 'Mallory', PASSWORD)).status, 200)
      assert.equal(errorCode(await register(second.base, 'MALLORY', PASSWORD)), 'name_taken')
      assert.equal(errorCode(await register(second.base, 'ma1lory', PASSWORD)), 'name_taken')
    } finally {
      await second.stop({ expectCode: 0 })
      first.cleanup()
    }
  })
})

// Accounts: sessions per user bounded, registrations per address limited, sign out everywhere.
describe('sessions and registrations', () => {
  const servers = []
  const start = async (args, env = {}) => {
    const s = await startChatd({ auth: 'password', args, env })
    servers.push(s)
    return s
  }
  after(async () => {
    for (const s of servers) {
      await s.stop({ expectCode: 0 })
      s.cleanup()
    }
  })

  it('past --max-sessions-per-user the oldest session is signed out, its socket closed, and counted', async () => {
    const server = await start(['--max-sessions-per-user', '2'])
    const first = await register(server.base, 'sam', PASSWORD)
    const ws = await nativeConnect(server, first.token)
    const second = await login(server.base, 'sam', PASSWORD)
    assert.equal((await http(server.base, 'GET', '/api/me', undefined, first.token)).status, 200, 'at the limit: kept')
    const closed = ws.closed ?? new Promise(resolve => ws.on('close', (code) => resolve(code)))
    const third = await login(server.base, 'sam', PASSWORD)
    assert.equal((await http(server.base, 'GET', '/api/me', undefined, first.token)).status, 401, 'past it: the oldest is gone')
    assert.equal((await http(server.base, 'GET', '/api/me', undefined, second.token)).status, 200)
    assert.equal((await http(server.base, 'GET', '/api/me', undefined, third.token)).status, 200)
    const code = await within(closed, 5000, 'the oldest session\'s socket closes')
    assert.equal(typeof code === 'object' ? code.code : code, 1008)
    assert.ok((await metrics(server.base)).value('chat_limit_hits_total{kind="sessions"}') >= 1)
  })

  it('past --register-max-per-address an address gets 429 with a Retry-After, counted', async () => {
    const server = await start([], { CHATD_REGISTER_MAX_PER_ADDRESS: '2' })
    assert.equal((await register(server.base, 'reg1', PASSWORD)).status, 201)
    assert.equal((await register(server.base, 'reg2', PASSWORD)).status, 201, 'at the limit')
    const refused = await register(server.base, 'reg3', PASSWORD)
    assert.equal(refused.status, 429, refused.text)
    assert.equal(errorCode(refused), 'rate_limited')
    assert.ok(Number(refused.headers['retry-after']) >= 1)
    assert.ok((await metrics(server.base)).value('chat_limit_hits_total{kind="register_rate"}') >= 1)
  })

  it('/readyz answers at once while registrations queue for the blocking pool (it has a thread of its own)', async () => {
    const server = await start(['--blocking-threads', '1'], { CHATD_REGISTER_MAX_PER_ADDRESS: '100' })
    const finished = []
    const registrations = Array.from({ length: 12 }, (_, i) =>
      register(server.base, `queued${i}`, PASSWORD).then(res => {
        assert.equal(res.status, 201, res.text)
        finished.push(`registration ${i}`)
      }))
    // The first answer means the others are queued behind the one hashing thread.
    await Promise.race(registrations)
    const ready = await http(server.base, 'GET', '/readyz')
    finished.push('readyz')
    assert.equal(ready.status, 200, ready.text)
    await Promise.all(registrations)
    assert.notEqual(finished.at(-1), 'readyz', `readyz waited for every registration: ${finished.join(', ')}`)
  })

  it('POST /api/logout-all deletes every session of the user and closes their sockets', async () => {
    const server = await start([])
    const a = await register(server.base, 'tess', PASSWORD)
    const b = await login(server.base, 'tess', PASSWORD)
    const other = await register(server.base, 'uma', PASSWORD)
    const ws = await nativeConnect(server, a.token)
    const closed = ws.closed ?? new Promise(resolve => ws.on('close', (code) => resolve(code)))
    const res = await http(server.base, 'POST', '/api/logout-all', undefined, b.token)
    assert.equal(res.status, 200, res.text)
    assert.equal(res.json.signed_out_sessions, 2)
    assert.equal((await http(server.base, 'GET', '/api/me', undefined, a.token)).status, 401)
    assert.equal((await http(server.base, 'GET', '/api/me', undefined, b.token)).status, 401)
    assert.equal((await http(server.base, 'GET', '/api/me', undefined, other.token)).status, 200)
    const code = await within(closed, 5000, 'the socket closes')
    assert.equal(typeof code === 'object' ? code.code : code, 1008)
  })
})

// The web client's session: an HttpOnly cookie, CSRF-checked on state-changing requests and
// Origin-checked on WebSocket upgrades; bearer clients are unaffected (docs/security.md
// "Staying signed in"). One server; 127.0.0.1 is a trusted proxy so X-Forwarded-Proto counts.
describe('staying signed in: the web client\'s session cookie', () => {
  const ALLOWED = 'https://app.example'
  let server
  let origin
  let cookie // "chatd_session=<token>"
  let csrf
  let bearer
  const withCookie = (headers = {}) => ({ headers: { cookie, ...headers } })
  const cookieOf = res => [res.headers['set-cookie']].flat().find(c => c?.startsWith('chatd_session='))
  const rooms = async () => (await http(server.base, 'GET', '/api/rooms', undefined, bearer)).json.rooms.map(r => r.name)
  const upgradeWith = headers => wsConnect(`${server.wsBase}/ws`, { headers })

  before(async () => {
    server = await startChatd({ auth: 'password', args: ['--trusted-proxies', '127.0.0.1', '--allowed-origins', ALLOWED] })
    origin = new URL(server.base).origin
    const res = await register(server.base, 'cookie-user', PASSWORD)
    assert.equal(res.status, 201, res.text)
    bearer = res.token
    cookie = cookieOf(res).split(';')[0]
    csrf = res.headers['x-csrf-token']
  })
  after(async () => {
    await server?.stop({ expectCode: 0 })
    server?.cleanup()
  })

  it('a sign-in sets an HttpOnly, SameSite=Strict, whole-site cookie lasting the session, Secure behind HTTPS', async () => {
    const res = await login(server.base, 'cookie-user', PASSWORD)
    const set = cookieOf(res)
    assert.match(set, /^chatd_session=[A-Za-z0-9_-]{43}; /)
    assert.equal(set.split(';')[0], `chatd_session=${res.token}`, 'the same session as the body\'s token')
    for (const attribute of ['Path=/', 'HttpOnly', 'SameSite=Strict']) assert.ok(set.includes(`; ${attribute}`), set)
    const maxAge = Number(/Max-Age=(\d+)/.exec(set)[1])
    assert.ok(maxAge > 30 * 24 * 3600 - 60 && maxAge <= 30 * 24 * 3600, `Max-Age ${maxAge}: --session-ttl-hours`)
    assert.ok(!set.includes('Secure'), 'plain HTTP: no Secure')
    assert.match(res.headers['x-csrf-token'], /^[A-Za-z0-9_-]{43}$/)
    const https = await http(server.base, 'POST', '/api/login', { user_name: 'cookie-user', password: PASSWORD }, undefined,
      { headers: { 'x-forwarded-proto': 'https' } })
    assert.ok(cookieOf(https).endsWith('; Secure'), cookieOf(https))
    const me = await http(server.base, 'GET', '/api/me', undefined, undefined, withCookie())
    assert.equal(me.status, 200, me.text)
    assert.equal(me.json.user_name, 'cookie-user')
    assert.equal(me.headers['x-csrf-token'], csrf, 'a new page learns the CSRF token from /api/me')
    const viaBearer = await http(server.base, 'GET', '/api/me', undefined, bearer)
    assert.equal(viaBearer.headers['x-csrf-token'], undefined, 'bearer clients need none')
  })

  it('a cross-site or token-less POST with the cookie is refused with 403, counted, and changes nothing', async () => {
    const before = (await metrics(server.base)).value('chat_limit_hits_total{kind="csrf"}') ?? 0
    const attempts = [
      [{ origin: 'https://evil.example', 'x-csrf-token': csrf }, 'cross_origin'],
      [{ origin: 'null', 'x-csrf-token': csrf }, 'cross_origin'],
      [{ 'sec-fetch-site': 'cross-site', 'x-csrf-token': csrf }, 'cross_origin'],
      [{ origin }, 'csrf_token_missing'],
      [{ origin, 'x-csrf-token': 'A'.repeat(43) }, 'csrf_token_invalid'],
    ]
    for (const [headers, code] of attempts) {
      const res = await http(server.base, 'POST', '/api/rooms', { name: 'forged-room' }, undefined, withCookie(headers))
      assert.equal(res.status, 403, `${JSON.stringify(headers)}: ${res.text}`)
      assert.equal(errorCode(res), code)
      assert.equal(res.headers['cache-control'], 'no-store')
    }
    const logout = await http(server.base, 'POST', '/api/logout', undefined, undefined, withCookie({ origin: 'https://evil.example' }))
    assert.equal(logout.status, 403)
    assert.ok(!(await rooms()).includes('forged-room'), 'no room was created')
    assert.equal((await http(server.base, 'GET', '/api/me', undefined, undefined, withCookie())).status, 200, 'still signed in')
    assert.equal((await metrics(server.base)).value('chat_limit_hits_total{kind="csrf"}') - before, attempts.length + 1)
  })

  it('a same-site POST with the session\'s X-CSRF-Token is accepted, as from --allowed-origins', async () => {
    const res = await http(server.base, 'POST', '/api/rooms', { name: 'cookie-room' }, undefined,
      withCookie({ origin, 'sec-fetch-site': 'same-origin', 'x-csrf-token': csrf }))
    assert.equal(res.status, 201, res.text)
    const allowed = await http(server.base, 'POST', '/api/rooms', { name: 'allowed-room' }, undefined,
      withCookie({ origin: ALLOWED, 'sec-fetch-site': 'cross-site', 'x-csrf-token': csrf }))
    assert.equal(allowed.status, 201, allowed.text)
    assert.ok((await rooms()).includes('cookie-room'))
  })

  it('a WebSocket upgrade with the cookie opens from this site, and is refused from another one (403, counted)', async () => {
    const before = (await metrics(server.base)).value('chat_limit_hits_total{kind="ws_origin"}') ?? 0
    const same = await upgradeWith({ cookie, origin })
    assert.equal((await same.next(f => f.type === 'welcome', 5000, 'welcome')).type, 'welcome')
    same.close()
    const allowed = await upgradeWith({ cookie, origin: ALLOWED })
    allowed.close()
    for (const bad of ['https://evil.example', undefined]) {
      await assert.rejects(upgradeWith(bad ? { cookie, origin: bad } : { cookie }), err => err.status === 403,
        `Origin ${bad}`)
    }
    assert.equal((await metrics(server.base)).value('chat_limit_hits_total{kind="ws_origin"}') - before, 2)
  })

  it('bearer clients are unaffected: no CSRF header, any Origin', async () => {
    const res = await http(server.base, 'POST', '/api/rooms', { name: 'bearer-room' }, bearer,
      { headers: { origin: 'https://evil.example', cookie: 'chatd_session=' + 'B'.repeat(43) } })
    assert.equal(res.status, 201, res.text)
    const ws = await wsConnect(`${server.wsBase}/ws?token=${bearer}`, { headers: { origin: 'https://evil.example' } })
    ws.close()
  })

  it('GET /api/sessions lists the user\'s devices newest first; DELETE revokes one, closing its socket; another user\'s id is 404', async () => {
    const phone = await http(server.base, 'POST', '/api/login', { user_name: 'cookie-user', password: PASSWORD }, undefined,
      { headers: { 'user-agent': 'Mozilla/5.0 (iPhone) Test\t' + 'x'.repeat(400) } })
    const list = await http(server.base, 'GET', '/api/sessions', undefined, undefined, withCookie())
    assert.equal(list.status, 200, list.text)
    const { sessions } = list.json
    assert.ok(sessions.length >= 2)
    for (const s of sessions) {
      assert.deepEqual(Object.keys(s).sort(), ['address', 'created_ms', 'current', 'expires_ms', 'id', 'last_used_ms', 'user_agent'])
      assert.ok(!s.id.includes(bearer) && !bearer.includes(s.id), 'the id is not the token')
    }
    assert.equal(sessions.filter(s => s.current).length, 1)
    const newest = sessions[0]
    assert.ok(sessions.every(s => s.created_ms <= newest.created_ms), 'newest first')
    assert.ok(newest.user_agent.startsWith('Mozilla/5.0 (iPhone) Testx'), 'control characters dropped')
    assert.equal(Buffer.byteLength(newest.user_agent), 256, 'bounded')
    assert.equal(newest.address, '127.0.0.1')
    // At the edge (--session-user-agent-bytes, 256 by default) a user agent is kept whole.
    await http(server.base, 'POST', '/api/login', { user_name: 'cookie-user', password: PASSWORD }, undefined,
      { headers: { 'user-agent': 'y'.repeat(256) } })
    const atEdge = (await http(server.base, 'GET', '/api/sessions', undefined, bearer)).json.sessions
    assert.ok(atEdge.some(s => s.user_agent === 'y'.repeat(256)), 'a 256-byte user agent kept whole')
    phone.token = phone.json.token
    const ws = await nativeConnect(server, phone.token)
    const other = await register(server.base, 'other-user', PASSWORD)
    assert.equal((await http(server.base, 'DELETE', `/api/sessions/${newest.id}`, undefined, other.token)).status, 404,
      'another user\'s session id')
    assert.equal((await http(server.base, 'GET', '/api/me', undefined, phone.token)).status, 200, 'untouched')
    assert.equal((await http(server.base, 'DELETE', `/api/sessions/${newest.id}`, undefined, undefined, withCookie({ origin })))
      .status, 403, 'by cookie without the CSRF token')
    const revoked = await http(server.base, 'DELETE', `/api/sessions/${newest.id}`, undefined, undefined,
      withCookie({ origin, 'x-csrf-token': csrf }))
    assert.equal(revoked.status, 204, revoked.text)
    assert.equal((await within(ws.closed, 5000, 'the revoked session\'s socket')).code, 1008)
    assert.equal((await http(server.base, 'GET', '/api/me', undefined, phone.token)).status, 401)
    assert.equal((await http(server.base, 'DELETE', `/api/sessions/${newest.id}`, undefined, bearer)).status, 404, 'gone')
  })

  it('logout and sign-out everywhere clear the cookie', async () => {
    const fresh = await login(server.base, 'cookie-user', PASSWORD)
    const freshCookie = cookieOf(fresh).split(';')[0]
    const headers = { cookie: freshCookie, origin, 'x-csrf-token': fresh.headers['x-csrf-token'] }
    const out = await http(server.base, 'POST', '/api/logout', undefined, undefined, { headers })
    assert.equal(out.status, 204, out.text)
    assert.match(cookieOf(out), /^chatd_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict/)
    assert.equal((await http(server.base, 'GET', '/api/me', undefined, undefined, { headers: { cookie: freshCookie } })).status, 401)
    const all = await http(server.base, 'POST', '/api/logout-all', undefined, undefined,
      withCookie({ origin, 'x-csrf-token': csrf }))
    assert.equal(all.status, 200, all.text)
    assert.match(cookieOf(all), /^chatd_session=; Path=\/; Max-Age=0/)
    assert.equal((await http(server.base, 'GET', '/api/me', undefined, undefined, withCookie())).status, 401)
    assert.equal((await http(server.base, 'GET', '/api/me', undefined, bearer)).status, 401, 'every session ended')
  })
})

// Password strength (--password-policy): libpwquality with cracklib's dictionary by default.
describe('password strength', () => {
  const servers = []
  const start = async (args = []) => {
    const s = await startChatd({ auth: 'password', args })
    servers.push(s)
    return s
  }
  after(async () => {
    for (const s of servers) {
      await s.stop({ expectCode: 0 })
      s.cleanup()
    }
  })

  const refused = async (server, name, password) => {
    const res = await register(server.base, name, password)
    assert.equal(res.status, 400, `${name} / ${password}: ${res.text}`)
    assert.equal(errorCode(res), 'weak_password')
    assert.ok(res.json.error.message.length > 10, `a reason in English: ${res.text}`)
    return res.json.error.message
  }

  it('refuses common passwords and the user\'s own name (400 weak_password with a reason, counted); a strong one registers', async () => {
    const server = await start()
    const before = (await metrics(server.base)).value('chat_limit_hits_total{kind="bad_request"}') ?? 0
    for (const password of ['12345678', 'password', 'qwertyuiop']) await refused(server, 'margaret', password)
    for (const password of ['margaret', 'Margaret', 'MARGARET', 'margaret1', 'Margaret2024']) {
      assert.match(await refused(server, 'margaret', password), /user name/)
    }
    const after = (await metrics(server.base)).value('chat_limit_hits_total{kind="bad_request"}')
    assert.ok(after >= before + 8, `each refusal counted as bad_request: ${before} -> ${after}`)
    const ok = await register(server.base, 'margaret', PASSWORD)
    assert.equal(ok.status, 201, ok.text)
    assert.equal((await login(server.base, 'margaret', PASSWORD)).status, 200)
  })

  it('--password-policy length keeps only the 8 to 1024 characters rule', async () => {
    const server = await start(['--password-policy', 'length'])
    const res = await register(server.base, 'norbert', '12345678')
    assert.equal(res.status, 201, res.text)
    await refused(server, 'olive', '1234567')
  })
})

// --trusted-proxies: the per-address login lockout (and the per-address connection cap) key on
// the client address. Every request here comes from 127.0.0.1; X-Forwarded-For is believed only
// when 127.0.0.1 is a trusted proxy, and then only its rightmost untrusted hop.
describe('client address behind a reverse proxy (--trusted-proxies)', () => {
  const servers = []
  const start = async args => {
    const s = await startChatd({
      auth: 'password',
      args: ['--login-max-address-failures', '3', '--login-max-account-failures', '1000', ...args],
      env: { CHATD_LOGIN_DELAY_BASE_MS: '60000' }
    })
    servers.push(s)
    return s
  }
  const loginFrom = (server, name, password, forwardedFor) =>
    http(server.base, 'POST', '/api/login', { user_name: name, password },
      undefined, { headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor } })
  const failThrice = async (server, forwardedFor) => {
    for (let i = 0; i < 3; i++) {
      const res = await loginFrom(server, `ghost${i}`, 'wrong wrong', forwardedFor)
      assert.equal(res.status, 401, res.text)
    }
  }
  after(async () => {
    for (const s of servers) {
      await s.stop({ expectCode: 0 })
      s.cleanup()
    }
  })

  it('without the flag, X-Forwarded-For is ignored: the spoofing client is locked out by its own address', async () => {
    const server = await start([])
    assert.equal((await register(server.base, 'carla', PASSWORD)).status, 201)
    // Three failures, each claiming another origin: all count against 127.0.0.1.
    for (const [i, spoof] of ['198.51.100.1', '198.51.100.2', '198.51.100.3'].entries()) {
      assert.equal((await loginFrom(server, `ghost${i}`, 'wrong wrong', spoof)).status, 401)
    }
    const res = await loginFrom(server, 'carla', PASSWORD, '198.51.100.99')
    assert.equal(res.status, 429, `a fresh X-Forwarded-For must not escape the lockout: ${res.text}`)
  })

  it('from an untrusted peer, X-Forwarded-For is ignored even with the flag set', async () => {
    const server = await start(['--trusted-proxies', '10.0.0.0/8,192.168.0.1'])
    assert.equal((await register(server.base, 'dora', PASSWORD)).status, 201)
    await failThrice(server, '203.0.113.7')
    const res = await loginFrom(server, 'dora', PASSWORD, '203.0.113.8')
    assert.equal(res.status, 429, res.text)
  })

  it('from a trusted proxy, the rightmost untrusted hop is the client; prepended hops do not help', async () => {
    const server = await start(['--trusted-proxies', '127.0.0.1/32, ::1'])
    assert.equal((await register(server.base, 'erin', PASSWORD)).status, 201)
    await failThrice(server, '203.0.113.7')
    // The locked client cannot escape by prepending a made-up hop: its proxy appends its address.
    const escaped = await loginFrom(server, 'erin', PASSWORD, '192.0.2.55, 203.0.113.7')
    assert.equal(escaped.status, 429, escaped.text)
    // Trusted hops to the right are skipped (a second proxy in front of the first).
    const chained = await loginFrom(server, 'erin', PASSWORD, '203.0.113.7, 127.0.0.1')
    assert.equal(chained.status, 429, chained.text)
    // Everyone else behind the same proxy still signs in: the proxy's own address is not locked.
    const other = await loginFrom(server, 'erin', PASSWORD, '203.0.113.8')
    assert.equal(other.status, 200, other.text)
    const direct = await loginFrom(server, 'erin', PASSWORD)
    assert.equal(direct.status, 200, `no header: the proxy itself is the client: ${direct.text}`)
  })

  it('from a trusted proxy, the per-address connection cap applies to each client', async () => {
    const server = await start(['--trusted-proxies', '127.0.0.0/8', '--max-connections-per-address', '1'])
    const token = (await register(server.base, 'fay', PASSWORD)).token
    const url = `${server.wsBase}/ws?token=${token}`
    const a = await wsConnect(url, { headers: { 'x-forwarded-for': '203.0.113.1' } })
    const b = await wsConnect(url, { headers: { 'x-forwarded-for': '203.0.113.2' } })
    await assert.rejects(wsConnect(url, { headers: { 'x-forwarded-for': '203.0.113.1' } }),
      err => err.status === 429)
    await a.close()
    await b.close()
  })

  it('an invalid --trusted-proxies entry is refused at start', async () => {
    await assert.rejects(startChatd({ args: ['--trusted-proxies', '10.0.0.0/33'] }),
      err => /trusted-proxies|CIDR/.test(err.message))
  })
})

// --metrics-listen: /metrics on an address of its own (an internal interface), off the public
// listener. The second listener answers only GET /metrics and GET /healthz.
describe('metrics on a separate listener (--metrics-listen)', () => {
  const servers = []
  const METRICS_AT = /metrics on http:\/\/127\.0\.0\.1:(\d+)/
  const start = async options => {
    const s = await startChatd({ auth: 'password', ...options })
    servers.push(s)
    await waitFor(() => METRICS_AT.test(s.output()), { what: 'the metrics listener\'s address in the log' })
    return { server: s, metricsBase: `http://127.0.0.1:${METRICS_AT.exec(s.output())[1]}` }
  }
  after(async () => {
    for (const s of servers) {
      await s.stop({ expectCode: 0 })
      s.cleanup()
    }
  })

  const checkSplit = async ({ server, metricsBase }) => {
    assert.notEqual(metricsBase, server.base)
    const scraped = await http(metricsBase, 'GET', '/metrics')
    assert.equal(scraped.status, 200, scraped.text)
    assert.match(scraped.headers['content-type'], /^text\/plain; version=0\.0\.4/)
    assert.match(scraped.text, /^chat_build_info\{/m)
    assert.equal(scraped.headers['x-content-type-options'], 'nosniff')
    assert.equal(scraped.headers['cache-control'], 'no-store')
    const health = await http(metricsBase, 'GET', '/healthz')
    assert.equal(health.status, 200)
    assert.deepEqual(health.json, { status: 'ok' })
    for (const [method, path] of [['GET', '/api/config'], ['GET', '/users/'], ['POST', '/metrics'], ['GET', '/'], ['GET', '/metrics/x']]) {
      const res = await http(metricsBase, method, path)
      assert.equal(res.status, 404, `${method} ${path} on the metrics listener: ${res.status} ${res.text}`)
      assert.equal(errorCode(res), 'not_found')
    }
    // The main listener serves everything else, but no longer /metrics.
    const hidden = await http(server.base, 'GET', '/metrics')
    assert.equal(hidden.status, 404, hidden.text)
    assert.doesNotMatch(hidden.text, /chat_build_info/)
    assert.equal((await http(server.base, 'GET', '/api/config')).status, 200)
    assert.equal((await http(server.base, 'GET', '/healthz')).status, 200)
    // The scrape counts what the main listener did.
    const after = await metrics(metricsBase)
    const configServed = [...after.series].some(([series, value]) =>
      series.startsWith('chat_http_responses_total{') && series.includes('route="/api/config"') && value >= 1)
    assert.ok(configServed, after.text.slice(0, 2000))
  }

  it('--metrics-listen ADDR:0 serves /metrics and /healthz there only; the main listener answers /metrics 404', async () => {
    await checkSplit(await start({ args: ['--metrics-listen', '127.0.0.1:0'] }))
  })

  it('CHATD_METRICS_LISTEN does the same', async () => {
    await checkSplit(await start({ env: { CHATD_METRICS_LISTEN: '127.0.0.1:0' } }))
  })

  it('without it, /metrics stays on the main listener', async () => {
    const s = await startChatd({ auth: 'password' })
    servers.push(s)
    const res = await http(s.base, 'GET', '/metrics')
    assert.equal(res.status, 200)
    assert.match(res.text, /^chat_build_info\{/m)
    assert.doesNotMatch(s.output(), METRICS_AT)
  })

  it('a malformed --metrics-listen is refused at start', async () => {
    await assert.rejects(startChatd({ args: ['--metrics-listen', 'nowhere'] }),
      err => /metrics-listen/.test(err.message))
  })
})
