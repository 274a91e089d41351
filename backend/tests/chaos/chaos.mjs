#!/usr/bin/env node
// Chaos run with a loss checker (docs/reliability.md): two chatd nodes on RabbitMQ and
// PostgreSQL of their own, a steady load from many clients, and faults injected meanwhile:
// kill -9 of a node and its restart, RabbitMQ stopped and started (state kept), PostgreSQL
// paused with SIGSTOP, clients dropping their socket right after a send. At the end every client
// resyncs, the checker compares what each displayed with what was sent, acked and stored (changes
// included: each edit, delete and reaction received, and every message's final folded state),
// and the process exits 1 on any lost, duplicated, reordered or unexpected message or change.
//
// Environment:
//   CHATD_BIN            the chatd binary (required)
//   CHAOS_SECONDS        load duration, faults included (default 300)
//   CHAOS_USERS          clients (default 40), CHAOS_RATE total actions/s (default 30: new
//                        messages, replies, reactions, edits, deletes)
//   CHAOS_TOPOLOGY       per-user (default) or per-node
//   CHAOS_FAULTS         comma list of kill,rabbitmq,postgres,drop (default all)
//   CHAOS_PORT_BASE      ports: RabbitMQ BASE+369..BASE+1710 (scripts/rabbitmq), PostgreSQL
//                        BASE+1800, chatd BASE+1801 and BASE+1802 (default 24000; < 32768)
//   CHAOS_DIR            data, logs and result.json (default build/chaos/<topology>-<time>)
// Everything it starts is stopped by PID at the end, also on failure or SIGINT/SIGTERM.
import { spawn, spawnSync } from 'node:child_process'
import { createWriteStream, mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { http, openLogin, fetchAfter, waitFor, SANITIZER_REPORT } from '../integration/lib/chatd.mjs'
import { ChaosClient } from './client.mjs'
import { check, summary } from './checker.mjs'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = resolve(here, '../../..')
const env = process.env
const SECONDS = Number(env.CHAOS_SECONDS ?? 300)
const USERS = Number(env.CHAOS_USERS ?? 40)
const RATE = Number(env.CHAOS_RATE ?? 30)
const TOPOLOGY = env.CHAOS_TOPOLOGY ?? 'per-user'
const FAULTS = (env.CHAOS_FAULTS ?? 'kill,drop,postgres,rabbitmq').split(',').filter(Boolean)
const BASE = Number(env.CHAOS_PORT_BASE ?? 24000)
const PG_PORT = BASE + 1800
const NODE_PORTS = [BASE + 1801, BASE + 1802]
const AMQP_PORT = BASE + 672
const stamp = new Date().toISOString().replace(/[:.]/g, '-')
const DIR = resolve(env.CHAOS_DIR ?? join(root, 'build', 'chaos', `${TOPOLOGY}-${stamp}`))
const BIN = env.CHATD_BIN
if (!BIN || !existsSync(BIN)) {
  console.error(`CHATD_BIN=${BIN} is not a chatd binary`)
  process.exit(2)
}
if (!['per-user', 'per-node'].includes(TOPOLOGY)) {
  console.error(`CHAOS_TOPOLOGY must be per-user or per-node, not ${TOPOLOGY}`)
  process.exit(2)
}
if (BASE + 1802 >= 32768) {
  console.error(`CHAOS_PORT_BASE=${BASE} puts ports above 32767`)
  process.exit(2)
}
mkdirSync(DIR, { recursive: true })

const t0 = Date.now()
const clock = () => Date.now() - t0
const logFile = createWriteStream(join(DIR, 'chaos.log'))
const log = (...args) => {
  const line = `[${(clock() / 1000).toFixed(1)}s] ${args.join(' ')}`
  logFile.write(line + '\n')
  if (env.CHAOS_VERBOSE !== '0') console.log(line)
}
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

// --- services --------------------------------------------------------------------------------

const rmqEnv = { ...env, RMQ_DIR: join(DIR, 'rabbitmq'), RMQ_PORT_BASE: String(BASE) }
// Asynchronous: the clients keep running while the broker stops and starts.
function rabbitmq (command, keep = false) {
  return new Promise((resolve, reject) => {
    const proc = spawn(join(root, 'scripts/rabbitmq'), [command], {
      env: { ...rmqEnv, RMQ_KEEP: keep ? '1' : '0' }, stdio: ['ignore', 'pipe', 'pipe']
    })
    let text = ''
    proc.stdout.on('data', c => { text += c })
    proc.stderr.on('data', c => { text += c })
    proc.on('exit', code => code === 0 ? resolve() : reject(new Error(`scripts/rabbitmq ${command}: ${code} ${text}`)))
  })
}

const pgDir = join(DIR, 'postgres')
function postgres (command) {
  const r = spawnSync(join(root, 'scripts/postgres'), [command, '--port', String(PG_PORT), '--dir', pgDir, '--no-fsync'],
    { encoding: 'utf8', timeout: 120000 })
  if (r.status !== 0) throw new Error(`scripts/postgres ${command}: ${r.status} ${r.stderr}`)
}
// The postmaster and every backend (a paused postmaster alone would leave the sessions running).
function postgresPids () {
  const main = Number(readFileSync(join(pgDir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0])
  const children = spawnSync('pgrep', ['-P', String(main)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number)
  return [main, ...children]
}

const dbName = `chaos_${stamp.replace(/-/g, '_').toLowerCase()}`
const dbUrl = `postgresql://postgres@127.0.0.1:${PG_PORT}/${dbName}`
const nodes = NODE_PORTS.map((port, i) => ({
  name: `chaos-${'ab'[i]}`,
  port,
  base: `http://127.0.0.1:${port}`,
  wsBase: `ws://127.0.0.1:${port}`,
  proc: null,
  starts: 0
}))

async function startNode (node) {
  node.starts += 1
  const out = createWriteStream(join(DIR, `${node.name}.${node.starts}.log`))
  const argv = ['--listen', `127.0.0.1:${node.port}`, '--db', dbUrl, '--auth', 'open',
    '--amqp-url', `amqp://guest:guest@127.0.0.1:${AMQP_PORT}/%2F`, '--amqp-topology', TOPOLOGY,
    '--node-id', node.name, '--log-level', 'info']
  const proc = spawn(BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'] })
  node.proc = proc
  let text = ''
  const listening = new Promise((resolve, reject) => {
    const onData = chunk => {
      out.write(chunk)
      if (text.length < 65536) text += chunk.toString()
      if (/listening on http/.test(text)) resolve()
    }
    proc.stdout.on('data', onData)
    proc.stderr.on('data', onData)
    proc.on('exit', (code, signal) => reject(new Error(`${node.name} exited (${code ?? signal}) before listening:\n${text}`)))
  })
  node.exited = new Promise(resolve => proc.on('exit', resolve))
  const timer = setTimeout(() => proc.kill('SIGKILL'), 30000)
  try { await listening } finally { clearTimeout(timer) }
}

function killNode (node) {
  if (node.proc && node.proc.exitCode === null && node.proc.signalCode === null) node.proc.kill('SIGKILL')
  return node.exited
}

let cleaned = false
async function cleanup () {
  if (cleaned) return
  cleaned = true
  for (const node of nodes) {
    if (node.proc && node.proc.exitCode === null && node.proc.signalCode === null) {
      node.proc.kill('SIGTERM')
      const t = setTimeout(() => node.proc.kill('SIGKILL'), 10000)
      await node.exited
      clearTimeout(t)
    }
  }
  try { for (const pid of postgresPids()) process.kill(pid, 'SIGCONT') } catch {}
  try { await rabbitmq('stop') } catch (e) { log(e.message) }
  try { postgres('stop') } catch (e) { log(e.message) }
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => { cleanup().finally(() => process.exit(130)) })
}

// --- faults ----------------------------------------------------------------------------------

const faults = []
async function fault (kind, target, fn) {
  const entry = { kind, target, start: clock(), end: null }
  faults.push(entry)
  log(`fault ${kind}${target ? ' ' + target : ''}: begin`)
  try {
    const note = await fn()
    if (note) entry.note = note
  } finally {
    entry.end = clock()
    log(`fault ${kind}: end after ${((entry.end - entry.start) / 1000).toFixed(1)} s`)
  }
}

const injectors = {
  kill: async () => {
    const node = nodes[faults.filter(f => f.kind === 'kill').length % nodes.length]
    await fault('kill', node.name, async () => {
      await killNode(node)
      await sleep(1000 + Math.random() * 2000)
      await startNode(node)
    })
  },
  rabbitmq: () => fault('rabbitmq', 'stop+start', async () => {
    await rabbitmq('stop')
    await sleep(1000 + Math.random() * 2000)
    await rabbitmq('start', true)
  }),
  postgres: () => fault('postgres', 'SIGSTOP', async () => {
    const pids = postgresPids()
    for (const pid of pids) process.kill(pid, 'SIGSTOP')
    const pause = 3000 + Math.random() * 3000
    try { await sleep(pause) } finally { for (const pid of pids) process.kill(pid, 'SIGCONT') }
    return `${(pause / 1000).toFixed(1)} s, ${pids.length} processes`
  }),
  drop: () => fault('drop', 'clients', async () => {
    const victims = clients.filter(() => Math.random() < 0.25)
    let n = 0
    for (const c of victims) if (c.welcomed && c.sendAndDrop(pickRoom(c))) n += 1
    return `${n} clients dropped right after a send`
  })
}
// --- setup -----------------------------------------------------------------------------------

const users = Array.from({ length: USERS }, (_, i) => `u${String(i).padStart(2, '0')}`)
const roomMembers = {
  general: users,
  lobby: users.slice(0, Math.ceil(USERS / 2)),
  dev: users.slice(Math.floor(USERS / 4))
}
const dms = [[users[0], users[1]], [users[2], users[USERS - 1]]]
for (const [a, b] of dms) roomMembers[`dm:${[a, b].sort().join(':')}`] = [a, b]
let clients = []

function pickRoom (client) {
  const rooms = client.rooms
  if (Math.random() < 0.4) return 'general'
  return rooms[Math.floor(Math.random() * rooms.length)]
}

async function setup () {
  log(`dir ${DIR}; topology ${TOPOLOGY}; ${USERS} users; ${RATE} msg/s; ${SECONDS} s; faults ${FAULTS.join(',')}`)
  await rabbitmq('start')
  postgres('start')
  const r = spawnSync('psql', [`postgresql://postgres@127.0.0.1:${PG_PORT}/postgres`, '-qXc', `CREATE DATABASE ${dbName}`], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`createdb: ${r.stderr}`)
  await startNode(nodes[0])
  await startNode(nodes[1])
  const tokens = {}
  for (const u of users) tokens[u] = await openLogin(nodes[0].base, u)
  for (const room of ['lobby', 'dev']) {
    const [creator, ...rest] = roomMembers[room]
    const res = await http(nodes[0].base, 'POST', '/api/rooms', { name: room }, tokens[creator])
    if (res.status !== 201) throw new Error(`create ${room}: ${res.status} ${res.text}`)
    for (const u of rest) {
      const j = await http(nodes[1].base, 'POST', `/api/rooms/${room}/join`, undefined, tokens[u])
      if (j.status !== 200) throw new Error(`join ${room} ${u}: ${j.status} ${j.text}`)
    }
  }
  for (const [a, b] of dms) {
    const res = await http(nodes[0].base, 'POST', `/api/dm/${b}`, undefined, tokens[a])
    if (res.status !== 200) throw new Error(`dm ${a} ${b}: ${res.status} ${res.text}`)
  }
  clients = users.map((u, i) => {
    const rooms = Object.keys(roomMembers).filter(room => roomMembers[room].includes(u))
    const c = new ChaosClient({ user: u, token: tokens[u], nodes, rooms, clock, log })
    c.homeIndex = i % nodes.length
    return c
  })
  clients.forEach(c => c.start())
  await waitFor(() => clients.every(c => c.online), { timeoutMs: 30000, what: 'every client online' })
  log('all clients online')
  return tokens
}

// --- the run ---------------------------------------------------------------------------------

async function run () {
  const tokens = await setup()
  const loadStart = clock()
  const loadEnd = loadStart + SECONDS * 1000
  let sendsRefusedFull = 0
  // Steady load: RATE actions/s in total, each from a random client in one of its rooms: mostly
  // new messages, and replies, reactions, edits and deletes (ACTION_MIX in client.mjs).
  const loadTimer = setInterval(() => {
    const perTick = RATE / 10
    let n = Math.floor(perTick) + (Math.random() < perTick % 1 ? 1 : 0)
    while (n-- > 0) {
      const c = clients[Math.floor(Math.random() * clients.length)]
      if (!c.act(pickRoom(c))) sendsRefusedFull += 1
    }
  }, 100)

  // Faults in turn, each followed by a quiet spell, until 10 s before the end of the load; every
  // kind at least once (the load goes on until then).
  const gapMs = Math.max(3000, Math.min(15000, SECONDS * 1000 / 25))
  await sleep(Math.min(5000, gapMs))
  let i = 0
  while (FAULTS.length && (clock() < loadEnd - 10000 || i < FAULTS.length)) {
    await injectors[FAULTS[i % FAULTS.length]]()
    i += 1
    await sleep(gapMs * (0.5 + Math.random()))
  }
  await sleep(Math.max(0, loadEnd - clock()))
  clearInterval(loadTimer)
  log(`load stopped; ${faults.length} faults; waiting for every send to be acked`)

  // Recovery: every outbox empty, every client online and caught up, live traffic quiet.
  await waitFor(() => clients.every(c => c.outbox.size === 0 && c.online), { timeoutMs: 120000, intervalMs: 200, what: 'every send acked and every client online' })
    .catch(e => log(`recovery incomplete: ${e.message}`))
  let last = -1
  await waitFor(() => {
    const now = clients.reduce((n, c) => n + c.redeliveries + [...c.displayed.values()].reduce((m, s) => m + s.size, 0), 0)
    const quiet = now === last
    last = now
    return quiet
  }, { timeoutMs: 60000, intervalMs: 3000, what: 'no new frames for 3 s' }).catch(e => log(e.message))
  const beforeFinalSync = Object.fromEntries(clients.map(c => [c.user, Object.fromEntries([...c.displayed].map(([room, s]) => [room, [...s.keys()]]))]))
  // The final resync, as after a reconnect: every room after its mark.
  for (const c of clients) if (c.welcomed) for (const room of c.rooms) c.syncRoom(room, c.generation)
  await waitFor(() => clients.every(c => c.online), { timeoutMs: 60000, intervalMs: 100, what: 'final resync' })
    .catch(e => log(e.message))
  const offline = clients.filter(c => !c.online).map(c => c.user)
  clients.forEach(c => c.stop())

  const stored = {}
  for (const [room, members] of Object.entries(roomMembers)) stored[room] = await fetchAfter(nodes[0].base, tokens[members[0]], room, 0)
  const records = clients.map(c => c.record())
  await cleanup()

  const result = check({ clients: records, stored, members: roomMembers, faults, beforeFinalSync })
  result.figures.topology = TOPOLOGY
  result.figures.seconds = SECONDS
  result.figures.rate = RATE
  result.figures.sendsSkippedOutboxFull = sendsRefusedFull
  result.figures.offlineAtEnd = offline
  result.figures.nodeStarts = nodes.map(n => n.starts)
  if (offline.length) {
    result.ok = false
    result.counts.offlineAtEnd = offline.length
  }
  // A sanitizer build (tsan, asan presets) reports in the node's log; any report fails the run.
  const reported = readdirSync(DIR).filter(f => /^chaos-.*\.log$/.test(f) &&
    SANITIZER_REPORT.test(readFileSync(join(DIR, f), 'utf8')))
  if (reported.length) {
    result.ok = false
    result.counts.sanitizerReports = reported.length
    log(`sanitizer report in ${reported.join(', ')}`)
  }
  writeFileSync(join(DIR, 'result.json'), JSON.stringify(result, null, 1))
  if (!result.ok || env.CHAOS_KEEP_HISTORY === '1') writeFileSync(join(DIR, 'history.json'), JSON.stringify({ clients: records, stored, members: roomMembers, faults, beforeFinalSync }))
  const text = summary(result) + `\n  result: ${join(DIR, 'result.json')}`
  console.log(text)
  logFile.write(text + '\n')
  return result.ok
}

run().then(ok => {
  process.exitCode = ok ? 0 : 1
}, async err => {
  console.error(`chaos: run failed: ${err.stack ?? err}`)
  await cleanup()
  process.exitCode = 2
})
