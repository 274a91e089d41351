// Writes the generated section of docs/benchmarks.md from scripts/bench's JSON results.
// Usage: node report.mjs RESULTS_DIR docs/benchmarks.md. Only the text between the
// `<!-- bench:begin -->` and `<!-- bench:end -->` markers is replaced; the rest is kept.
import { readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

const [dir, doc] = process.argv.slice(2)
const load = (name) => {
  const p = join(dir, name)
  return existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : null
}
const fmt = (v, digits = 0) => v == null || Number.isNaN(v) ? '–' : Number(v).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const ratio = (a, b) => a == null || b == null || !b ? '–' : `${(a / b).toFixed(2)}×`

const scenarios = [...new Set(readdirSync(dir).filter((f) => /\.(chatd|peer)\.json$/.test(f) && !f.startsWith('connections') && !f.startsWith('startup'))
  .map((f) => f.replace(/\.(chatd|peer)\.json$/, '')))]
const order = ['fanout-100-max', 'fanout-1000-r100', 'fanout-1000-r1000', 'fanout-1000-max', 'fanout-10000-r10', 'fanout-10000-max', 'rooms-1000x10', 'durable-100']
scenarios.sort((a, b) => order.indexOf(a) - order.indexOf(b))

const lines = []
const machine = existsSync(join(dir, 'machine.txt')) ? readFileSync(join(dir, 'machine.txt'), 'utf8').trim().split('\n') : []
lines.push('Command: `make bench` (scripts/bench). Machine:', '')
for (const m of machine) lines.push(`- ${m}`)
lines.push('', '| scenario | server | connected | connects/s | sent/s | acked/s | deliveries/s | p50 ms | p99 ms | p99.9 ms | max ms | lost | dup | server CPU % | server RSS MiB |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
const ratios = []
for (const s of scenarios) {
  const pair = {}
  for (const kind of ['chatd', 'peer']) {
    const r = load(`${s}.${kind}.json`)
    pair[kind] = r
    if (!r) { lines.push(`| ${s} | ${kind} | (no result: timed out or failed) | | | | | | | | | | | | |`); continue }
    const lat = s.startsWith('durable') ? r.ack_latency : r.latency
    lines.push(`| ${s} | ${kind === 'peer' ? 'node ws' : 'chatd'} | ${fmt(r.connected)} | ${fmt(r.connect_per_s)} | ${fmt(r.sent / r.duration_s)} | ${fmt(r.acked_per_s)} | ${fmt(r.deliveries_per_s)} | ${fmt(lat.p50_ms, 2)} | ${fmt(lat.p99_ms, 2)} | ${fmt(lat.p999_ms, 2)} | ${fmt(lat.max_ms, 1)} | ${fmt(r.lost)} | ${fmt(r.duplicated)} | ${fmt(r.server.cpu_percent)} | ${fmt(r.server.rss_peak_kib / 1024, 1)} |`)
  }
  const a = pair.chatd; const b = pair.peer
  if (a || b) {
    const key = s.startsWith('durable') ? 'acked_per_s' : 'deliveries_per_s'
    const la = s.startsWith('durable') ? 'ack_latency' : 'latency'
    ratios.push(`| ${s} | ${ratio(a?.[key], b?.[key])} | ${ratio(a?.[la]?.p99_ms, b?.[la]?.p99_ms)} | ${ratio(a?.connect_per_s, b?.connect_per_s)} | ${ratio(a?.server?.cpu_percent, b?.server?.cpu_percent)} | ${ratio(a?.server?.rss_peak_kib, b?.server?.rss_peak_kib)} |`)
  }
}
const missing = order.filter((s) => !scenarios.includes(s))
if (missing.length) {
  lines.push('', `Not run in this pass: ${missing.join(', ')}.` + (process.env.BENCH_NOT_RUN ? ` ${process.env.BENCH_NOT_RUN}` : ''))
}
lines.push('', 'Latency is send → delivery (durable: send → ack, i.e. commit latency). Fan-out scenarios',
  'run chatd with `--sqlite-sync normal`; durable-100 with `full` (fsync per group commit); the peer',
  'stores nothing except in durable-100 (append + fdatasync per group).', '',
  '**chatd / peer** (throughput: higher is better; p99, CPU, RSS: lower is better):', '',
  '| scenario | throughput | p99 latency | connects/s | server CPU | server RSS |', '| --- | ---: | ---: | ---: | ---: | ---: |', ...ratios)

const conn = {}
for (const kind of ['chatd', 'peer']) {
  const total = load(`connections-19000.${kind}.json`)
  const parts = [0, 1].map((p) => load(`connections-19000.${kind}.part${p}.json`)).filter(Boolean)
  if (!total || parts.length === 0) continue
  const connected = parts.reduce((n, p) => n + p.connected, 0)
  const before = Math.min(...parts.map((p) => p.server.rss_start_kib))
  conn[kind] = { connected, rss: total.rss_kib, perConn: (total.rss_kib - before) * 1024 / connected, rate: parts.reduce((n, p) => n + p.connect_per_s, 0) }
}
if (conn.chatd || conn.peer) {
  lines.push('', '**Idle connections** (two chat-bench processes, 127.0.0.1-16):', '',
    '| server | connected | connects/s | server RSS MiB | bytes / connection |', '| --- | ---: | ---: | ---: | ---: |')
  for (const [kind, c] of Object.entries(conn)) {
    lines.push(`| ${kind === 'peer' ? 'node ws' : 'chatd'} | ${fmt(c.connected)} | ${fmt(c.rate)} | ${fmt(c.rss / 1024, 1)} | ${fmt(c.perConn)} |`)
  }
  if (conn.chatd && conn.peer) lines.push('', `chatd / peer memory per connection: ${ratio(conn.chatd.perConn, conn.peer.perConn)}`)
}
const st = load('startup.chatd.json'); const sp = load('startup.peer.json')
if (st) lines.push('', `Start-up (spawn to listening line): chatd ${st.startup_ms} ms. Idle RSS: chatd ${fmt(st.idle_rss_kib / 1024, 1)} MiB, node ws peer ${fmt(sp?.idle_rss_kib / 1024, 1)} MiB.`)

const generated = ['<!-- bench:begin (generated by scripts/bench: do not edit by hand) -->', ...lines, '<!-- bench:end -->'].join('\n')
let text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n\n<!-- bench:begin -->\n<!-- bench:end -->\n'
const re = /<!-- bench:begin[^>]*-->[\s\S]*?<!-- bench:end -->/
text = re.test(text) ? text.replace(re, generated) : `${text.trimEnd()}\n\n${generated}\n`
writeFileSync(doc, text)
console.log(`wrote ${doc}`)
