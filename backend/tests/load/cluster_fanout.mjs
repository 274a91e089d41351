// Fan-out across the nodes of a running cluster (make run-cluster), for the figures of issue 3.
// Usage: node cluster_fanout.mjs --nodes http://127.0.0.1:8081,http://127.0.0.1:8082
//          --users N [--rate R] [--seconds S] [--window W] [--json]
// N receivers (native /ws, open mode, room general) are spread round-robin over the nodes; one
// sender per node. --rate R: R messages/s in total, for S seconds (open loop, fixed rate).
// --rate 0 (max): closed loop, at most W messages (default 16) not yet delivered to every
// receiver, for S seconds: the highest rate the cluster sustains without a growing backlog.
// Reports messages/s (acked), deliveries/s, end-to-end latency percentiles (send time travels in
// the content; one process, one clock), lost and duplicated deliveries. Every wait is bounded.
// The cluster needs open auth and high limits:
//   STACK_AUTH=open STACK_CHATD_ARGS='--rate-per-second 1000000 --rate-burst 1000000
//     --max-connections-per-address 20000' make run-cluster
import WebSocket from '../integration/node_modules/ws/index.js'

const args = Object.fromEntries(process.argv.slice(2).join(' ').split('--').filter(Boolean).map(a => {
  const [k, ...v] = a.trim().split(/\s+/)
  return [k, v.join(' ') || 'true']
}))
const nodes = (args.nodes ?? 'http://127.0.0.1:8081,http://127.0.0.1:8082').split(',')
const users = Number(args.users ?? 10)
const rate = Number(args.rate ?? 0)
const seconds = Number(args.seconds ?? 8)
const window = Number(args.window ?? 16)
const runId = Date.now().toString(36)
const DRAIN_MS = 60000

async function login (base, name) {
  const res = await fetch(`${base}/api/login`, { method: 'POST', body: JSON.stringify({ user_name: name }) })
  if (!res.ok) throw new Error(`login ${name} on ${base}: ${res.status} ${await res.text()}`)
  return (await res.json()).token
}

function open (base, token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/ws?token=${token}`, { perMessageDeflate: false })
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('no welcome within 10 s')) }, 10000)
    ws.once('message', () => { clearTimeout(timer); resolve(ws) }) // welcome
    ws.once('error', err => { clearTimeout(timer); reject(err) })
  })
}

// --- receivers ---------------------------------------------------------------------------------
const connectStart = performance.now()
const receivers = []
for (let i = 0; i < users; i += 50) {
  const batch = []
  for (let j = i; j < Math.min(users, i + 50); j++) {
    const base = nodes[j % nodes.length]
    batch.push(login(base, `cf${runId}r${j}`).then(t => open(base, t)))
  }
  receivers.push(...await Promise.all(batch))
}
const connectSeconds = (performance.now() - connectStart) / 1000

const latencies = []
const sentAt = [] // index -> performance.now() at send
const reached = [] // index -> receivers that got it
let delivered = 0
let duplicates = 0
let completed = 0
let firstSend = 0
let lastDelivery = 0
let wakeSenders = () => {}
receivers.forEach((ws, r) => {
  const seen = new Set()
  ws.on('message', data => {
    const frame = JSON.parse(data)
    if (frame.type !== 'message') return
    const [tag, index] = frame.message.content.split(' ')
    if (tag !== runId) return
    const now = performance.now()
    const i = Number(index)
    if (seen.has(i)) { duplicates++; return }
    seen.add(i)
    delivered++
    lastDelivery = now
    latencies.push(now - sentAt[i])
    if ((reached[i] = (reached[i] ?? 0) + 1) === users) { completed++; wakeSenders() }
  })
  ws.on('close', code => { if (!stopping) console.error(`receiver ${r} closed (${code})`) })
})

// --- senders: one per node ---------------------------------------------------------------------
const senders = await Promise.all(nodes.map((base, n) => login(base, `cf${runId}s${n}`).then(t => open(base, t))))
let sent = 0
let acked = 0
let refused = 0
let stopping = false
for (const ws of senders) {
  ws.on('message', data => {
    const frame = JSON.parse(data)
    if (frame.type === 'ack') acked++
    else if (frame.type === 'error') { refused++; if (refused < 5) console.error('error frame', JSON.stringify(frame)) }
  })
}
function sendOne () {
  const i = sent++
  sentAt[i] = performance.now()
  senders[i % senders.length].send(JSON.stringify({
    type: 'send', room: 'general', client_msg_id: `${runId}-${i}`, content: `${runId} ${i}`
  }))
}

firstSend = performance.now()
const sendUntil = firstSend + seconds * 1000
await new Promise(resolve => {
  if (rate > 0) {
    const timer = setInterval(() => {
      const now = performance.now()
      const due = Math.floor(((Math.min(now, sendUntil) - firstSend) / 1000) * rate)
      while (sent < due) sendOne()
      if (now >= sendUntil) { clearInterval(timer); resolve() }
    }, 2)
  } else {
    const pump = () => {
      if (performance.now() >= sendUntil) { wakeSenders = () => {}; resolve(); return }
      while (sent - completed < window) sendOne()
    }
    wakeSenders = pump
    pump()
    // A lost message would stall the closed loop: end the phase on time regardless.
    setTimeout(() => { wakeSenders = () => {}; resolve() }, seconds * 1000 + 10)
  }
})
const sendSeconds = (performance.now() - firstSend) / 1000
const expected = sent * users
const drainDeadline = performance.now() + DRAIN_MS
while (delivered < expected && performance.now() < drainDeadline) await new Promise(resolve => setTimeout(resolve, 20))
stopping = true

latencies.sort((a, b) => a - b)
const pct = p => latencies.length ? Number(latencies[Math.min(latencies.length - 1, Math.floor(p / 100 * latencies.length))].toFixed(1)) : null
const span = (lastDelivery - firstSend) / 1000
const result = {
  nodes: nodes.length,
  users,
  mode: rate > 0 ? `fixed ${rate} msg/s` : `max (window ${window})`,
  connect_seconds: Number(connectSeconds.toFixed(1)),
  sent,
  acked,
  refused,
  messages_per_second: Math.round(acked / sendSeconds),
  deliveries_per_second: Math.round(delivered / span),
  delivered,
  expected,
  lost: expected - delivered,
  duplicates,
  latency_ms: { p50: pct(50), p90: pct(90), p99: pct(99), max: pct(100) }
}
console.log(JSON.stringify(result))
for (const ws of [...receivers, ...senders]) ws.terminate()
process.exit(result.lost === 0 && duplicates === 0 ? 0 : 1)
