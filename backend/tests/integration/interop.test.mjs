// Interoperability with a plain AMQP client that is not chatd (issue 3): Python pika from
// Debian's python3-pika (lib/amqp_client.py), against two chatd nodes on one vhost, in the brief's
// message format {"content","user_name","sent_at"}. Runs in CHATD_TEST_MODE per-user and per-node.
//   - pika publishes to `chat`: a native /ws client and a seed /receive client get it, stored once;
//   - a chatd user's message is read by pika from a queue declared as the brief's receive script
//     does, and (per-user) from the queue of a user who went offline;
//   - DM privacy at the broker: no queue but the members' ever holds a DM;
//   - edits, deletes and reactions never reach a brief reader nor a user queue; replies do, as
//     ordinary messages in the brief's format.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'

import {
  amqpUrl, distributed, fetchAfter, http, isMessage, mode, nativeConnect, newDatabase, newVhost,
  newCmid, openLogin, sendOk, startChatd, waitFor, wsConnect
} from './lib/chatd.mjs'

if (!distributed) throw new Error(`interop tests need CHATD_TEST_MODE per-user or per-node, not ${mode}`)

// Debian's interpreter: a pyenv or venv python3 earlier in PATH has no python3-pika.
const PYTHON = process.env.CHATD_TEST_PYTHON || '/usr/bin/python3'
const CLIENT = fileURLToPath(new URL('./lib/amqp_client.py', import.meta.url))
const SENT_AT = /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/ // the brief's dd/mm/yyyy hh:mm:ss
const CHANGE_KINDS = ['edit', 'delete', 'react', 'unreact']

// Sends a frame that needs a client_msg_id and insists on its ack.
async function ackOf (client, frame) {
  const cmid = newCmid('io')
  client.send({ ...frame, client_msg_id: cmid })
  const f = await client.next(x => (x.type === 'ack' || x.type === 'error') && x.client_msg_id === cmid, 5000,
    `ack for ${frame.type} ${cmid}`)
  if (f.type !== 'ack') throw new Error(`expected an ack for ${JSON.stringify(frame)}, got ${JSON.stringify(f)}`)
  return f
}

// Runs one amqp_client.py command; resolves with its JSON lines (bounded: 20 s).
function pika (...args) {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [CLIENT, ...args], { timeout: 20000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const lines = stdout.split('\n').filter(Boolean).map(l => JSON.parse(l))
      if (err && err.code !== 3) reject(new Error(`pika ${args[0]} ${args.slice(2).join(' ')}: ${err.message}\n${stderr}`))
      else resolve(lines)
    })
  })
}

describe(`a plain AMQP client (pika) and chatd (${mode})`, () => {
  let a, b, vhost, url
  const sockets = []
  const track = s => { sockets.push(s); return s }
  const users = async server => (await http(server.base, 'GET', '/users/')).json.users
  // Every body pika reads from `queue`, parsed (the queue is emptied).
  const drainQueue = async queue => (await pika('get', url, queue)).filter(l => 'body' in l).map(l => JSON.parse(l.body))
  const depth = async queue => (await pika('count', url, queue))[0].messages
  // A user who connected once (so the broker has their queue in per-user) and is offline now.
  async function wasOnline (name) {
    const c = await nativeConnect(b, await openLogin(b.base, name))
    await c.close()
    await waitFor(async () => !(await users(a)).includes(name) && !(await users(b)).includes(name),
      { what: `${name} offline on both nodes` })
    // The consumer is gone once the node closed the user's channel (per-node: no user queue).
    if (mode === 'per-user') await waitFor(async () => (await pika('count', url, name))[0].consumers === 0,
      { what: `${name}'s queue without consumer` })
  }

  before(async () => {
    const python = await new Promise(resolve =>
      execFile(PYTHON, ['-c', 'import pika'], err => resolve(!err)))
    if (!python) throw new Error(`${PYTHON} cannot import pika: apt-get install python3-pika (scripts/install-deps --test)`)
    vhost = await newVhost()
    url = amqpUrl(vhost)
    const db = process.env.CHATD_TEST_PG ? newDatabase() : undefined
    a = await startChatd({ auth: 'open', vhost, dbPath: db, nodeId: 'node-a' })
    b = await startChatd({ auth: 'open', vhost, dbPath: db ?? a.dbPath, nodeId: 'node-b' })
    for (const s of [a, b]) {
      await waitFor(async () => (await http(s.base, 'GET', '/readyz')).status === 200, { what: 'readyz' })
    }
  })

  after(async () => {
    for (const s of sockets) s.terminate()
    for (const s of [a, b]) await s?.stop()
    a?.cleanup()
  })

  it('a brief-format message pika publishes to `chat` reaches a /ws client and a /receive client, stored once', async () => {
    const token = await openLogin(a.base, 'nina')
    const nina = track(await nativeConnect(a, token))
    const oscar = track(await wsConnect(`${b.wsBase}/receive/oscar`))
    await waitFor(async () => (await users(a)).includes('oscar'), { what: 'oscar listed on A' })
    const content = `from pika ${Date.now()}`
    const body = { content, user_name: 'pikauser', sent_at: '27/11/2026 21:51:18' }
    await pika('publish', url, 'chat', JSON.stringify(body))

    const frame = await nina.next(isMessage(m => m.content === content), 10000, 'the pika message on /ws')
    assert.equal(frame.message.user_name, 'pikauser')
    assert.equal(frame.message.room, 'general')
    assert.equal(frame.message.sent_at, '27/11/2026 21:51:18')
    assert.ok(frame.message.id > 0, 'stored: it has an id')
    const seed = await oscar.next(f => f.content === content, 10000, 'the pika message on /receive')
    assert.deepEqual(seed, body, 'the /receive frame is the brief\'s body')

    // Every user queue (per-user) or node queue (per-node) held a copy; the store keeps one.
    const history = await fetchAfter(a.base, token, 'general', 0)
    assert.equal(history.filter(m => m.content === content).length, 1)
    assert.deepEqual(nina.drain(isMessage(m => m.content === content)), [], 'none twice on /ws')
  })

  it('a message a chatd user sends through /ws is read by pika from a queue the brief\'s way', async () => {
    // The brief's receive script: declare a durable queue named after a user, bind it to chat.
    await pika('declare', url, 'pikareader')
    const pabloToken = await openLogin(a.base, 'pablo')
    const sender = track(await nativeConnect(a, pabloToken))
    const content = `for the brief's scripts ${Date.now()}`
    const { id } = await sendOk(sender, 'general', content)
    await waitFor(async () => (await depth('pikareader')) >= 1, { what: 'the message in pikareader' })
    const got = (await drainQueue('pikareader')).filter(m => m.content === content)
    assert.equal(got.length, 1)
    assert.equal(got[0].user_name, 'pablo')
    assert.match(got[0].sent_at, SENT_AT)
    assert.equal(got[0].room, 'general')
    // chatd's added fields: the body carries the room's chain (prev_id: the room's previous id).
    const history = await fetchAfter(a.base, pabloToken, 'general', 0)
    const index = history.findIndex(m => m.id === id)
    assert.ok(index > 0, 'the message and one before it are stored')
    assert.equal(got[0].id, id)
    assert.equal(got[0].prev_id, history[index - 1].id)
  })

  it('per-user: the message waits in an offline user\'s queue and pika reads it there', async t => {
    if (mode !== 'per-user') {
      t.skip('per-node has no per-user queues (the previous test reads a brief-declared one)')
      return
    }
    await wasOnline('olga')
    await drainQueue('olga')
    const sender = track(await nativeConnect(a, await openLogin(a.base, 'quinn')))
    const content = `while olga is away ${Date.now()}`
    await sendOk(sender, 'general', content)
    await waitFor(async () => (await depth('olga')) >= 1, { what: 'the message in olga\'s queue' })
    const bodies = (await drainQueue('olga')).filter(m => m.content === content)
    assert.equal(bodies.length, 1)
    const [m] = bodies
    for (const key of ['content', 'user_name', 'sent_at']) assert.ok(key in m, `body has ${key}`)
    assert.equal(m.user_name, 'quinn')
    assert.match(m.sent_at, SENT_AT)
  })

  it('a DM reaches only its members\' queues: a third user\'s queue and a brief reader never hold it', async () => {
    await pika('declare', url, 'pikareader')
    await drainQueue('pikareader')
    for (const name of ['rosa', 'carl']) await wasOnline(name) // queues exist (per-user), both offline
    for (const name of ['rosa', 'carl']) if (mode === 'per-user') await drainQueue(name)
    const samToken = await openLogin(a.base, 'sam')
    const dm = await http(a.base, 'POST', '/api/dm/rosa', undefined, samToken)
    assert.equal(dm.status, 200, dm.text)
    const sam = track(await nativeConnect(a, samToken))
    const secret = `secret for rosa ${Date.now()}`
    await sendOk(sam, dm.json.name, secret)
    const marker = `marker ${Date.now()}` // general, after the DM
    await sendOk(sam, 'general', marker)

    // Messages are published in order per room, not across rooms: wait for the marker in every
    // queue we read and for the DM in rosa's, then check who holds the DM.
    const holds = {}
    const readers = mode === 'per-user' ? ['pikareader', 'carl', 'rosa'] : ['pikareader']
    for (const q of readers) {
      holds[q] = []
      await waitFor(async () => {
        holds[q].push(...(await drainQueue(q)).map(m => m.content))
        return holds[q].includes(marker) && (q !== 'rosa' || holds[q].includes(secret))
      }, { timeoutMs: 10000, what: `the marker${q === 'rosa' ? ' and the DM' : ''} in ${q}` })
    }
    assert.ok(!holds.pikareader.includes(secret), 'a reader bound to `chat` never sees a DM')
    if (mode === 'per-user') {
      assert.ok(!holds.carl.includes(secret), 'carl\'s queue never holds rosa\'s DM')
      assert.ok(holds.rosa.includes(secret), 'rosa\'s queue holds her DM while she is away')
    }
    // chatd users still get the DM live: rosa comes back on B.
    const rosa = track(await nativeConnect(b, await openLogin(b.base, 'rosa')))
    const again = `second secret ${Date.now()}`
    await sendOk(sam, dm.json.name, again)
    await rosa.next(isMessage(m => m.content === again), 10000, 'the DM live on B')
  })

  it('a brief reader of `chat` and a member\'s queue get new messages and replies, never a change; every body parses', async () => {
    await pika('declare', url, 'pikachanges')
    await drainQueue('pikachanges')
    await wasOnline('ursula') // per-user: her queue exists, she is away
    if (mode === 'per-user') await drainQueue('ursula')
    const sueToken = await openLogin(a.base, 'sue')
    const sue = track(await nativeConnect(a, sueToken))
    const room = `interop-${Date.now()}`
    assert.equal((await http(a.base, 'POST', '/api/rooms', { name: room }, sueToken)).status, 201)
    const ursulaToken = await openLogin(b.base, 'ursula')
    assert.equal((await http(b.base, 'POST', `/api/rooms/${room}/join`, undefined, ursulaToken)).status, 200)

    const visible = { general: [], [room]: [] } // contents, in order
    const changeIds = []
    for (const where of ['general', room]) {
      const root = await sendOk(sue, where, `root in ${where}`)
      const reply = await ackOf(sue, { type: 'send', room: where, content: `reply in ${where}`, reply_to: root.id })
      visible[where].push([`root in ${where}`, 0], [`reply in ${where}`, root.id])
      for (const frame of [
        { type: 'edit', room: where, id: root.id, content: `root in ${where}, edited` },
        { type: 'react', room: where, id: root.id, emoji: '👍' },
        { type: 'unreact', room: where, id: root.id, emoji: '👍' },
        { type: 'react', room: where, id: reply.id, emoji: '🎉' },
        { type: 'delete', room: where, id: reply.id }
      ]) changeIds.push((await ackOf(sue, frame)).id)
      await sendOk(sue, where, `marker in ${where}`)
      visible[where].push([`marker in ${where}`, 0])
    }

    // Each room's messages reach a queue in order: once its marker is there, so is the rest.
    const expected = { pikachanges: ['general'] }
    if (mode === 'per-user') expected.ursula = ['general', room]
    for (const [queue, rooms] of Object.entries(expected)) {
      const bodies = []
      await waitFor(async () => {
        bodies.push(...await drainQueue(queue))
        return rooms.every(r => bodies.some(m => m.content === `marker in ${r}`))
      }, { timeoutMs: 10000, what: `the markers in ${queue}` })
      for (const body of bodies) {
        for (const key of ['content', 'user_name', 'sent_at']) assert.equal(typeof body[key], 'string', `${queue}: ${key} of ${JSON.stringify(body)}`)
        assert.match(body.sent_at, SENT_AT)
        assert.ok(!CHANGE_KINDS.includes(body.kind), `${queue} holds a change: ${JSON.stringify(body)}`)
        assert.ok(!changeIds.includes(body.id), `${queue} holds change row ${body.id}`)
      }
      for (const r of rooms) {
        const ours = bodies.filter(m => m.user_name === 'sue' && m.room === r)
        assert.deepEqual(ours.map(m => [m.content, m.reply_to ?? 0]).map(([c, p]) => [c, p > 0]),
          visible[r].map(([c, p]) => [c, p > 0]), `${queue}: the new messages of ${r}, in order`)
      }
      if (queue === 'pikachanges') assert.ok(!bodies.some(m => m.room === room), 'a brief reader sees general only')
    }
  })
})
