// An ack means durably stored: kill -9 right after acks loses none of them, and retries after the
// restart are idempotent (the brief). /readyz answers 503 while the store does not.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'

import { fetchAfter, http, nativeConnect, openLogin, pgAdmin, startChatd, usePg, waitFor, within } from './lib/chatd.mjs'

const TOTAL = 500
const KILL_AFTER_ACKS = 200
const ARGS = ['--rate-per-second', '100000', '--rate-burst', '100000']

describe('durability across kill -9', () => {
  const servers = []
  const cmids = Array.from({ length: TOTAL }, (_, i) => `dur-${i}`)
  const contentOf = cmid => `durable message ${cmid}`
  const acked = new Map() // client_msg_id -> id
  let dbPath

  after(async () => {
    for (const s of servers) await s.kill9()
    servers[0]?.cleanup()
  })

  it('acks arrive for pipelined sends until the server is killed with SIGKILL', async t => {
    const first = await startChatd({ auth: 'open', args: ARGS })
    servers.push(first)
    dbPath = first.dbPath
    const token = await openLogin(first.base, 'writer')
    const c = await nativeConnect(first, token)
    let killed = false
    c.onFrame(f => {
      if (f.type === 'ack') {
        acked.set(f.client_msg_id, f.id)
        // Kill from inside the frame handler: more sends are still in flight at this moment.
        if (!killed && acked.size >= KILL_AFTER_ACKS) {
          killed = true
          first.proc.kill('SIGKILL')
        }
      }
    })
    for (const cmid of cmids) c.send({ type: 'send', room: 'general', content: contentOf(cmid), client_msg_id: cmid })
    await within(c.closed, 30000, `${KILL_AFTER_ACKS} acks, then the connection to drop`)
    const exit = await first.kill9()
    assert.equal(exit.signal, 'SIGKILL', `the server was killed, not ended by itself: ${JSON.stringify(exit)}`)
    const errors = c.all.filter(f => f.type === 'error')
    assert.deepEqual(errors, [], 'no send was refused')
    assert.ok(acked.size >= KILL_AFTER_ACKS, `only ${acked.size} acks before the connection dropped`)
    t.diagnostic(`${acked.size} of ${TOTAL} sends acked when SIGKILL hit`)
  })

  it('after a restart on the same file, every acked message is in history once, in id order', async () => {
    const second = await startChatd({ auth: 'open', args: ARGS, dbPath })
    servers.push(second)
    const token = await openLogin(second.base, 'auditor')
    const history = await fetchAfter(second.base, token, 'general', 0, 200)
    for (let i = 1; i < history.length; i++) {
      assert.ok(history[i].id > history[i - 1].id, `ids not increasing at ${i}: ${history[i - 1].id}, ${history[i].id}`)
    }
    const byCmid = new Map()
    for (const m of history.filter(m => m.user_name === 'writer' && m.client_msg_id)) {
      assert.ok(!byCmid.has(m.client_msg_id), `client_msg_id ${m.client_msg_id} stored twice`)
      byCmid.set(m.client_msg_id, m)
    }
    const lost = [...acked].filter(([cmid, id]) => byCmid.get(cmid)?.id !== id)
    assert.deepEqual(lost, [], `${lost.length} acked message(s) missing or with another id after kill -9`)
    for (const [cmid] of acked) assert.equal(byCmid.get(cmid).content, contentOf(cmid))
  })

  it('re-sending all 500 after the restart: acked ones are duplicates with their ids, each stored once', async () => {
    const second = servers[servers.length - 1]
    const token = await openLogin(second.base, 'writer')
    const c = await nativeConnect(second, token)
    for (const cmid of cmids) c.send({ type: 'send', room: 'general', content: contentOf(cmid), client_msg_id: cmid })
    const answers = new Map()
    for (const cmid of cmids) {
      answers.set(cmid, await c.next(f => (f.type === 'ack' || f.type === 'error') && f.client_msg_id === cmid, 20000,
        `answer for ${cmid}`))
    }
    const refused = [...answers.values()].filter(f => f.type !== 'ack')
    assert.deepEqual(refused, [], 'every retry is acked')
    for (const [cmid, id] of acked) {
      const a = answers.get(cmid)
      assert.equal(a.duplicate, true, `${cmid} was acked before the kill; its retry must be a duplicate`)
      assert.equal(a.id, id, `${cmid} keeps its id`)
    }
    await c.close()

    const history = await fetchAfter(second.base, token, 'general', 0, 500)
    const counts = new Map()
    for (const m of history.filter(m => m.user_name === 'writer' && m.client_msg_id)) {
      counts.set(m.client_msg_id, (counts.get(m.client_msg_id) ?? 0) + 1)
      assert.equal(m.content, contentOf(m.client_msg_id))
      assert.equal(m.id, answers.get(m.client_msg_id).id, `${m.client_msg_id}: history id matches the ack`)
    }
    assert.equal(counts.size, TOTAL, `distinct client_msg_ids in history: ${counts.size}`)
    const twice = [...counts].filter(([, n]) => n !== 1)
    assert.deepEqual(twice, [], 'each client_msg_id is stored exactly once')
    await second.stop({ expectCode: 0 })
  })
})

// PostgreSQL only: a test can refuse a database's connections without touching other tests.
describe('readiness follows the store', { skip: !usePg && 'needs PostgreSQL' }, () => {
  let server
  let database
  const readyz = async () => (await http(server.base, 'GET', '/readyz')).status
  const allowConnections = allow => pgAdmin(`ALTER DATABASE ${database} WITH ALLOW_CONNECTIONS ${allow}`)

  after(async () => {
    if (database) allowConnections(true)
    await server?.stop({ expectCode: 0 })
  })

  it('/readyz is 503 while the database refuses connections, and 200 once it accepts them again', async () => {
    server = await startChatd({ auth: 'open' })
    database = new URL(server.dbPath).pathname.slice(1)
    await waitFor(async () => (await readyz()) === 200, { timeoutMs: 15000, what: '/readyz 200 at start' })

    allowConnections(false)
    pgAdmin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${database}'`)
    await waitFor(async () => (await readyz()) === 503, { timeoutMs: 15000, what: '/readyz 503 without the store' })
    assert.equal((await http(server.base, 'GET', '/healthz')).status, 200, 'still alive')

    allowConnections(true)
    await waitFor(async () => (await readyz()) === 200, { timeoutMs: 15000, what: '/readyz 200 again' })
  })
})
