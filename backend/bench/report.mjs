// Writes the generated section of docs/benchmarks.md and the SVG plots from scripts/bench's
// JSON results. Usage: node report.mjs RESULTS_DIR docs/benchmarks.md [PLOTS_DIR]. Only the
// text between the `<!-- bench:begin -->` and `<!-- bench:end -->` markers is replaced; the rest
// is kept. Plots (PLOTS_DIR, default docs/bench beside the document): fanout-latency.svg,
// deliveries.svg, distributed.svg, connections.svg.
import { readFileSync, writeFileSync, existsSync, readdirSync, mkdirSync } from 'node:fs'
import { join, dirname, relative } from 'node:path'
import { lineChart, barChart } from './svg.mjs'

const [dir, doc, plotsArg] = process.argv.slice(2)
const plots = plotsArg ?? join(dirname(doc), 'bench')
const load = (name) => {
  const p = join(dir, name)
  if (!existsSync(p)) return null
  try { return JSON.parse(readFileSync(p, 'utf8')) } catch { return null }
}
const fmt = (v, digits = 0) => v == null || Number.isNaN(v) ? '–' : Number(v).toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
const ratio = (a, b) => a == null || b == null || !b ? '–' : `${(a / b).toFixed(2)}×`
const files = readdirSync(dir)
const isDurable = (s) => s.startsWith('durable')

// Single-node scenarios: NAME.{chatd,peer}.json.
const scenarios = [...new Set(files.filter((f) => /\.(chatd|peer)\.json$/.test(f) && !/^(connections|startup|dist|mix|history|reconnect)/.test(f))
  .map((f) => f.replace(/\.(chatd|peer)\.json$/, '')))]
const rank = (s) => {
  const m = /^fanout-(\d+)-(r(\d+)|max)$/.exec(s)
  if (m) return Number(m[1]) * 1e4 + (m[3] ? Number(m[3]) : 9999)
  return s.startsWith('rooms') ? 2e9 : 3e9
}
scenarios.sort((a, b) => rank(a) - rank(b))
const expected = ['fanout-100-max', 'fanout-1000-r100', 'fanout-1000-max', 'fanout-10000-r10', 'fanout-10000-max', 'rooms-1000x10', 'durable-100']

const lines = []
const machine = existsSync(join(dir, 'machine.txt')) ? readFileSync(join(dir, 'machine.txt'), 'utf8').trim().split('\n') : []
lines.push('Command: `make bench` (scripts/bench). Machine and run:', '')
for (const m of machine) lines.push(`- ${m}`)
const rel = (f) => relative(dirname(doc), join(plots, f))
lines.push('', `Plots: [fan-out latency vs offered rate](${rel('fanout-latency.svg')}), [deliveries/s per scenario](${rel('deliveries.svg')}),`,
  `[distributed: deliveries/s vs users](${rel('distributed.svg')}), [memory per idle connection](${rel('connections.svg')}).`, '',
  `![fan-out latency](${rel('fanout-latency.svg')})`, '', `![deliveries per scenario](${rel('deliveries.svg')})`, '')
lines.push('| scenario | server | connected | connects/s | sent/s | acked/s | deliveries/s | p50 ms | p99 ms | p99.9 ms | max ms | lost | dup | server CPU % | server RSS MiB |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
const ratios = []
const result = {}
for (const s of scenarios) {
  const pair = {}
  for (const kind of ['chatd', 'peer']) {
    const r = load(`${s}.${kind}.json`)
    pair[kind] = r
    if (!r) { lines.push(`| ${s} | ${kind === 'peer' ? 'node ws' : 'chatd'} | (no result: timed out or failed) | | | | | | | | | | | | |`); continue }
    const lat = isDurable(s) ? r.ack_latency : r.latency
    lines.push(`| ${s} | ${kind === 'peer' ? 'node ws' : 'chatd'} | ${fmt(r.connected)} | ${fmt(r.connect_per_s)} | ${fmt(r.sent / r.duration_s)} | ${fmt(r.acked_per_s)} | ${fmt(r.deliveries_per_s)} | ${fmt(lat.p50_ms, 2)} | ${fmt(lat.p99_ms, 2)} | ${fmt(lat.p999_ms, 2)} | ${fmt(lat.max_ms, 1)} | ${fmt(r.lost)} | ${fmt(r.duplicated)} | ${fmt(r.server.cpu_percent)} | ${fmt(r.server.rss_peak_kib / 1024, 1)} |`)
  }
  result[s] = pair
  const a = pair.chatd; const b = pair.peer
  if (a || b) {
    const key = isDurable(s) ? 'acked_per_s' : 'deliveries_per_s'
    const la = isDurable(s) ? 'ack_latency' : 'latency'
    ratios.push(`| ${s} | ${ratio(a?.[key], b?.[key])} | ${ratio(a?.[la]?.p50_ms, b?.[la]?.p50_ms)} | ${ratio(a?.[la]?.p99_ms, b?.[la]?.p99_ms)} | ${ratio(a?.connect_per_s, b?.connect_per_s)} | ${ratio(a?.server?.cpu_percent, b?.server?.cpu_percent)} | ${ratio(a?.server?.rss_peak_kib, b?.server?.rss_peak_kib)} |`)
  }
}
const missing = expected.filter((s) => !scenarios.includes(s))
if (missing.length) lines.push('', `Not run in this pass: ${missing.join(', ')}.`)
lines.push('', 'Latency is send → delivery (durable: send → ack, i.e. commit latency). Deliveries/s count',
  'what arrived by the end of the drain, over the time from the first send to then. "lost" are',
  'deliveries not arrived when the drain window closed (a saturated server\'s backlog counts here).',
  'Fan-out and rooms scenarios run chatd with `--sqlite-sync normal`; durable-100 with `full` (fsync',
  'per group commit); the peer stores nothing except in durable-100 (append + fdatasync per group).', '',
  '**chatd / node ws peer** (throughput: higher is better; latency, CPU, RSS: lower is better):', '',
  '| scenario | throughput | p50 latency | p99 latency | connects/s | server CPU | server RSS |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |', ...ratios)

// chatd's store metrics after the durable run: mean group-commit size and latency.
for (const s of scenarios.filter(isDurable)) {
  const p = join(dir, `${s}.chatd.store.txt`)
  if (!existsSync(p)) continue
  const m = Object.fromEntries(readFileSync(p, 'utf8').trim().split('\n').map((l) => l.split(/\s+/)).map(([k, v]) => [k.replace(/\{.*\}/, ''), Number(v)]))
  const commits = m.chat_store_commit_seconds_count
  if (!commits) continue
  lines.push('', `${s}, chatd's store (\`/metrics\` after the run): ${fmt(commits)} group commits, ${fmt(m.chat_store_commit_batch_messages_sum / m.chat_store_commit_batch_messages_count, 1)} messages per commit on average, ` +
    `${fmt(m.chat_store_commit_seconds_sum / commits * 1000, 2)} ms per commit (fsync included) on average.`)
}

// Messages and changes (chatd only), beside the message-only scenario of the same shape.
const mixes = [['mix-1000-r100', 'fanout-1000-r100'], ['mix-1000-max', 'fanout-1000-max']].filter(([m]) => load(`${m}.chatd.json`))
if (mixes.length) {
  lines.push('', '**Messages and changes** (chatd; 1,000 clients in one room, 4 senders; the mix is 80 % messages,',
    '15 % reactions and 5 % edits of the sender\'s newest message, each delivered to every member; beside',
    'the messages-only run of the same shape):', '',
    '| scenario | mix (messages, reactions, edits %) | acked/s | deliveries/s | p50 ms | p99 ms | max ms | lost | dup | server CPU % |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const pair of mixes) {
    for (const s of pair) {
      const r = load(`${s}.chatd.json`)
      if (!r) { lines.push(`| ${s} | | (no result) | | | | | | | |`); continue }
      lines.push(`| ${s} | ${r.mix ?? '100,0,0'} | ${fmt(r.acked_per_s)} | ${fmt(r.deliveries_per_s)} | ${fmt(r.latency.p50_ms, 2)} | ${fmt(r.latency.p99_ms, 2)} | ${fmt(r.latency.max_ms, 1)} | ${fmt(r.lost)} | ${fmt(r.duplicated)} | ${fmt(r.server.cpu_percent)} |`)
    }
  }
}

// History pages: history-{sqlite,postgres}.chatd.json.
const histories = ['sqlite', 'postgres'].map((b) => [b, load(`history-${b}.chatd.json`)]).filter(([, r]) => r)
if (histories.length) {
  lines.push('', '**History pages** (a room of a million messages filled by `chatd-history-fill`: every 10th with',
    'reactions, every 20th a reply, every 50th edited, every 200th deleted; pages of 50 at random',
    '`before=` ids over HTTP, one at a time, request to full answer):', '',
    '| store | pages | messages | pages/s | p50 ms | p90 ms | p99 ms | max ms | failed |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const [b, r] of histories) {
    lines.push(`| ${b === 'sqlite' ? 'SQLite' : 'PostgreSQL'} | ${fmt(r.pages)} | ${fmt(r.messages)} | ${fmt(r.pages_per_s)} | ${fmt(r.latency.p50_ms, 2)} | ${fmt(r.latency.p90_ms, 2)} | ${fmt(r.latency.p99_ms, 2)} | ${fmt(r.latency.max_ms, 1)} | ${fmt(r.failed)} |`)
  }
}

// Reconnecting after a restart: reconnect-10000.chatd.json.
const storm = load('reconnect-10000.chatd.json')
if (storm) {
  lines.push('', '**Reconnecting after a restart** (10,000 connected clients, one sending 20 messages/s; chatd killed',
    'with SIGKILL and started again on the same port and database; each client retries on the web client\'s schedule' +
      (storm.quick_retries === undefined
        ? ` (a random wait of up to ${fmt(storm.jitter_ms)} ms, then doubling jittered waits up to ${fmt(storm.cap_ms)} ms)`
        : ` (${storm.quick_retries} attempts after a uniform ${fmt(storm.quick_min_ms)}-${fmt(storm.quick_max_ms)} ms each, then full jitter up to ${fmt(storm.base_ms)} ms doubling, at most ${fmt(storm.cap_ms)} ms)`) + ',',
    "and then fetches its room's missed messages over HTTP; times from the",
    "server's return, i.e. the first client that reconnected; server CPU of the restarted process until every client was back" +
      (storm.date ? `; measured ${storm.date.replace('T', ' ')} UTC, load ${storm.load}):` : '):'), '',
    '| clients | reconnected | resynced | server away s | all connected s | p50 s | p99 s | all resynced s | failed attempts | live round trip p50 / p99 ms | server CPU s |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| ${fmt(storm.clients)} | ${fmt(storm.reconnected)} | ${fmt(storm.resynced)} | ${fmt(storm.away_s, 2)} | ${fmt(storm.all_reconnected_s, 2)} | ${fmt(storm.reconnect_p50_s, 2)} | ${fmt(storm.reconnect_p99_s, 2)} | ${fmt(storm.all_resynced_s, 2)} | ${fmt(storm.failed_attempts)} | ${fmt(storm.live_p50_ms, 1)} / ${fmt(storm.live_p99_ms, 1)} | ${storm.server_cpu_s === undefined ? '?' : fmt(storm.server_cpu_s, 2)} |`)
}

// Idle connections (connections-idle.*; connections-19000.* from runs before 100,000 were held).
const conn = {}
const connName = ['connections-idle', 'connections-19000'].find((n) => files.includes(`${n}.chatd.json`) || files.includes(`${n}.peer.json`))
for (const kind of connName ? ['chatd', 'peer'] : []) {
  const total = load(`${connName}.${kind}.json`)
  const parts = [...Array(total?.parts ?? 2).keys()].map((p) => load(`${connName}.${kind}.part${p}.json`)).filter(Boolean)
  if (!total || parts.length === 0) continue
  const connected = parts.reduce((n, p) => n + p.connected, 0)
  const before = total.rss_before_kib ?? Math.min(...parts.map((p) => p.server.rss_start_kib))
  conn[kind] = { connected, rss: total.rss_kib, fds: total.fds, perConn: (total.rss_kib - before) * 1024 / connected, rate: parts.reduce((n, p) => n + p.connect_per_s, 0) }
}
if (conn.chatd || conn.peer) {
  lines.push('', '**Idle connections** (chat-bench processes over 127.0.0.1-16; RSS sampled while all are held; per',
    'connection = (RSS connected − RSS before) / connections):', '',
    '| server | connected | connects/s | server open files | server RSS MiB | bytes / connection |', '| --- | ---: | ---: | ---: | ---: | ---: |')
  for (const [kind, c] of Object.entries(conn)) {
    lines.push(`| ${kind === 'peer' ? 'node ws' : 'chatd'} | ${fmt(c.connected)} | ${fmt(c.rate)} | ${fmt(c.fds)} | ${fmt(c.rss / 1024, 1)} | ${fmt(c.perConn)} |`)
  }
  if (conn.chatd && conn.peer) lines.push('', `chatd / peer memory per connection: ${ratio(conn.chatd.perConn, conn.peer.perConn)}`)
}
const st = load('startup.chatd.json'); const sp = load('startup.peer.json')
if (st) lines.push('', `Start-up (spawn to listening line): chatd ${st.startup_ms} ms, node ws peer ${sp?.startup_ms ?? '–'} ms. Idle RSS: chatd ${fmt(st.idle_rss_kib / 1024, 1)} MiB, node ws peer ${fmt(sp?.idle_rss_kib / 1024, 1)} MiB.`)

// First load of the web client: first-load.json (frontend/scripts/first-load.mjs).
const firstLoad = load('first-load.json')
if (firstLoad) {
  const names = { 'login-cold': 'sign-in page, cold', 'login-warm': 'sign-in page, warm (reload)', 'chat-cold': 'signed in, cold', 'chat-warm': 'signed in, warm (reload)' }
  lines.push('', `**First load of the web client** (Chromium ${firstLoad.chromium}, median of ${firstLoad.runs} runs; bytes are`,
    'every HTTP response of the load, headers included, as Chromium received them; time is from navigation to',
    'the name field (sign-in page) or to "Connected" (signed in); "identity" is the same build without its',
    `.br and .gz copies; load average ${firstLoad.load_before} before, ${firstLoad.load_after} after):`, '',
    '| load | precompressed: bytes | requests (cache included) | ms | identity: bytes | requests | ms | bytes saved |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const [key, label] of Object.entries(names)) {
    const a = firstLoad.precompressed?.[key]; const b = firstLoad.identity?.[key]
    if (!a || !b) continue
    lines.push(`| ${label} | ${fmt(a.bytes)} | ${fmt(a.requests)} | ${fmt(a.ms_median)} | ${fmt(b.bytes)} | ${fmt(b.requests)} | ${fmt(b.ms_median)} | ${b.bytes ? `${fmt(100 * (1 - a.bytes / b.bytes))} %` : '–'} |`)
  }
}

// Distributed: dist-USERS.{per-user,per-node,brief}.json.
const distKinds = [['per-user', 'chatd per-user'], ['per-node', 'chatd per-node'], ['brief', 'brief peer (Node + amqplib)']]
const distUsers = [...new Set(files.map((f) => /^dist-(\d+)\./.exec(f)?.[1]).filter(Boolean).map(Number))].sort((a, b) => a - b)
const dist = {}
for (const u of distUsers) for (const [k] of distKinds) dist[`${u}.${k}`] = load(`dist-${u}.${k}.json`)
if (distUsers.length) {
  lines.push('', '**Distributed** (RabbitMQ, one chatd node with SQLite, seed API: `/receive/{user}` + `POST /send/`,',
    '2 senders at a fixed rate; the brief peer publishes to the fanout exchange `chat` with one queue per',
    'user, POST answered on the publisher confirm):', '',
    `![distributed](${rel('distributed.svg')})`, '',
    '| users | server | offered msg/s | acked msg/s | deliveries/s | p50 ms | p99 ms | max ms | lost | dup | server CPU % | server RSS MiB |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const u of distUsers) {
    for (const [k, label] of distKinds) {
      const r = dist[`${u}.${k}`]
      if (!r) { lines.push(`| ${fmt(u)} | ${label} | (no result) | | | | | | | | | |`); continue }
      lines.push(`| ${fmt(u)} | ${label} | ${fmt(r.rate)} | ${fmt(r.acked_per_s)} | ${fmt(r.deliveries_per_s)} | ${fmt(r.latency.p50_ms, 2)} | ${fmt(r.latency.p99_ms, 2)} | ${fmt(r.latency.max_ms, 1)} | ${fmt(r.lost)} | ${fmt(r.duplicated)} | ${fmt(r.server.cpu_percent)} | ${fmt(r.server.rss_peak_kib / 1024, 1)} |`)
    }
  }
  lines.push('', '| users | per-user / brief deliveries/s | per-node / brief deliveries/s | per-user / brief p99 | per-node / brief p99 |', '| ---: | ---: | ---: | ---: | ---: |')
  for (const u of distUsers) {
    const b = dist[`${u}.brief`]; const pu = dist[`${u}.per-user`]; const pn = dist[`${u}.per-node`]
    lines.push(`| ${fmt(u)} | ${ratio(pu?.deliveries_per_s, b?.deliveries_per_s)} | ${ratio(pn?.deliveries_per_s, b?.deliveries_per_s)} | ${ratio(pu?.latency?.p99_ms, b?.latency?.p99_ms)} | ${ratio(pn?.latency?.p99_ms, b?.latency?.p99_ms)} |`)
  }
}

// Plots.
mkdirSync(plots, { recursive: true })
const sweep = scenarios.filter((s) => /^fanout-1000-r\d+$/.test(s))
const offered = (s) => Number(/-r(\d+)$/.exec(s)[1]) * 1000
const sweepSeries = (kind, q, name, dash) => ({ name, dash, points: sweep.map((s) => [offered(s), result[s]?.[kind]?.latency?.[q]]).filter(([, y]) => y != null) })
writeFileSync(join(plots, 'fanout-latency.svg'), lineChart({
  title: 'Fan-out, 1 room, 1,000 clients: latency vs offered load',
  xLabel: 'offered deliveries/s (messages/s × 1,000 recipients)',
  yLabel: 'send → delivery latency (ms, log)',
  yLog: true,
  hline: { y: 100, label: 'p99 100 ms (saturation)' },
  series: [sweepSeries('chatd', 'p50_ms', 'chatd p50'), sweepSeries('chatd', 'p99_ms', 'chatd p99', '6 3'),
    sweepSeries('peer', 'p50_ms', 'node ws p50'), sweepSeries('peer', 'p99_ms', 'node ws p99', '6 3')].map((s, i) => ({ ...s, color: ['#1f77b4', '#1f77b4', '#d62728', '#d62728'][i] }))
}))
writeFileSync(join(plots, 'deliveries.svg'), barChart({
  title: 'Throughput per scenario (durable: acked/s)',
  yLabel: 'deliveries/s (log)',
  yLog: true,
  names: ['chatd', 'node ws peer'],
  groups: scenarios.map((s) => ({ label: s, values: ['chatd', 'peer'].map((k) => result[s]?.[k]?.[isDurable(s) ? 'acked_per_s' : 'deliveries_per_s']) }))
}))
writeFileSync(join(plots, 'distributed.svg'), lineChart({
  title: 'Distributed (RabbitMQ): deliveries/s vs online users',
  xLabel: 'online users (one room, seed API)',
  yLabel: 'deliveries/s',
  xLog: true,
  series: distKinds.map(([k, label]) => ({ name: label.replace(' (Node + amqplib)', ''), points: distUsers.map((u) => [u, dist[`${u}.${k}`]?.deliveries_per_s]).filter(([, y]) => y != null) }))
}))
writeFileSync(join(plots, 'connections.svg'), barChart({
  title: `Server memory per idle connection (${fmt(Math.max(conn.chatd?.connected ?? 0, conn.peer?.connected ?? 0))} held)`,
  yLabel: 'bytes / connection',
  names: ['chatd', 'node ws peer'],
  groups: [{ label: 'idle connection', values: [conn.chatd?.perConn, conn.peer?.perConn] }]
}))

const generated = ['<!-- bench:begin (generated by scripts/bench: do not edit by hand) -->', ...lines, '<!-- bench:end -->'].join('\n')
let text = existsSync(doc) ? readFileSync(doc, 'utf8') : '# Benchmarks\n\n<!-- bench:begin -->\n<!-- bench:end -->\n'
const re = /<!-- bench:begin[^>]*-->[\s\S]*?<!-- bench:end -->/
text = re.test(text) ? text.replace(re, () => generated) : `${text.trimEnd()}\n\n${generated}\n`
writeFileSync(doc, text)
console.log(`wrote ${doc} and ${plots}/*.svg`)
