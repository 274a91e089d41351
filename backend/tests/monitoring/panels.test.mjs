// Every Grafana panel shows data. A real Prometheus (Debian package) runs with the project's
// prometheus.yml (targets moved to local ports) and alert rules, scraping two real chatd nodes
// (CHATD_BIN, joined by a real RabbitMQ from scripts/rabbitmq) and that RabbitMQ's
// rabbitmq_prometheus endpoint. After a short chat load, every panel query of both dashboards runs
// through /api/v1/query (Grafana's $__rate_interval and friends replaced by a fixed window, the
// dashboard variables by "All"). A query that errors (a PromQL parse error included), returns no
// series, or only NaN/Inf fails. Every variable's label_values() must return values, every
// target must be up and every rule must evaluate without error.
//
// A chatd built without the RabbitMQ bus (it refuses --amqp-url) runs embedded instead; then the
// panels that only read chat_broker_* are reported as skipped, not passed.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { http, startChatd, WebSocket } from '../integration/lib/chatd.mjs'
import { loadDashboards, parseLabelValues, repoRoot, queryTargets, substitute, variableQuery } from './lib/dashboards.mjs'
import {
  freePort, localPrometheusConfig, promApi, promQuery, promValue, rabbitApi, removeDir,
  startPrometheus, startRabbitMQ, waitFor, which
} from './lib/services.mjs'

const WINDOW = '1m' // covers the whole run: every rate() sees the samples before and after the load
const MESSAGES_PER_NODE = 20
const dashboards = loadDashboards()
const work = mkdtempSync(join(tmpdir(), 'chatd-monitoring-'))
const state = { nodes: [], clients: [], brokered: false }

function log (...args) { console.log('#', ...args) }

// Starts chatd with the broker; a build without the RabbitMQ bus refuses --amqp-url at start.
async function startNode (name, rmq) {
  try {
    const node = await startChatd({ args: ['--amqp-url', rmq.amqpUrl, '--node-id', name] })
    return { node, brokered: true }
  } catch (err) {
    if (!/--amqp-url/.test(String(err.message))) throw err
    log(`${name}: this chatd has no RabbitMQ bus (${/--amqp-url[^\n]*/.exec(err.message)[0]}); running embedded`)
    return { node: await startChatd({ args: ['--node-id', name] }), brokered: false }
  }
}

// Opens the brief's /receive/{user} stream and counts the messages it gets.
function receiver (node, user) {
  const ws = new WebSocket(`${node.wsBase}/receive/${user}`)
  const client = { ws, user, messages: 0 }
  ws.on('message', data => {
    const msg = JSON.parse(String(data))
    if (msg.content?.startsWith('load ')) client.messages++
  })
  client.open = new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  state.clients.push(client)
  return client
}

async function metricSum (node, name) {
  const res = await http(node.base, 'GET', '/metrics')
  let sum = 0
  for (const line of res.text.split('\n')) {
    if (line.startsWith(name + ' ') || line.startsWith(name + '{')) sum += Number(line.split(' ').pop())
  }
  return sum
}

before(async () => {
  const t0 = Date.now()
  state.rmq = await startRabbitMQ(work)
  log(`rabbitmq ready in ${Date.now() - t0} ms (amqp ${state.rmq.ports.amqp}, metrics ${state.rmq.metricsTarget})`)
  // The queue policy compose's rabbitmq-setup applies, through the same management API call.
  const policy = JSON.parse(readFileSync(join(repoRoot, 'backend/deploy/rabbitmq/policy.json'), 'utf8'))
  await rabbitApi(state.rmq, 'PUT', '/api/policies/%2F/chatd-user-queues', policy)
  const applied = await rabbitApi(state.rmq, 'GET', '/api/policies/%2F/chatd-user-queues')
  assert.deepEqual(applied.definition, policy.definition)

  for (const name of ['mon-1', 'mon-2']) {
    const { node, brokered } = await startNode(name, state.rmq)
    state.nodes.push(node)
    state.brokered = brokered
  }
  log(`chatd nodes on ${state.nodes.map(n => n.port).join(', ')} (${state.brokered ? 'RabbitMQ bus' : 'embedded'})`)

  const promPort = await freePort()
  const config = await localPrometheusConfig({
    chatd: state.nodes.map(n => `127.0.0.1:${n.port}`),
    rabbitmq: [state.rmq.metricsTarget]
  }, `127.0.0.1:${promPort}`)
  state.prom = await startPrometheus(join(work, 'prometheus'), config, promPort)

  // First samples of every target (the scrape manager applies new targets after about 5 s).
  const t1 = Date.now()
  await waitFor(async () => (await promValue(state.prom, 'count(up == 1)')) === 4,
    { timeoutMs: 30000, intervalMs: 200, what: 'all 4 targets (2 chatd, rabbitmq, prometheus) up in Prometheus' })
  log(`first samples of all targets after ${Date.now() - t1} ms`)

  // --- load: receivers on both nodes, sends on both, a few refusals --------------------------
  const receivers = [receiver(state.nodes[0], 'alice'), receiver(state.nodes[1], 'bob')]
  await Promise.all(receivers.map(r => r.open))
  for (let i = 0; i < MESSAGES_PER_NODE; i++) {
    for (const [k, node] of state.nodes.entries()) {
      const res = await http(node.base, 'POST', '/send/', { content: `load ${k}.${i}`, user_name: k ? 'dave' : 'carol' })
      assert.equal(res.status, 200, res.text)
    }
  }
  for (const node of state.nodes) {
    assert.equal((await http(node.base, 'POST', '/send/', '{not json')).status, 400)
    assert.equal((await http(node.base, 'GET', '/users/')).status, 200)
  }
  // With the broker each receiver gets every node's messages; embedded, only its own node's.
  const expected = state.brokered ? MESSAGES_PER_NODE * state.nodes.length : MESSAGES_PER_NODE
  await waitFor(() => receivers.every(r => r.messages >= expected),
    { timeoutMs: 20000, intervalMs: 50, what: `${expected} messages at each receiver (got ${receivers.map(r => r.messages)})` })

  if (!state.brokered) {
    // RabbitMQ traffic without chatd: declare, publish, get with ack, through the management API.
    await rabbitApi(state.rmq, 'PUT', '/api/queues/%2F/monitoring-test', { durable: false })
    for (let i = 0; i < 10; i++) {
      await rabbitApi(state.rmq, 'POST', '/api/exchanges/%2F/amq.default/publish',
        { properties: {}, routing_key: 'monitoring-test', payload: `m${i}`, payload_encoding: 'string' })
    }
    await rabbitApi(state.rmq, 'POST', '/api/queues/%2F/monitoring-test/get',
      { count: 5, ackmode: 'ack_requeue_false', encoding: 'auto' })
  }

  // Prometheus must have scraped the nodes after the load (their own counters say how much).
  let stored = 0
  for (const node of state.nodes) stored += await metricSum(node, 'chat_messages_stored_total')
  await waitFor(async () => (await promValue(state.prom, 'sum(chat_messages_stored_total{job="chatd"})')) >= stored,
    { timeoutMs: 15000, intervalMs: 200, what: `Prometheus to see ${stored} stored messages` })
  await waitFor(async () => (await promValue(state.prom, 'sum(rabbitmq_global_messages_received_total{job="rabbitmq"})')) > 0,
    { timeoutMs: 15000, intervalMs: 200, what: 'Prometheus to see messages published to RabbitMQ' })
  // One more scrape of everything, so that rate() has a sample after the last change.
  const loaded = Date.now() / 1000
  await waitFor(async () => (await promValue(state.prom, 'min(timestamp(up))')) > loaded,
    { timeoutMs: 10000, intervalMs: 200, what: 'a fresh scrape of every target' })
  log(`load done: ${stored} messages stored; setup took ${Date.now() - t0} ms`)
})

after(async () => {
  for (const c of state.clients) c.ws.terminate()
  await Promise.allSettled(state.nodes.map(n => n.stop()))
  if (state.prom) await state.prom.stop()
  if (state.rmq) state.rmq.stop()
  removeDir(work)
})

const brokerOnly = expr => /chat_broker_/.test(expr) && !/chat_(?!broker_)\w+/.test(expr)

for (const { file, json } of dashboards) {
  for (const { panel, target } of queryTargets(json)) {
    const name = `${file} panel ${panel.id} "${panel.title}" ${target.refId}`
    test(name, { timeout: 15000 }, async t => {
      const { expr, unknown } = substitute(target.expr, json, WINDOW)
      assert.deepEqual(unknown, [], `unknown variables in ${target.expr}`)
      if (!state.brokered && brokerOnly(expr)) {
        t.skip('chat_broker_* only: this chatd runs without a RabbitMQ bus')
        return
      }
      let data
      try {
        data = await promQuery(state.prom, expr)
      } catch (err) {
        assert.fail(`query failed: ${err.message}\n  ${expr}`)
      }
      const series = data.resultType === 'scalar' ? [{ value: data.result }] : data.result
      const finite = series.filter(s => Number.isFinite(Number(s.value[1])))
      t.diagnostic(`${series.length} series, ${finite.length} with a value`)
      log(`${name}: ${series.length} series`)
      assert.ok(series.length > 0, `no series for\n  ${expr}`)
      assert.ok(finite.length > 0, `only NaN/Inf for\n  ${expr}\n  ${JSON.stringify(series.slice(0, 3))}`)
    })
  }

  for (const v of json.templating?.list ?? []) {
    test(`${file} variable $${v.name} has values`, async () => {
      const lv = parseLabelValues(variableQuery(v))
      assert.ok(lv, `unsupported variable query ${variableQuery(v)}`)
      const values = await promApi(state.prom, `label/${lv.label}/values`, { 'match[]': lv.match })
      log(`${file} $${v.name}: ${values.join(', ')}`)
      assert.ok(values.length > 0, `label_values(${lv.match}, ${lv.label}) is empty`)
    })
  }
}

test('every scrape target is up', async () => {
  const { activeTargets } = await promApi(state.prom, 'targets')
  const down = activeTargets.filter(t => t.health !== 'up').map(t => `${t.labels.job} ${t.scrapeUrl}: ${t.lastError}`)
  assert.deepEqual(down, [])
  assert.deepEqual([...new Set(activeTargets.map(t => t.labels.job))].sort(), ['chatd', 'prometheus', 'rabbitmq'])
})

test('every recording and alerting rule evaluates without error, and nothing fires', async () => {
  const rules = await waitFor(async () => {
    const { groups } = await promApi(state.prom, 'rules')
    const all = groups.flatMap(g => g.rules)
    return all.every(r => r.lastEvaluation && !r.lastEvaluation.startsWith('0001')) && all
  }, { timeoutMs: 5000, what: 'every rule evaluated once' })
  assert.ok(rules.length >= 12, `only ${rules.length} rules loaded`)
  const bad = rules.filter(r => r.health !== 'ok').map(r => `${r.name}: ${r.health} ${r.lastError}`)
  assert.deepEqual(bad, [])
  const firing = rules.filter(r => r.type === 'alerting' && r.state === 'firing').map(r => r.name)
  assert.deepEqual(firing, [])
  assert.ok(!Number.isNaN(await promValue(state.prom, 'sum(job:chat_messages_received:rate5m)')), 'recording rule has data')
})

test('every chatd node\'s /metrics passes promtool check metrics (naming and exposition lint)', async () => {
  assert.ok(which('promtool'), 'promtool not found: run scripts/install-deps --test')
  for (const node of state.nodes) {
    const { text } = await http(node.base, 'GET', '/metrics')
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 10000 })
    assert.equal(lint.status, 0, `${node.base}/metrics:\n${lint.stdout}${lint.stderr}`)
  }
})
