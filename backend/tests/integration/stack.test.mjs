// Smoke test of scripts/run-stack (make run-stack, issues 3 and 5): starts the whole local stack
// on private ports (STACK_PORT_BASE), RabbitMQ + PostgreSQL + two chatd nodes + nginx +
// Prometheus from Debian packages, checks that it works end to end, then stops it by PID.
// Env (CMakeLists.txt): CHATD_BIN, CHATD_RUN_STACK (the script), STACK_PORT_BASE, STACK_DIR.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'

import { http, openLogin, SANITIZER_REPORT, waitFor, wsConnect } from './lib/chatd.mjs'

const script = process.env.CHATD_RUN_STACK
const base = Number(process.env.STACK_PORT_BASE)
const dir = process.env.STACK_DIR
if (!script || !base || !dir) throw new Error('CHATD_RUN_STACK, STACK_PORT_BASE and STACK_DIR must be set')
const url = offset => `http://127.0.0.1:${base + offset}`
const nginx = url(80)
const nodes = [url(81), url(82)]
const prometheus = url(90)
const PIDS = ['chatd-1', 'chatd-2', 'nginx', 'prometheus']

function runStack (command, timeout) {
  return new Promise((resolve, reject) => {
    execFile(script, [command], {
      timeout,
      encoding: 'utf8',
      env: { ...process.env, STACK_AUTH: 'open', STACK_CHATD_ARGS: '--password-cost min' }
    }, (err, stdout, stderr) => {
      if (err) reject(new Error(`run-stack ${command}: ${err.message}\n${stdout}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

const alive = pid => { try { process.kill(pid, 0); return true } catch { return false } }

describe('scripts/run-stack stack', () => {
  let started = false
  let pids = {}

  before(async () => {
    const out = await runStack('stack', 150000)
    started = true
    for (const name of PIDS) {
      const file = join(dir, `${name}.pid`)
      assert.ok(existsSync(file), `${file} written`)
      pids[name] = Number(readFileSync(file, 'utf8'))
    }
    assert.match(out, new RegExp(`chat \\(nginx, web client \\+ API\\)\\s+${nginx}`), 'prints the URLs')
    assert.match(out, new RegExp(`Prometheus\\s+${prometheus}`))
  })

  after(async () => {
    if (started) await runStack('stop', 90000)
  })

  it('both nodes and nginx answer /healthz; nginx serves the web client', async () => {
    for (const b of [...nodes, nginx]) {
      const res = await http(b, 'GET', '/healthz')
      assert.equal(res.status, 200, `${b}/healthz: ${res.text}`)
      assert.equal(res.json.status, 'ok')
    }
    for (const b of nodes) assert.equal((await http(b, 'GET', '/readyz')).status, 200, `${b} ready (broker connected)`)
    const index = await http(nginx, 'GET', '/')
    assert.equal(index.status, 200)
    assert.match(index.text, /<!doctype html>/i)
    // nginx's security headers (backend/deploy/nginx/chatd.conf), each once: the web client's
    // policy on its page, the API's on the proxied health check.
    assert.match(index.headers['content-security-policy'], /^default-src 'self'; connect-src 'self' ws: wss:;[^,]*$/)
    const health = await http(nginx, 'GET', '/healthz')
    assert.equal(health.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'")
    for (const res of [index, health]) {
      assert.equal(res.headers['x-content-type-options'], 'nosniff')
      assert.equal(res.headers['x-frame-options'], 'DENY')
      assert.equal(res.headers['referrer-policy'], 'no-referrer')
    }
    assert.equal(health.headers['cache-control'], 'no-store')
  })

  it('a message sent through node 1 is live on node 2 and in node 2\'s history', async () => {
    const reader = await wsConnect(`${nodes[1].replace('http', 'ws')}/receive/stackbob`)
    try {
      await waitFor(async () => (await http(nodes[0], 'GET', '/users/')).json.users.includes('stackbob'),
        { what: 'stackbob (on node 2) listed by node 1' })
      const token = await openLogin(nodes[0], 'stackalice')
      const content = `through node 1 ${Date.now()}`
      const sent = await http(nodes[0], 'POST', '/send/', { content, user_name: 'stackalice' }, token)
      assert.equal(sent.status, 200, sent.text)
      const live = await reader.next(f => f.content === content, 10000, 'the message on node 2')
      assert.equal(live.user_name, 'stackalice')
      const history = await http(nodes[1], 'GET', '/api/rooms/general/messages?limit=50', undefined, token)
      assert.equal(history.status, 200, history.text)
      assert.ok(history.json.messages.some(m => m.content === content), 'in node 2\'s history')
      // And through nginx, with the same token (one shared store).
      const viaProxy = await http(nginx, 'GET', '/api/rooms/general/messages?limit=50', undefined, token)
      assert.ok(viaProxy.json.messages.some(m => m.content === content), 'readable through nginx')
    } finally {
      reader.terminate()
    }
  })

  it('Prometheus scrapes both nodes and RabbitMQ, with the project\'s alert rules loaded', async () => {
    const targets = async () => {
      const res = await http(prometheus, 'GET', '/api/v1/targets')
      return res.json.data.activeTargets.map(t => `${t.labels.job} ${t.scrapeUrl} ${t.health}`)
    }
    const expected = [
      `chatd ${nodes[0]}/metrics up`, `chatd ${nodes[1]}/metrics up`,
      `rabbitmq ${url(1692)}/metrics up`, `prometheus ${prometheus}/metrics up`
    ]
    await waitFor(async () => { const t = await targets(); return expected.every(e => t.includes(e)) },
      { timeoutMs: 45000, intervalMs: 500, what: `targets up: ${expected.join(', ')}` })
    const rules = await http(prometheus, 'GET', '/api/v1/rules')
    const names = rules.json.data.groups.flatMap(g => g.rules.map(r => r.name))
    assert.ok(names.length > 0 && names.includes('ChatServerDown'), `alert rules loaded: ${names.join(', ')}`)
  })

  it('stop ends every process by PID and frees the ports', async () => {
    await runStack('stop', 90000)
    started = false
    for (const [name, pid] of Object.entries(pids)) assert.ok(!alive(pid), `${name} (pid ${pid}) stopped`)
    for (const b of [...nodes, nginx, prometheus]) {
      await assert.rejects(http(b, 'GET', '/healthz', undefined, undefined, { timeoutMs: 2000 }), `${b} closed`)
    }
    assert.ok(!existsSync(join(dir, 'stack.env')))
    // A sanitizer build (tsan, asan presets) reports in chatd's log as it runs and at exit.
    for (const log of readdirSync(dir).filter(f => /^chatd-\d+\.log$/.test(f))) {
      const text = readFileSync(join(dir, log), 'utf8')
      assert.doesNotMatch(text, SANITIZER_REPORT, `${log}: ${text.slice(text.search(SANITIZER_REPORT), 4000)}`)
    }
  })
})
