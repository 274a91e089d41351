// The brief's design as a peer (the original FastAPI demo, in Node.js): POST /send/ publishes
// each message to the fanout exchange `chat`; WS /receive/{user} declares a queue named after the
// user, binds it to `chat` and forwards every message of it to the socket. One AMQP connection,
// one confirm channel for publishing (POST /send/ answers 200 once RabbitMQ confirmed the
// message, as chatd answers once it stored it) and one channel per receiving socket. The frame
// is `{"content","user_name","sent_at"}`, the seed API's, so chat-bench --api seed drives it
// unchanged. Queues are auto-delete: they go with the socket (the demo never deleted them).
// Usage: node brief_peer.mjs --amqp amqp://guest:guest@127.0.0.1:5672 [--port 0]
//   (prints "listening on http://HOST:PORT")
import { createServer } from 'node:http'
import amqp from 'amqplib'
import { WebSocketServer } from 'ws'
import { json, sentAt } from './http_util.mjs'

const args = process.argv.slice(2)
const arg = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1] : fallback
}
const port = Number(arg('--port', '0'))
const url = arg('--amqp', 'amqp://guest:guest@127.0.0.1:5672')

const connection = await amqp.connect(url)
const publisher = await connection.createConfirmChannel()
await publisher.assertExchange('chat', 'fanout', { durable: false })


const server = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => { body += chunk })
  req.on('end', () => {
    if (req.method === 'POST' && (req.url === '/send/' || req.url === '/send')) {
      let m
      try { m = JSON.parse(body) } catch { return json(res, 400, { detail: 'invalid JSON' }) }
      const text = JSON.stringify({ content: m.content, user_name: m.user_name, sent_at: m.sent_at ?? sentAt() })
      publisher.publish('chat', '', Buffer.from(text), {}, (err) => {
        if (err) return json(res, 503, { detail: 'not confirmed' })
        json(res, 200, { status: 'sent' })
      })
      return
    }
    if (req.url === '/healthz') return json(res, 200, { status: 'ok' })
    json(res, 404, { detail: 'Not Found' })
  })
})

const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false })
server.on('upgrade', (req, socket, head) => {
  const m = /^\/receive\/([^/?]+)$/.exec(req.url)
  if (!m) {
    socket.end('HTTP/1.1 404 Not Found\r\n\r\n')
    return
  }
  const user = decodeURIComponent(m[1])
  // The queue is bound before the handshake completes, so a client that has its 101 gets every
  // message published after it.
  connection.createChannel().then(async (channel) => {
    await channel.assertQueue(user, { durable: false, autoDelete: true })
    await channel.bindQueue(user, 'chat', '')
    wss.handleUpgrade(req, socket, head, (ws) => {
      channel.consume(user, (msg) => {
        if (msg && ws.readyState === 1) ws.send(msg.content.toString())
      }, { noAck: true }).catch(() => ws.close(1011))
      ws.on('close', () => { channel.close().catch(() => {}) })
      ws.on('error', () => {})
    })
  }).catch((err) => {
    console.error(`receive ${user}: ${err.message}`)
    socket.end('HTTP/1.1 503 Service Unavailable\r\n\r\n')
  })
})

server.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}`)
})
process.on('SIGTERM', async () => {
  try { await connection.close() } catch {}
  process.exit(0)
})
