// Quick fan-out measurement (the real load generator is chat-bench, issue 6).
// Usage: node quick_fanout.mjs BASE_URL CLIENTS MESSAGES [RATE_PER_SECOND]
// Starts CLIENTS native WebSocket clients in general (open mode), one extra sender sends
// MESSAGES messages at RATE (0 = as fast as acks allow, 64 in flight), and reports deliveries
// per second and end-to-end latency percentiles (send time is carried in the content).
import WebSocket from '../integration/node_modules/ws/index.js'

const [base, clientsArg, messagesArg, rateArg] = process.argv.slice(2)
const clients = Number(clientsArg ?? 100)
const messages = Number(messagesArg ?? 1000)
const rate = Number(rateArg ?? 0)
const wsBase = base.replace(/^http/, 'ws')
const runId = Date.now().toString(36)

async function login(name) {
  const res = await fetch(`${base}/api/login`, { method: 'POST', body: JSON.stringify({ user_name: name }) })
  if (!res.ok) throw new Error(`login ${name}: ${res.status}`)
  return (await res.json()).token
}

function open(token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${wsBase}/ws?token=${token}`)
    ws.once('message', () => resolve(ws)) // welcome
    ws.once('error', reject)
  })
}

const latencies = []
let delivered = 0
let lastDelivery = 0
const expected = clients * messages
let done
const finished = new Promise((resolve) => (done = resolve))

const receivers = []
for (let i = 0; i < clients; i += 50) {
  const batch = []
  for (let j = i; j < Math.min(clients, i + 50); j++) batch.push(login(`load${j}`).then(open))
  receivers.push(...(await Promise.all(batch)))
}
for (const ws of receivers) {
  ws.on('message', (data) => {
    const frame = JSON.parse(data)
    if (frame.type !== 'message') return
    const sentAt = Number(frame.message.content.split(' ')[0])
    const now = performance.now()
    latencies.push(now - sentAt)
    lastDelivery = now
    if (++delivered === expected) done()
  })
}

const sender = await open(await login('loadsender'))
let acked = 0
let sent = 0
const start = performance.now()
sender.on('message', (data) => {
  const frame = JSON.parse(data)
  if (frame.type === 'ack') {
    acked++
    if (rate === 0) pump()
  } else if (frame.type === 'error') {
    console.error('error frame', frame)
  }
})
function sendOne() {
  sender.send(JSON.stringify({ type: 'send', room: 'general', client_msg_id: `${runId}-${sent}`, content: `${performance.now()} load` }))
  sent++
}
function pump() {
  while (sent < messages && sent - acked < 64) sendOne()
}
if (rate === 0) pump()
else {
  const timer = setInterval(() => {
    const due = Math.min(messages, Math.floor(((performance.now() - start) / 1000) * rate))
    while (sent < due) sendOne()
    if (sent >= messages) clearInterval(timer)
  }, 5)
}
const timeout = setTimeout(() => done(), 120000)
await finished
clearTimeout(timeout)
const seconds = (lastDelivery - start) / 1000
latencies.sort((a, b) => a - b)
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]?.toFixed(2)
console.log(JSON.stringify({
  clients, messages, rate, delivered, expected,
  deliveries_per_second: Math.round(delivered / seconds),
  latency_ms: { p50: pct(50), p99: pct(99), max: latencies.at(-1)?.toFixed(2) },
}))
for (const ws of [...receivers, sender]) ws.terminate()
