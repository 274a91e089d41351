// Helpers for the chatd integration tests: start the real server binary, talk HTTP and WebSocket.
// Every wait is event driven and bounded; nothing sleeps for a fixed time to "let things settle".
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('..', import.meta.url))
if (!existsSync(join(here, 'node_modules', 'ws'))) {
  throw new Error(`node_modules missing in ${here}: run npm ci in backend/tests/integration`)
}
const { default: WebSocket } = await import('ws')

export { WebSocket }

const LISTENING = /listening on http:\/\/127\.0\.0\.1:(\d+)/
const OUTPUT_KEEP = 256 * 1024
const live = new Set()

// A sanitizer build (asan, tsan presets) reports on stderr: ASan/LSan errors (leaks at exit),
// UBSan "runtime error:", TSan warnings. Any of them fails the test that started that chatd,
// whatever its exit status, even when the report scrolled out of the kept output.
export const SANITIZER_REPORT = /^(==\d+==ERROR: \w+Sanitizer|WARNING: ThreadSanitizer|SUMMARY: \w+Sanitizer|.*: runtime error: )/m
const SANITIZER_KEEP = 64 * 1024
const unreportedSanitizerFindings = new Set()

// A test run that dies must not leave servers behind. A sanitizer report of a server the test
// never stopped (so nothing threw) still fails the run.
process.on('exit', () => {
  for (const proc of live) proc.kill('SIGKILL')
  for (const finding of unreportedSanitizerFindings) {
    process.stderr.write(`chatd sanitizer report (server not stopped by the test):\n${finding.text}\n`)
    process.exitCode = 1
  }
})

function chatdBin () {
  const bin = process.env.CHATD_BIN
  if (!bin) throw new Error('CHATD_BIN is not set (path of the chatd binary under test)')
  if (!existsSync(bin)) throw new Error(`CHATD_BIN=${bin} does not exist; build chatd first`)
  return bin
}

// --- Modes -------------------------------------------------------------------------------------
// CHATD_TEST_MODE picks what every startChatd() runs against; CMake registers each test file
// once per mode (tests/integration/CMakeLists.txt):
//   local      in-process bus + SQLite (the default)
//   per-user   RabbitMQ, the brief's per-user queues (+ PostgreSQL when CHATD_TEST_PG is set)
//   per-node   RabbitMQ, one queue per node (+ PostgreSQL when CHATD_TEST_PG is set)
// RabbitMQ: CHATD_TEST_AMQP_PORT and CHATD_TEST_RMQ_MGMT_PORT (the `rabbitmq` ctest fixture);
// every server start gets a fresh vhost (0.1 s through the management API) unless it is given
// one (a cluster shares it). PostgreSQL: CHATD_TEST_PG (conninfo URL without a database); every
// server start gets a fresh database unless it is given `dbPath`.
export const mode = process.env.CHATD_TEST_MODE || 'local'
export const distributed = mode === 'per-user' || mode === 'per-node'
export const usePg = distributed && !!process.env.CHATD_TEST_PG
let nameCounter = 0
const uniqueName = prefix => `${prefix}_${process.pid}_${Date.now().toString(36)}_${++nameCounter}`

function mgmt (method, path, body) {
  const port = process.env.CHATD_TEST_RMQ_MGMT_PORT
  if (!port) throw new Error('CHATD_TEST_RMQ_MGMT_PORT is not set (the rabbitmq fixture)')
  return http(`http://127.0.0.1:${port}`, method, path, body, undefined, {
    headers: { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') }
  })
}

// A fresh vhost with guest's permissions and the user-queue policy of scripts/rabbitmq.
export async function newVhost () {
  const vhost = uniqueName('t')
  const v = encodeURIComponent(vhost)
  for (const [path, body] of [
    [`/api/vhosts/${v}`, {}],
    [`/api/permissions/${v}/guest`, { configure: '.*', write: '.*', read: '.*' }],
    [`/api/policies/${v}/chatd-user-queues`, {
      pattern: '^[^:]+$', 'apply-to': 'queues', definition: { 'max-length': 10000, expires: 604800000 }
    }]
  ]) {
    const res = await mgmt('PUT', path, body)
    if (res.status >= 300) throw new Error(`PUT ${path}: ${res.status} ${res.text}`)
  }
  return vhost
}

export function amqpUrl (vhost, user = 'guest') {
  const port = process.env.CHATD_TEST_AMQP_PORT
  if (!port) throw new Error('CHATD_TEST_AMQP_PORT is not set (the rabbitmq fixture)')
  // Users made by newAmqpUser have their name as password.
  return `amqp://${user}:${user}@127.0.0.1:${port}/${encodeURIComponent(vhost)}`
}

async function mgmtOk (method, path, body) {
  const res = await mgmt(method, path, body)
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text}`)
  return res
}

// A RabbitMQ user of its own for one chatd node (startChatd's amqpUser), with every permission
// on `vhost`, so that node's broker connection alone can be cut (cutAmqpUser).
export async function newAmqpUser (vhost) {
  const user = uniqueName('u')
  await mgmtOk('PUT', `/api/users/${user}`, { password: user, tags: '' })
  await mgmtOk('PUT', `/api/permissions/${encodeURIComponent(vhost)}/${user}`, { configure: '.*', write: '.*', read: '.*' })
  return user
}

// Closes every connection of `user` and refuses new ones (a user limit of 0 connections) until
// restoreAmqpUser: that node's broker stays away while the others keep theirs.
// The management API lists a connection only after its first statistics (up to 5 s).
export async function cutAmqpUser (user) {
  await mgmtOk('PUT', `/api/user-limits/${user}/max-connections`, { value: 0 })
  let connections = []
  await waitFor(async () => {
    connections = (await mgmtOk('GET', '/api/connections')).json.filter(c => c.user === user)
    return connections.length > 0
  }, { timeoutMs: 20000, intervalMs: 250, what: `connections of ${user} in the management API` })
  for (const c of connections) await mgmtOk('DELETE', `/api/connections/${encodeURIComponent(c.name)}`)
}

export async function restoreAmqpUser (user) {
  await mgmtOk('DELETE', `/api/user-limits/${user}/max-connections`)
}

// Queues of a vhost: [{name, messages, consumers, ...}] (the management API's view).
export async function queues (vhost) {
  const res = await mgmt('GET', `/api/queues/${encodeURIComponent(vhost)}`)
  if (res.status !== 200) throw new Error(`queues: ${res.status} ${res.text}`)
  return res.json
}

// Runs SQL as the test server's superuser, connected to its `postgres` database.
export function pgAdmin (sql) {
  const base = process.env.CHATD_TEST_PG.replace(/\/$/, '')
  const r = spawnSync('psql', [`${base}/postgres`, '-qXc', sql], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr || r.error}`)
}

// A fresh PostgreSQL database; returns its URL.
export function newDatabase () {
  const name = uniqueName('chatd')
  pgAdmin(`CREATE DATABASE ${name}`)
  return `${process.env.CHATD_TEST_PG.replace(/\/$/, '')}/${name}`
}

// Starts chatd on a free port with a fresh SQLite file or PostgreSQL database (or `dbPath`, a
// file or a postgresql:// URL, to restart on the same data). In the RabbitMQ modes it gets a
// fresh vhost unless `vhost` is given, and `nodeId` (default: unique per start).
// Resolves once the server prints its listening line.
export async function startChatd ({ auth = 'open', args = [], dbPath, env = {}, timeoutMs = 15000, vhost, nodeId, amqpUser } = {}) {
  let dir
  if (!dbPath) {
    if (usePg) {
      dbPath = newDatabase()
    } else {
      dir = mkdtempSync(join(tmpdir(), 'chatd-it-'))
      dbPath = join(dir, 'chat.db')
    }
  }
  const db = /^postgres(ql)?:\/\//.test(dbPath) ? dbPath : `sqlite:${dbPath}`
  const modeArgs = []
  if (distributed) {
    vhost = vhost ?? await newVhost()
    modeArgs.push('--amqp-url', amqpUrl(vhost, amqpUser), '--amqp-topology', mode, '--node-id', nodeId ?? uniqueName('n'))
  }
  const argv = ['--listen', '127.0.0.1:0', '--db', db, '--auth', auth,
    '--password-cost', 'min', '--log-level', 'info', ...modeArgs, ...args]
  // Suites register many users from 127.0.0.1: no registration limit unless a test sets one.
  const defaults = { CHATD_REGISTER_MAX_PER_ADDRESS: '0' }
  const proc = spawn(chatdBin(), argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...defaults, ...process.env, ...env } })
  live.add(proc)

  let out = ''
  const sanitizer = { text: '' } // the first sanitizer report and what followed (SANITIZER_KEEP)
  let killedByTest = false
  let termSent = false
  const exited = new Promise(resolve => {
    proc.on('exit', (code, signal) => { live.delete(proc); resolve({ code, signal }) })
  })
  // Every byte of output read (a sanitizer prints its exit report last).
  const outputClosed = new Promise(resolve => proc.on('close', resolve))
  const throwOnSanitizerReport = async () => {
    await outputClosed
    if (!sanitizer.text) return
    unreportedSanitizerFindings.delete(sanitizer)
    throw new Error(`chatd printed a sanitizer report\n--- report ---\n${sanitizer.text}\n--- end ---`)
  }
  const output = () => out
  const describe = () => `chatd ${argv.join(' ')}\n--- output ---\n${out}--- end ---`

  const port = await new Promise((resolve, reject) => {
    let done = false
    const finish = (fn, value) => {
      if (done) return
      done = true
      clearTimeout(timer)
      fn(value)
    }
    const onData = chunk => {
      const text = chunk.toString()
      out += text
      if (sanitizer.text) {
        sanitizer.text += text.slice(0, Math.max(0, SANITIZER_KEEP - sanitizer.text.length))
      } else {
        const recent = out.slice(-(text.length + 200)) // a report line may straddle two chunks
        const hit = SANITIZER_REPORT.exec(recent)
        if (hit) {
          sanitizer.text = recent.slice(hit.index, hit.index + SANITIZER_KEEP)
          unreportedSanitizerFindings.add(sanitizer)
        }
      }
      if (out.length > OUTPUT_KEEP) out = out.slice(-OUTPUT_KEEP)
      const m = LISTENING.exec(out)
      if (m) finish(resolve, Number(m[1]))
    }
    proc.stdout.on('data', onData)
    proc.stderr.on('data', onData)
    proc.on('error', err => finish(reject, new Error(`cannot start chatd: ${err.message}\n${describe()}`)))
    exited.then(({ code, signal }) => finish(reject,
      new Error(`chatd exited before listening (code ${code}, signal ${signal})\n${describe()}`)))
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      finish(reject, new Error(`chatd did not print "listening on http://127.0.0.1:PORT" within ${timeoutMs} ms\n${describe()}`))
    }, timeoutMs)
  })

  const server = {
    port,
    base: `http://127.0.0.1:${port}`,
    wsBase: `ws://127.0.0.1:${port}`,
    dbPath,
    vhost,
    proc,
    output,
    exited,
    get running () { return proc.exitCode === null && proc.signalCode === null },
    // Sends SIGTERM once (a second one could mean "hurry up" to the server).
    terminate () {
      if (!termSent && server.running) proc.kill('SIGTERM')
      termSent = true
    },
    // SIGTERM, then wait for the exit (SIGKILL after timeoutMs). With expectCode, a different
    // exit status fails with the server's output.
    async stop ({ expectCode, timeoutMs: stopTimeout = 15000 } = {}) {
      server.terminate()
      let timer
      const result = await Promise.race([
        exited,
        new Promise(resolve => {
          timer = setTimeout(() => resolve(null), stopTimeout)
        })
      ])
      clearTimeout(timer)
      if (result === null) {
        proc.kill('SIGKILL')
        await exited
        throw new Error(`chatd did not exit within ${stopTimeout} ms of SIGTERM\n${describe()}`)
      }
      await throwOnSanitizerReport()
      if (expectCode !== undefined && !killedByTest && result.code !== expectCode) {
        throw new Error(`chatd exited with code ${result.code} (signal ${result.signal}), expected ${expectCode}\n${describe()}`)
      }
      return result
    },
    async kill9 () {
      killedByTest = true
      if (server.running) proc.kill('SIGKILL')
      const result = await exited
      await throwOnSanitizerReport()
      return result
    },
    // Removes the temporary directory this server created (not a dbPath passed in).
    cleanup () {
      if (dir) rmSync(dir, { recursive: true, force: true })
    }
  }
  return server
}

// --- HTTP -------------------------------------------------------------------------------------

// One request on its own connection (no keep-alive pool: connection counts stay predictable).
// `body`: object (sent as JSON), string or Buffer (sent as is), or undefined.
export function http (base, method, path, body, token, { headers = {}, timeoutMs = 10000 } = {}) {
  const url = new URL(path, base)
  const h = { ...headers }
  let payload
  if (body !== undefined) {
    payload = typeof body === 'string' || Buffer.isBuffer(body) ? Buffer.from(body) : Buffer.from(JSON.stringify(body))
    if (!Object.keys(h).some(k => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json'
    h['content-length'] = payload.length
  }
  if (token) h.authorization = `Bearer ${token}`
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: h, agent: false, timeout: timeoutMs }, res => {
      const chunks = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let json
        try { json = text ? JSON.parse(text) : undefined } catch { json = undefined }
        resolve({ status: res.statusCode, json, text, headers: res.headers })
      })
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no response within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end(payload)
  })
}

export async function register (base, name, password) {
  const res = await http(base, 'POST', '/api/register', { user_name: name, password })
  return { ...res, token: res.json?.token }
}

// Password mode: login(base, name, password). Open mode: login(base, name).
export async function login (base, name, password) {
  const body = password === undefined ? { user_name: name } : { user_name: name, password }
  const res = await http(base, 'POST', '/api/login', body)
  return { ...res, token: res.json?.token }
}

// Logs in (open mode) or fails with the response.
export async function openLogin (base, name) {
  const res = await login(base, name)
  if (res.status !== 200 || !res.token) throw new Error(`login ${name}: ${res.status} ${res.text}`)
  return res.token
}

// Polls `fn` until it returns a truthy value; fails after timeoutMs with `what`.
export async function waitFor (fn, { timeoutMs = 5000, intervalMs = 25, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    last = await fn()
    if (last) return last
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}

// `/metrics` as a map from series (`name{labels}` exactly as printed) to number.
export async function metrics (base) {
  const res = await http(base, 'GET', '/metrics')
  if (res.status !== 200) throw new Error(`/metrics: ${res.status}`)
  const series = new Map()
  for (const line of res.text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = /^(\S+?(?:\{.*\})?)\s+(\S+)/.exec(line)
    if (m) series.set(m[1], Number(m[2]))
  }
  return { text: res.text, series, value: name => series.get(name) }
}

// Every message of a room after `after` (default: from the start), following has_more.
export async function fetchAfter (base, token, room, after = 0, limit = 500) {
  const all = []
  let cursor = after
  for (let page = 0; page < 10000; page++) {
    const res = await http(base, 'GET', `/api/rooms/${room}/messages?after=${cursor}&limit=${limit}`, undefined, token)
    if (res.status !== 200) throw new Error(`history of ${room} after ${cursor}: ${res.status} ${res.text}`)
    const msgs = res.json.messages
    all.push(...msgs)
    if (!res.json.has_more) return all
    if (msgs.length === 0) throw new Error(`history of ${room}: has_more with an empty page after ${cursor}`)
    cursor = msgs[msgs.length - 1].id
  }
  throw new Error('history paging did not end')
}

// --- WebSocket ---------------------------------------------------------------------------------

// Opens a WebSocket; resolves once open. An HTTP answer instead of an upgrade rejects with an
// error carrying `status` (and `body`).
// autoPong false: the client does not answer pings (a peer that went away without closing).
export function wsConnect (url, { timeoutMs = 10000, headers, autoPong = true } = {}) {
  const ws = new WebSocket(url, { perMessageDeflate: false, headers, handshakeTimeout: timeoutMs, autoPong })
  const frames = [] // received, not yet consumed by next()
  const all = [] // every frame received, in order
  const waiters = []
  const listeners = []
  let closeInfo = null

  const closed = new Promise(resolve => {
    ws.on('close', (code, reason) => {
      closeInfo = { code, reason: reason.toString() }
      for (const w of waiters.splice(0)) {
        w.reject(new Error(`socket closed (${code} ${closeInfo.reason}) while waiting for ${w.what}; unconsumed: ${brief(frames)}`))
      }
      resolve(closeInfo)
    })
  })

  ws.on('message', (data, isBinary) => {
    const text = data.toString('utf8')
    let frame
    try { frame = JSON.parse(text) } catch { frame = { __raw: text, __binary: isBinary } }
    all.push(frame)
    for (const fn of listeners) fn(frame)
    const i = waiters.findIndex(w => w.pred(frame))
    if (i >= 0) {
      const [w] = waiters.splice(i, 1)
      w.resolve(frame)
    } else {
      frames.push(frame)
    }
  })

  const client = {
    ws,
    url,
    frames,
    all,
    closed,
    get isClosed () { return closeInfo !== null },
    // The next frame matching `pred` (earlier buffered frames first); consumes it.
    next (pred = () => true, timeoutMs = 5000, what = describePred(pred)) {
      const i = frames.findIndex(pred)
      if (i >= 0) return Promise.resolve(frames.splice(i, 1)[0])
      if (closeInfo) return Promise.reject(new Error(`socket already closed (${closeInfo.code}) before ${what}; unconsumed: ${brief(frames)}`))
      return new Promise((resolve, reject) => {
        const w = {
          pred,
          what,
          resolve: f => { clearTimeout(w.timer); resolve(f) },
          reject: e => { clearTimeout(w.timer); reject(e) }
        }
        w.timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1)
          reject(new Error(`no frame matching ${what} within ${timeoutMs} ms; unconsumed: ${brief(frames)}`))
        }, timeoutMs)
        waiters.push(w)
      })
    },
    // Removes and returns every buffered frame matching `pred`.
    drain (pred = () => true) {
      const taken = []
      for (let i = 0; i < frames.length;) {
        if (pred(frames[i])) taken.push(frames.splice(i, 1)[0])
        else i++
      }
      return taken
    },
    // Calls fn synchronously for every frame as it arrives (before next() sees it).
    onFrame (fn) { listeners.push(fn) },
    send (obj) { ws.send(JSON.stringify(obj)) },
    sendRaw (data, opts = { binary: false }) { ws.send(data, opts) },
    close (code = 1000) {
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.close(code)
      return closed
    },
    terminate () {
      ws.terminate()
      return closed
    }
  }

  return new Promise((resolve, reject) => {
    const onUnexpected = (req, res) => {
      const chunks = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => {
        const err = new Error(`WebSocket upgrade to ${url} answered HTTP ${res.statusCode}`)
        err.status = res.statusCode
        err.body = Buffer.concat(chunks).toString('utf8')
        ws.terminate()
        reject(err)
      })
    }
    ws.once('unexpected-response', onUnexpected)
    ws.once('open', () => resolve(client))
    ws.once('error', err => reject(err))
  })
}

// Native /ws for a token; waits for and attaches the welcome frame.
export async function nativeConnect (server, token, options = {}) {
  const c = await wsConnect(`${server.wsBase}/ws?token=${encodeURIComponent(token)}`, options)
  c.welcome = await c.next(f => f.type === 'welcome', 5000, 'welcome')
  return c
}

let cmidCounter = 0
export function newCmid (prefix = 'c') {
  cmidCounter += 1
  return `${prefix}-${process.pid}-${cmidCounter}`
}

// Sends one message and resolves with the ack or error frame for its client_msg_id.
export async function sendMessage (client, room, content, cmid = newCmid(), timeoutMs = 5000) {
  client.send({ type: 'send', room, content, client_msg_id: cmid })
  return client.next(f => (f.type === 'ack' || f.type === 'error') && f.client_msg_id === cmid, timeoutMs,
    `ack/error for ${cmid}`)
}

// Sends and insists on an ack.
export async function sendOk (client, room, content, cmid) {
  const f = await sendMessage(client, room, content, cmid)
  if (f.type !== 'ack') throw new Error(`expected ack, got ${JSON.stringify(f)}`)
  return f
}

export const isMessage = (pred = () => true) => f => f.type === 'message' && pred(f.message)

function describePred (pred) {
  const src = pred.toString()
  return src.length > 120 ? src.slice(0, 117) + '...' : src
}

function brief (frames) {
  const s = JSON.stringify(frames.slice(-5))
  return `${frames.length} frame(s)${frames.length ? ', last: ' + (s.length > 600 ? s.slice(0, 600) + '...' : s) : ''}`
}

// Resolves like `promise`, or rejects after timeoutMs naming `what`.
export function within (promise, timeoutMs, what = 'promise') {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs)
    })
  ]).finally(() => clearTimeout(timer))
}
