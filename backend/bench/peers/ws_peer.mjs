// A Node.js `ws` broadcast server doing chatd's work on the bench's path, so chat-bench drives
// it unchanged: the open-mode login shim (POST /api/login), rooms (POST /api/rooms, .../join),
// `/ws?token=` with chatd's frames (welcome, ack, message, error, pong). Each message is
// serialised once and sent to every member of its room. With --durable, messages are appended
// to a file and fdatasync'ed in groups (one fsync per batch, like chatd's group commit) before
// the ack and the broadcast. No presence frames, no history: a broadcast baseline.
// Usage: node ws_peer.mjs [--port 0] [--durable FILE]  (prints "listening on http://HOST:PORT")
import { createServer } from 'node:http'
import { randomBytes } from 'node:crypto'
import { openSync, writev, fdatasync } from 'node:fs'
import { WebSocketServer } from 'ws'
import { json, sentAt } from './http_util.mjs'

const args = process.argv.slice(2)
const arg = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : fallback
}
const port = Number(arg('--port', '0'))
const durablePath = arg('--durable')

const tokens = new Map() // token -> user
const rooms = new Map() // room -> Set<ws>
const memberships = new Map() // user -> Set<room>
rooms.set('general', new Set())
let nextId = 1


function userOf (req) {
  const auth = req.headers.authorization || ''
  return tokens.get(auth.replace(/^Bearer /, ''))
}

function join (user, room) {
  if (!memberships.has(user)) memberships.set(user, new Set(['general']))
  memberships.get(user).add(room)
}

const server = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => { body += chunk })
  req.on('end', () => {
    const url = req.url
    if (req.method === 'POST' && url === '/api/login') {
      const { user_name: user } = JSON.parse(body || '{}')
      const token = randomBytes(16).toString('hex')
      tokens.set(token, user)
      return json(res, 200, { user_name: user, token, expires_ms: Date.now() + 86400000 })
    }
    const user = userOf(req)
    if (!user) return json(res, 401, { error: { code: 'unauthorized', message: 'no token' } })
    if (req.method === 'POST' && url === '/api/rooms') {
      const { name } = JSON.parse(body || '{}')
      if (rooms.has(name)) return json(res, 409, { error: { code: 'room_exists', message: name } })
      rooms.set(name, new Set())
      join(user, name)
      return json(res, 201, { name, joined: true })
    }
    const m = /^\/api\/rooms\/([^/]+)\/join$/.exec(url)
    if (req.method === 'POST' && m) {
      if (!rooms.has(m[1])) return json(res, 404, { error: { code: 'room_not_found', message: m[1] } })
      join(user, m[1])
      return json(res, 200, { name: m[1], joined: true })
    }
    if (url === '/healthz') return json(res, 200, { status: 'ok' })
    json(res, 404, { error: { code: 'not_found', message: url } })
  })
})

// Group commit: appends waiting while an fdatasync runs go out together in the next one.
let fd = durablePath ? openSync(durablePath, 'a') : null
let queue = []
let flushing = false
function flush () {
  if (flushing || queue.length === 0) return
  flushing = true
  const batch = queue
  queue = []
  writev(fd, batch.map((b) => Buffer.from(b.line)), (err) => {
    if (err) throw err
    fdatasync(fd, (err2) => {
      if (err2) throw err2
      flushing = false
      for (const b of batch) b.done()
      flush()
    })
  })
}
function durable (message, done) {
  if (!fd) return done()
  queue.push({ line: JSON.stringify(message) + '\n', done })
  flush()
}

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 })
server.on('upgrade', (req, socket, head) => {
  const url = new URL(req.url, 'http://x')
  const user = url.pathname === '/ws' && tokens.get(url.searchParams.get('token'))
  if (!user) {
    socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n')
    return
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    const mine = memberships.get(user) || new Set(['general'])
    ws.user = user
    ws.rooms = mine
    for (const room of mine) rooms.get(room).add(ws)
    ws.send(JSON.stringify({ type: 'welcome', user_name: user, rooms: [...mine], online: [] }))
    ws.on('message', (data, isBinary) => onFrame(ws, data, isBinary))
    ws.on('close', () => { for (const room of mine) rooms.get(room)?.delete(ws) })
    ws.on('error', () => {})
  })
})

function error (ws, code, message, clientMsgId) {
  ws.send(JSON.stringify({ type: 'error', code, message, ...(clientMsgId ? { client_msg_id: clientMsgId } : {}) }))
}

function onFrame (ws, data, isBinary) {
  if (isBinary) return error(ws, 'bad_request', 'frames are JSON text')
  let frame
  try { frame = JSON.parse(data) } catch { return error(ws, 'invalid_json', 'not JSON') }
  if (frame.type === 'ping') return ws.send('{"type":"pong"}')
  if (frame.type !== 'send') return error(ws, 'unknown_type', String(frame.type))
  if (!ws.rooms.has(frame.room)) return error(ws, 'not_member', 'join first', frame.client_msg_id)
  const ts = Date.now()
  const message = {
    id: nextId++, room: frame.room, user_name: ws.user, content: frame.content,
    sent_at: sentAt(new Date(ts)), ts, client_msg_id: frame.client_msg_id, kind: 'text'
  }
  durable(message, () => {
    ws.send(JSON.stringify({ type: 'ack', client_msg_id: message.client_msg_id, id: message.id,
      room: message.room, ts, sent_at: message.sent_at, duplicate: false }))
    const text = JSON.stringify({ type: 'message', message })
    for (const member of rooms.get(message.room)) {
      if (member.readyState === 1) member.send(text)
    }
  })
}

server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`)
})
process.on('SIGTERM', () => process.exit(0))
