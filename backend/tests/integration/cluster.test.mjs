// Two chatd nodes on one RabbitMQ vhost and one database (CHATD_TEST_MODE per-user or per-node):
// rooms, DMs, the seed API and presence across nodes, a user on both nodes at once, offline
// catch-up, a broker outage under load, and kill -9 of a node (issue 3); edits, deletes and
// reactions across nodes, live and by resync; read marks, mentions and room members across nodes.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { after, before, describe, it } from 'node:test'

import {
  cutAmqpUser, distributed, fetchAfter, http, isMessage, mode, nativeConnect, newAmqpUser, newCmid, newDatabase,
  newVhost, openLogin, restoreAmqpUser, sendMessage, sendOk, startChatd, waitFor, WebSocket, within, wsConnect
} from './lib/chatd.mjs'
import { RoomChain } from '../../../frontend/src/api/roomChain.mjs'
import { RoomEvents, foldedState } from '../../../frontend/src/api/roomEvents.mjs'

const ARGS = ['--rate-per-second', '100000', '--rate-burst', '100000', '--last-seen-interval-ms', '100']

// Sends a change frame (edit, delete, react, unreact) and insists on its ack.
async function changeOk (client, frame) {
  const cmid = newCmid('chg')
  client.send({ ...frame, client_msg_id: cmid })
  const f = await client.next(x => (x.type === 'ack' || x.type === 'error') && x.client_msg_id === cmid, 5000,
    `ack for ${frame.type} ${cmid}`)
  if (f.type !== 'ack') throw new Error(`expected an ack for ${JSON.stringify(frame)}, got ${JSON.stringify(f)}`)
  return f
}

if (!distributed) throw new Error(`cluster tests need CHATD_TEST_MODE per-user or per-node, not ${mode}`)

function rabbitmq (command) {
  const script = process.env.CHATD_RABBITMQ_SCRIPT
  if (!script) throw new Error('CHATD_RABBITMQ_SCRIPT is not set')
  const r = spawnSync(script, [command], { encoding: 'utf8', env: { ...process.env, RMQ_KEEP: '1' } })
  if (r.status !== 0) throw new Error(`rabbitmq ${command}: ${r.status} ${r.stdout} ${r.stderr}`)
}

describe(`two chatd nodes (${mode})`, () => {
  let a, b, vhost, db
  const sockets = []
  const track = s => { sockets.push(s); return s }
  const users = async server => (await http(server.base, 'GET', '/users/')).json.users

  before(async () => {
    vhost = await newVhost()
    db = process.env.CHATD_TEST_PG ? newDatabase() : undefined
    a = await startChatd({ auth: 'open', args: ARGS, vhost, dbPath: db, nodeId: 'node-a' })
    db = db ?? a.dbPath // SQLite without PostgreSQL: both nodes on one file (WAL, busy timeout)
    b = await startChatd({ auth: 'open', args: ARGS, vhost, dbPath: db, nodeId: 'node-b' })
    for (const s of [a, b]) {
      await waitFor(async () => (await http(s.base, 'GET', '/readyz')).status === 200, { what: 'readyz' })
    }
  })

  after(async () => {
    for (const s of sockets) s.terminate()
    for (const s of [a, b]) await s?.kill9()
    a?.cleanup()
  })

  it('users on A and B chat in a room and by DM; /users/ agrees on both nodes', async () => {
    const aliceToken = await openLogin(a.base, 'alice')
    const alice = track(await nativeConnect(a, aliceToken))
    const bobToken = await openLogin(b.base, 'bob')
    const bob = track(await nativeConnect(b, bobToken))
    for (const s of [a, b]) {
      await waitFor(async () => {
        const u = await users(s)
        return u.includes('alice') && u.includes('bob')
      }, { what: `alice and bob in /users/ of ${s.base}` })
    }
    const fromA = await sendOk(alice, 'general', 'hello from A')
    assert.equal((await bob.next(isMessage(m => m.id === fromA.id))).message.content, 'hello from A')
    const fromB = await sendOk(bob, 'general', 'hello from B')
    await alice.next(isMessage(m => m.id === fromB.id))

    const dm = await http(a.base, 'POST', '/api/dm/bob', undefined, aliceToken)
    assert.equal(dm.status, 200, dm.text)
    const room = dm.json.name
    await bob.next(f => f.type === 'membership' && f.room === room, 5000, 'bob joins the DM on B')
    const secret = await sendOk(alice, room, 'just for bob')
    assert.equal((await bob.next(isMessage(m => m.id === secret.id))).message.room, room)
    const reply = await sendOk(bob, room, 'just for alice')
    await alice.next(isMessage(m => m.id === reply.id))
  })

  it('a group DM opened on A: its members on B get the membership and its messages, both ways', async () => {
    const ownerToken = await openLogin(a.base, 'group-a')
    const owner = track(await nativeConnect(a, ownerToken))
    const onB = []
    for (const name of ['group-b', 'group-c']) {
      const token = await openLogin(b.base, name)
      onB.push(Object.assign(track(await nativeConnect(b, token)), { token }))
    }
    const dm = await http(a.base, 'POST', '/api/dm', { users: ['group-c', 'group-b'] }, ownerToken)
    assert.equal(dm.status, 200, dm.text)
    const room = dm.json.name
    assert.equal(room, 'dm:group-a:group-b:group-c')
    for (const member of onB) {
      await member.next(f => f.type === 'membership' && f.room === room, 5000, 'membership on B')
    }
    const hello = await sendOk(owner, room, 'hello from A')
    for (const member of onB) await member.next(isMessage(m => m.id === hello.id))
    const reply = await sendOk(onB[1], room, 'hello from B')
    await owner.next(isMessage(m => m.id === reply.id))
    await onB[0].next(isMessage(m => m.id === reply.id))

    // A display name set on B reaches the open sockets on A and on B at once.
    const renamed = await http(b.base, 'PUT', '/api/me/profile', { display_name: ' Gée Bé ' }, onB[0].token)
    assert.equal(renamed.status, 200, renamed.text)
    const expected = { type: 'profile', person: { user_name: 'group-b', display_name: 'Gée Bé' } }
    for (const [client, where] of [[owner, 'A'], [onB[1], 'B']]) {
      const frame = await client.next(f => f.type === 'profile' && f.person.user_name === 'group-b', 5000, `profile on ${where}`)
      assert.deepEqual(frame, expected)
    }
  })

  it('a typing notice and its stop sent on A reach a member on B', async () => {
    const alice = track(await nativeConnect(a, await openLogin(a.base, 'typist-a')))
    const bob = track(await nativeConnect(b, await openLogin(b.base, 'watcher-b')))
    alice.send({ type: 'typing', room: 'general' })
    await bob.next(f => f.type === 'typing' && f.user_name === 'typist-a', 5000, 'typing on B')
    alice.send({ type: 'typing_stop', room: 'general' })
    const stop = await bob.next(f => f.type === 'typing_stop', 5000, 'typing_stop on B')
    assert.deepEqual(stop, { type: 'typing_stop', room: 'general', user_name: 'typist-a' })
  })

  it('the directory on either node lists open-mode names, shows who is online on the other node, and DMs reach an offline name', async () => {
    const pamToken = await openLogin(a.base, 'pam')
    const pam = track(await nativeConnect(a, pamToken))
    const quinnToken = await openLogin(b.base, 'quinn')
    // quinn signed in on B and never connected: listed, offline; pam is online on A, seen from B.
    const fromB = await waitFor(async () => {
      const res = await http(b.base, 'GET', '/api/people?q=PAM', undefined, quinnToken)
      return res.json.people.find(p => p.user_name === 'pam' && p.status === 'online') && res
    }, { what: 'pam online in the directory of B' })
    assert.equal(fromB.status, 200, fromB.text)
    const quinn = await http(a.base, 'GET', '/api/people/quinn', undefined, pamToken)
    assert.equal(quinn.status, 200, quinn.text)
    assert.equal(quinn.json.status, 'offline')
    const dm = await http(a.base, 'POST', '/api/dm/quinn', undefined, pamToken)
    assert.equal(dm.status, 200, dm.text)
    const ack = await sendOk(pam, dm.json.name, 'for when you connect')
    const q = track(await nativeConnect(b, quinnToken))
    const page = await fetchAfter(b.base, quinnToken, dm.json.name, 0)
    assert.ok(page.some(m => m.id === ack.id), JSON.stringify(page))
    // pam leaves A: B's directory shows pam offline with a last seen.
    await pam.close()
    await waitFor(async () => {
      const res = await http(b.base, 'GET', '/api/people/pam', undefined, quinnToken)
      return res.json.status === 'offline' && res.json.last_seen_ms > 0
    }, { what: 'pam offline with a last seen on B' })
    q.terminate()
  })

  it('a user with tabs on both nodes is away only once both are; the other node sees it live and in its directory', async () => {
    const watcherToken = await openLogin(b.base, 'away-watcher')
    const watcher = track(await nativeConnect(b, watcherToken))
    const tabA = track(await nativeConnect(a, await openLogin(a.base, 'nomad')))
    const tabB = track(await nativeConnect(b, await openLogin(b.base, 'nomad')))
    const status = s => f => f.type === 'presence' && f.user_name === 'nomad' && f.status === s
    await watcher.next(status('online'), 5000, 'nomad online on B')
    const card = async () => (await http(b.base, 'GET', '/api/people/nomad', undefined, watcherToken)).json.status
    // Away on A only: online, since the tab on B is active.
    tabA.send({ type: 'status', status: 'away' })
    tabA.send({ type: 'ping' })
    await tabA.next(f => f.type === 'pong')
    // (once A has heard of the tab on B: the nodes learn of each other's connections in order)
    await waitFor(async () => (await http(a.base, 'GET', '/api/people/nomad', undefined, watcherToken)).json.status === 'online',
      { what: 'nomad online on A while away there and active on B' })
    tabB.send({ type: 'status', status: 'away' })
    await watcher.next(status('away'), 5000, 'nomad away, seen on B')
    await waitFor(async () => await card() === 'away', { what: 'nomad away in the directory of B' })
    // Active on B, then B's tab closes: the away tab on A is what is left.
    tabB.send({ type: 'status', status: 'active' })
    await watcher.next(status('online'), 5000, 'nomad back on B')
    await tabB.close()
    await watcher.next(status('away'), 5000, 'nomad away once the active tab on B closed')
    const fromA = await http(a.base, 'GET', '/api/people/nomad', undefined, watcherToken)
    assert.equal(fromA.json.status, 'away', fromA.text)
    tabA.send({ type: 'status', status: 'active' })
    await watcher.next(status('online'), 5000, 'nomad active on A, seen on B')
    tabA.terminate()
    watcher.terminate()
  })

  it('signing out on one node closes the session\'s sockets on the other; sign out everywhere closes them all', async () => {
    const first = await openLogin(a.base, 'gina')
    const second = await openLogin(b.base, 'gina')
    const onB = track(await nativeConnect(b, first))
    const alsoOnB = track(await nativeConnect(b, second))
    const onA = track(await nativeConnect(a, second))
    const out = await http(a.base, 'POST', '/api/logout', undefined, first)
    assert.equal(out.status, 204, out.text)
    const { code, reason } = await within(onB.closed, 5000, 'the socket on B of the session signed out on A')
    assert.equal(code, 1008)
    assert.equal(String(reason), 'signed out')
    assert.equal(alsoOnB.ws.readyState, alsoOnB.ws.OPEN, 'the other session stays connected')

    const everywhere = await http(b.base, 'POST', '/api/logout-all', undefined, second)
    assert.equal(everywhere.status, 200, everywhere.text)
    for (const [s, where] of [[alsoOnB, 'B'], [onA, 'A']]) {
      const closed = await within(s.closed, 5000, `the socket on ${where} after sign out everywhere on B`)
      assert.equal(closed.code, 1008)
      assert.equal(String(closed.reason), 'signed out everywhere')
    }
    assert.equal((await http(a.base, 'GET', '/api/me', undefined, second)).status, 401)
  })

  it('revoking a session on A closes its socket on B; listing it on B shows it gone', async () => {
    const kept = await openLogin(a.base, 'hana')
    const revoked = await openLogin(b.base, 'hana')
    const onB = track(await nativeConnect(b, revoked))
    const listed = await http(a.base, 'GET', '/api/sessions', undefined, kept)
    assert.equal(listed.status, 200, listed.text)
    assert.equal(listed.json.sessions.length, 2)
    const target = listed.json.sessions.find(s => !s.current)
    const res = await http(a.base, 'DELETE', `/api/sessions/${target.id}`, undefined, kept)
    assert.equal(res.status, 204, res.text)
    const { code, reason } = await within(onB.closed, 5000, 'the revoked session\'s socket on B')
    assert.equal(code, 1008)
    assert.equal(String(reason), 'signed out: session revoked')
    assert.equal((await http(b.base, 'GET', '/api/me', undefined, revoked)).status, 401)
    const after = await http(b.base, 'GET', '/api/sessions', undefined, kept)
    assert.deepEqual(after.json.sessions.map(s => s.current), [true])
  })

  it('seed POST /send/ on A reaches a /receive stream on B', async () => {
    const carol = track(await wsConnect(`${b.wsBase}/receive/carol`))
    await waitFor(async () => (await users(a)).includes('carol'), { what: 'carol listed on A' })
    const res = await http(a.base, 'POST', '/send/', { content: 'seed across nodes', user_name: 'dave' })
    assert.equal(res.status, 200, res.text)
    const frame = await carol.next(f => f.content === 'seed across nodes')
    assert.deepEqual(Object.keys(frame).sort(), ['content', 'sent_at', 'user_name'])
  })

  it('a user with tabs on both nodes gets every message on both', async () => {
    const tabA = track(await nativeConnect(a, await openLogin(a.base, 'erin')))
    const tabB = track(await nativeConnect(b, await openLogin(b.base, 'erin')))
    const frank = track(await nativeConnect(a, await openLogin(a.base, 'frank')))
    const ids = []
    for (let i = 0; i < 20; i++) ids.push((await sendOk(frank, 'general', `to both tabs ${i}`)).id)
    for (const tab of [tabA, tabB]) {
      for (const id of ids) await tab.next(isMessage(m => m.id === id), 10000, `message ${id}`)
      const dup = tab.drain(isMessage(m => ids.includes(m.id)))
      assert.deepEqual(dup, [], 'no message twice on one tab')
    }
  })

  it('reading on one node clears the count of the same user\'s tab on the other node; mentions count across nodes', async () => {
    const tabA = track(await nativeConnect(a, await openLogin(a.base, 'rhea')))
    const tokenB = await openLogin(b.base, 'rhea')
    const tabB = track(await nativeConnect(b, tokenB))
    const sam = track(await nativeConnect(b, await openLogin(b.base, 'sam')))
    const sent = await sendOk(sam, 'general', 'read me on either node')
    await tabB.next(isMessage(m => m.id === sent.id), 10000, 'the message on B')
    const cmid = newCmid('read')
    tabA.send({ type: 'read', room: 'general', id: sent.id, client_msg_id: cmid })
    const ack = await tabA.next(f => (f.type === 'read_ack' || f.type === 'error') && f.client_msg_id === cmid)
    assert.equal(ack.type, 'read_ack', JSON.stringify(ack))
    const live = await tabB.next(f => f.type === 'read_state' && f.room === 'general', 10000, 'read_state on B')
    assert.equal(live.last_read_id, sent.id)
    assert.equal(live.unread, 0)
    // A new tab on B reads the same state from the shared store.
    const later = track(await nativeConnect(b, tokenB))
    const state = later.welcome.read.find(s => s.room === 'general')
    assert.equal(state.last_read_id, sent.id)
    assert.equal(state.unread, 0)
    // A mention stored on A is counted for rhea on B, and its frame names her there.
    const tess = track(await nativeConnect(a, await openLogin(a.base, 'tess')))
    const mention = await sendOk(tess, 'general', '@rhea over here')
    const onB = await tabB.next(isMessage(m => m.id === mention.id), 10000, 'the mention on B')
    assert.deepEqual(onB.message.mentions, ['rhea'])
    const counted = track(await nativeConnect(b, tokenB)).welcome.read.find(s => s.room === 'general')
    assert.equal(counted.mentions, 1)
    // The members the autocomplete offers are the same on either node: tess connected on A.
    const members = await http(b.base, 'GET', '/api/rooms/general/members', undefined, tokenB)
    assert.equal(members.status, 200, members.text)
    for (const name of ['rhea', 'sam', 'tess']) assert.ok(members.json.members.includes(name), members.text)
  })

  it('a notification level set on A reaches the same user\'s tab on B and B\'s next welcome', async () => {
    const tokenA = await openLogin(a.base, 'uma')
    const tokenB = await openLogin(b.base, 'uma')
    const tabB = track(await nativeConnect(b, tokenB))
    const set = await http(a.base, 'PUT', '/api/rooms/general/notify', { level: 'all' }, tokenA)
    assert.equal(set.status, 200, set.text)
    assert.deepEqual(await tabB.next(f => f.type === 'notify', 10000, 'notify on B'),
      { type: 'notify', room: 'general', level: 'all' })
    assert.deepEqual(track(await nativeConnect(b, tokenB)).welcome.notify, { general: 'all' })
  })

  it('offline: bob disconnects, alice sends 50, bob reconnects and gets all 50 in order, once', async () => {
    const alice = track(await nativeConnect(a, await openLogin(a.base, 'alice2')))
    const bobToken = await openLogin(b.base, 'bob2')
    let bob = await nativeConnect(b, bobToken)
    const lastSeen = (await sendOk(alice, 'general', 'before')).id
    await bob.next(isMessage(m => m.id === lastSeen))
    await bob.close()
    const sent = []
    for (let i = 0; i < 50; i++) sent.push((await sendOk(alice, 'general', `while away ${i}`)).id)
    bob = track(await nativeConnect(b, bobToken))
    // First, before the backlog of bob's queue: a client resyncs after each welcome from the last
    // id it saw, and a message before the welcome would move that mark past what it missed.
    assert.equal(bob.all[0].type, 'welcome', 'welcome is the first frame')
    // The client's recovery: history after the last id it saw; live frames are deduplicated by id.
    const history = (await fetchAfter(b.base, bobToken, 'general', lastSeen)).map(m => m.id)
    const seen = new Set()
    const order = []
    for (const id of [...history, ...bob.drain(isMessage()).map(f => f.message.id)]) {
      if (!seen.has(id)) { seen.add(id); order.push(id) }
    }
    const got = order.filter(id => sent.includes(id))
    assert.deepEqual(got, sent, 'all 50, in order, once')
  })

  it('per-user: a /receive user who was away gets the 50 from their queue, in order, once', async t => {
    if (mode !== 'per-user') {
      t.skip('per-node has no per-user queue: seed clients get new messages only, as in embedded mode')
      return
    }
    let gina = await wsConnect(`${b.wsBase}/receive/gina`)
    await waitFor(async () => (await users(a)).includes('gina'), { what: 'gina listed on A' })
    await gina.close()
    await waitFor(async () => !(await users(a)).includes('gina'), { what: 'gina gone from A' })
    for (let i = 0; i < 50; i++) {
      const res = await http(a.base, 'POST', '/send/', { content: `queued ${i}`, user_name: 'hank' })
      assert.equal(res.status, 200)
    }
    gina = track(await wsConnect(`${b.wsBase}/receive/gina`))
    const got = []
    for (let i = 0; i < 50; i++) got.push((await gina.next(f => f.content?.startsWith('queued '), 10000)).content)
    assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => `queued ${i}`))
    assert.deepEqual(gina.drain(f => f.content?.startsWith('queued ')), [], 'none twice')
  })

  // A client that behaves like the web client (frontend/src/api/chatSocket.ts): it keeps as its
  // mark the highest id up to which the room's chain of prev_ids has no hole
  // (frontend/src/api/roomChain.mjs, the web client's own module)
  // and, when its socket closes, connects again and fetches ?after=<mark>; a send whose ack did
  // not come goes again with the same client_msg_id. A live frame moves the mark only when it
  // continues the chain: after a broker restart a live message may be newer than messages that
  // reached no queue (published before this node bound the user's queue again), and two nodes
  // publish independently; a resync from past the hole would skip those for good.
  async function resyncingClient (server, name) {
    const token = await openLogin(server.base, name)
    const chain = new RoomChain()
    chain.page(0)
    const c = { shown: new Set(), chain, reconnects: 0, stopped: false }
    let generation = 0
    let syncing = false
    const show = f => {
      if (f.type === 'message' && f.message.room === 'general') {
        c.shown.add(f.message.id)
        chain.live(f.message.id, f.message.prev_id)
        if (!syncing) chain.settle()
      }
    }
    const attach = async () => {
      const mine = ++generation
      syncing = true
      const socket = track(await nativeConnect(server, token))
      socket.all.forEach(show) // the welcome comes first: everything after it is live
      socket.onFrame(show)
      c.socket = socket
      const history = await fetchAfter(server.base, token, 'general', chain.mark)
      for (const m of history) c.shown.add(m.id)
      if (mine === generation && !socket.isClosed) {
        // fetchAfter read every page: nothing is missing up to its last id.
        chain.page(Math.max(chain.mark, ...history.map(m => m.id)))
        chain.settle()
        syncing = false
      } // else interrupted: the mark stays, the next welcome resyncs from it
      socket.closed.then(() => {
        if (c.stopped) return
        c.reconnects += 1
        c.ready = attach()
        c.ready.catch(() => {}) // a failed reconnect fails the test through send or waitFor
      })
    }
    c.ready = attach()
    await c.ready
    // Sends like a client that retries, with the same client_msg_id (the store keeps one
    // message): after a drop, again on the next connection. A socket whose close handshake has
    // begun (the nodes close with 1012 when the broker is back) is not open any more although
    // its 'close' event comes only once TCP ends: the ws library drops what is sent on it, so the
    // send waits for that end and the next connection. After 15 s without an answer on a socket
    // still open, once more on the same one, counted in c.unanswered (never seen so far).
    c.unanswered = 0
    c.send = async content => {
      const cmid = newCmid()
      let resent = false
      for (let attempt = 0; ; attempt++) {
        const socket = c.socket
        try {
          if (socket.ws.readyState !== WebSocket.OPEN) throw new Error('socket closing')
          return await sendMessage(socket, 'general', content, cmid, 15000)
        } catch (e) {
          if (attempt > 5) throw e
          if (!socket.isClosed && socket.ws.readyState === WebSocket.OPEN) {
            if (resent) throw e
            resent = true
            c.unanswered += 1
            continue
          }
          await within(socket.closed, 40000, 'the closing socket to end')
          await c.ready
        }
      }
    }
    return c
  }

  it('prev_id chains each room across both nodes, in live frames and in history', async () => {
    const sara = track(await nativeConnect(a, await openLogin(a.base, 'sara')))
    const tomToken = await openLogin(b.base, 'tom')
    const tom = track(await nativeConnect(b, tomToken))
    // Both nodes append to general at once, so their transactions interleave.
    const sends = []
    for (let i = 0; i < 20; i++) {
      sends.push(sendOk(sara, 'general', `chain A ${i}`), sendOk(tom, 'general', `chain B ${i}`))
    }
    const acked = (await Promise.all(sends)).map(f => f.id).sort((x, y) => x - y)
    const history = await fetchAfter(b.base, tomToken, 'general', acked[0] - 1)
    const stored = history.map(m => m.id)
    for (let i = 1; i < history.length; i++) {
      assert.equal(history[i].prev_id, history[i - 1].id, `history: prev_id of ${history[i].id}`)
    }
    const prevOf = new Map(history.map(m => [m.id, m.prev_id]))
    for (const [name, client] of [['sara on A', sara], ['tom on B', tom]]) {
      for (const id of acked) {
        const frame = await client.next(isMessage(m => m.id === id), 10000, `${name}: message ${id}`)
        assert.equal(frame.message.prev_id, prevOf.get(id), `${name}: live prev_id of ${id}`)
      }
      // Fed to a client's chain in whatever order they came, the live frames leave no hole.
      const chain = new RoomChain()
      chain.page(prevOf.get(stored[0]))
      for (const f of client.all.filter(isMessage(m => stored.includes(m.id)))) chain.live(f.message.id, f.message.prev_id)
      assert.equal(chain.mark, stored.at(-1), `${name}: the chain reaches the last message`)
      assert.equal(chain.hasHole, false)
    }
  })

  // Changes go on chat.events (per-user) or chat.rooms (per-node), never on `chat` nor into a
  // user queue: a member on the other node still gets each one live, in the room's chain, and a
  // member who was away gets them from ?after=. Both in general (whose messages go on `chat`) and
  // in another room (per-user: to the members' queues).
  for (const roomKind of ['general', 'a room']) {
    it(`${roomKind}: an edit, a delete, a react and an unreact sent on A reach a member on B, live and by resync`, async () => {
      const tag = roomKind === 'general' ? 'g' : 'r'
      const aliceToken = await openLogin(a.base, `ch-alice-${tag}`)
      const alice = track(await nativeConnect(a, aliceToken))
      const bobToken = await openLogin(b.base, `ch-bob-${tag}`)
      const bob = track(await nativeConnect(b, bobToken))
      const carolToken = await openLogin(b.base, `ch-carol-${tag}`)
      const outsider = track(await nativeConnect(b, await openLogin(b.base, `ch-dan-${tag}`)))
      let room = 'general'
      if (roomKind !== 'general') {
        room = `changes-${Date.now()}`
        assert.equal((await http(a.base, 'POST', '/api/rooms', { name: room }, aliceToken)).status, 201)
        for (const token of [bobToken, carolToken]) {
          assert.equal((await http(b.base, 'POST', `/api/rooms/${room}/join`, undefined, token)).status, 200)
        }
        await bob.next(f => f.type === 'membership' && f.room === room && f.user_name === `ch-carol-${tag}`,
          5000, 'bob sees carol join')
      }
      // A seed /receive stream on B: general's new messages only, never a change.
      const seed = roomKind === 'general' ? track(await wsConnect(`${b.wsBase}/receive/ch-seed`)) : null

      const first = await sendOk(alice, room, 'first, to be edited')
      const second = await sendOk(alice, room, 'second, to be deleted')
      await bob.next(isMessage(m => m.id === second.id), 10000, 'bob has both messages')
      const mark = second.id // carol's resync point: she is away from here on

      const edit = await changeOk(alice, { type: 'edit', room, id: first.id, content: 'first, edited' })
      const react = await changeOk(alice, { type: 'react', room, id: first.id, emoji: '👍' })
      const party = await changeOk(alice, { type: 'react', room, id: first.id, emoji: '🎉' })
      const unreact = await changeOk(alice, { type: 'unreact', room, id: first.id, emoji: '👍' })
      const del = await changeOk(alice, { type: 'delete', room, id: second.id })
      const changes = [[edit, 'edit', first.id], [react, 'react', first.id], [party, 'react', first.id],
        [unreact, 'unreact', first.id], [del, 'delete', second.id]]

      // Live on B, each once, as a message frame of its kind naming its target.
      for (const [ack, kind, target] of changes) {
        const frame = await bob.next(isMessage(m => m.id === ack.id), 10000, `${kind} ${ack.id} live on B`)
        assert.equal(frame.message.kind, kind)
        assert.equal(frame.message.target_id, target)
        assert.equal(frame.message.user_name, `ch-alice-${tag}`)
      }
      const roomFrames = bob.all.filter(isMessage(m => m.room === room)).map(f => f.message)
      const live = new RoomEvents()
      for (const m of roomFrames) live.live(m)
      const ids = changes.map(([ack]) => ack.id)
      assert.deepEqual(bob.drain(isMessage(m => ids.includes(m.id))), [], 'no change twice on B')
      // The sender's node delivers its own changes too (per-user: its copy from chat.events).
      for (const id of ids) await alice.next(isMessage(m => m.id === id), 10000, `change ${id} live on A`)
      // The live frames chain the room: each change's prev_id is the row before it.
      const chain = new RoomChain()
      chain.page(mark)
      for (const f of bob.all.filter(isMessage(m => m.room === room && m.id > mark))) chain.live(f.message.id, f.message.prev_id)
      assert.equal(chain.mark, del.id)
      assert.equal(chain.hasHole, false)

      // The store's folded state, and bob's from the live frames, agree.
      const stored = await http(b.base, 'GET', `/api/rooms/${encodeURIComponent(room)}/messages?limit=10`, undefined, bobToken)
      assert.equal(stored.status, 200, stored.text)
      const storedFirst = stored.json.messages.find(m => m.id === first.id)
      const storedSecond = stored.json.messages.find(m => m.id === second.id)
      assert.equal(storedFirst.content, 'first, edited')
      assert.deepEqual(storedFirst.reactions, [{ emoji: '🎉', users: [`ch-alice-${tag}`] }])
      assert.equal(storedSecond.deleted, true)
      assert.equal(storedSecond.content, '')
      assert.deepEqual(foldedState(live.get(first.id)), foldedState(storedFirst))
      assert.deepEqual(foldedState(live.get(second.id)), foldedState(storedSecond))

      // carol was away: ?after=<mark> on B brings every change row, and applied on what she
      // held they give the same state.
      const page = await http(b.base, 'GET', `/api/rooms/${encodeURIComponent(room)}/messages?after=${mark}`, undefined, carolToken)
      assert.equal(page.status, 200, page.text)
      assert.deepEqual(page.json.messages.map(m => m.id), ids)
      assert.deepEqual(page.json.messages.map(m => m.kind), changes.map(([, kind]) => kind))
      const resynced = new RoomEvents()
      resynced.page(roomFrames.filter(m => m.id <= mark), mark)
      resynced.page(page.json.messages, page.json.as_of)
      assert.deepEqual(foldedState(resynced.get(first.id)), foldedState(storedFirst))
      assert.deepEqual(foldedState(resynced.get(second.id)), foldedState(storedSecond))

      // A marker after the changes: once it is on B, nothing of the room reached a non-member,
      // and the seed stream got the two new messages and nothing else.
      const marker = await sendOk(alice, room, 'marker')
      await bob.next(isMessage(m => m.id === marker.id), 10000, 'the marker on B')
      if (roomKind !== 'general') {
        assert.deepEqual(outsider.all.filter(isMessage(m => m.room === room)), [], 'a non-member gets nothing of the room')
      }
      if (seed) {
        await seed.next(f => f.content === 'marker', 10000, 'the marker on /receive')
        const got = seed.all.filter(f => f.user_name === `ch-alice-${tag}`)
        assert.deepEqual(got.map(f => f.content), ['first, to be edited', 'second, to be deleted', 'marker'])
        for (const f of got) assert.deepEqual(Object.keys(f).sort(), ['content', 'sent_at', 'user_name'])
      }
    })
  }

  it('RabbitMQ down during a send load: /readyz is 503, then every acked message reaches every client once', async t => {
    // A broker restart drops the non-durable `chat` exchange and its bindings: what a node
    // publishes before the queues are bound again reaches nobody live. So the nodes close their
    // native sockets (1012) once rebound; clients reconnect, resync and so miss nothing.
    const readers = { ivan: await resyncingClient(a, 'ivan'), judy: await resyncingClient(b, 'judy') }
    const acked = []
    let stop = false
    const load = (async () => {
      let i = 0
      while (!stop) {
        for (const [who, c] of Object.entries(readers)) {
          // Acks come from the store, not the broker; 15 s bounds a store stall while RabbitMQ
          // restarts on these 2 shared cores.
          const f = await c.send(`load ${who} ${i}`)
          if (f.type !== 'ack') throw new Error(`refused during the outage: ${JSON.stringify(f)}`)
          acked.push(f.id)
        }
        i++
        await new Promise(resolve => setTimeout(resolve, 10))
      }
    })()
    await waitFor(() => acked.length >= 20, { what: '20 acks before the outage' })
    const started = Date.now()
    rabbitmq('kill')
    await waitFor(async () => (await http(a.base, 'GET', '/readyz')).status === 503, { what: 'readyz 503 on A' })
    assert.equal((await http(b.base, 'GET', '/readyz')).status === 503 ||
      (await waitFor(async () => (await http(b.base, 'GET', '/readyz')).status === 503, { what: 'readyz 503 on B' })), true)
    const duringOutage = acked.length
    await waitFor(() => acked.length >= duringOutage + 20, { what: 'acks while the broker is down (the store acks)' })
    rabbitmq('start')
    for (const s of [a, b]) {
      await waitFor(async () => (await http(s.base, 'GET', '/readyz')).status === 200,
        { timeoutMs: 30000, what: `readyz 200 again on ${s.base}` })
    }
    // Some load after the broker is back, then stop.
    const back = acked.length
    await waitFor(() => acked.length >= back + 20, { timeoutMs: 15000, what: 'acks after the broker is back' })
    stop = true
    await load
    t.diagnostic(`outage + recovery took ${Date.now() - started} ms; ${acked.length} acked; ` +
      `sends resent after 15 s without an answer: ${Object.values(readers).reduce((n, c) => n + c.unanswered, 0)}`)
    for (const [name, c] of Object.entries(readers)) {
      // What the client displayed (live and its own resyncs), not an audit of the whole history.
      await waitFor(() => acked.every(id => c.shown.has(id)), { timeoutMs: 15000, what: `${name} to display every acked message` })
        .catch(() => assert.deepEqual(acked.filter(id => !c.shown.has(id)), [], `${name}: acked messages never displayed`))
      assert.ok(c.reconnects >= 1, `${name}: asked to reconnect after the broker came back`)
      c.stopped = true
    }
    const token = await openLogin(a.base, 'ivan-audit')
    const history = (await fetchAfter(a.base, token, 'general', 0)).map(m => m.id)
    assert.equal(new Set(history).size, history.length, 'history holds each id once')
  })

  // The loss window of docs/reliability.md ("What the chain guarantees"), made deterministic: a
  // third node C, with a RabbitMQ user of its own, loses its broker and cannot get it back, so
  // what it stores stays in its outbox. A client on B receives a newer message from B live while
  // the older one from C has not arrived, then drops. Resyncing from the highest id it saw would
  // skip the older one for good (C republishes it only once its broker is back, and a client
  // that is gone by then never gets it live); resyncing from the chain's mark brings it.
  it('a live inversion then a drop: the resync from the chain mark brings the older message', async () => {
    const amqpUser = await newAmqpUser(vhost)
    const c = await startChatd({ auth: 'open', args: ARGS, vhost, dbPath: db, nodeId: 'node-c', amqpUser })
    try {
      await waitFor(async () => (await http(c.base, 'GET', '/readyz')).status === 200, { what: 'readyz on C' })
      const onC = track(await nativeConnect(c, await openLogin(c.base, 'uma')))
      const onB = track(await nativeConnect(b, await openLogin(b.base, 'vic')))
      const reader = await resyncingClient(b, 'wes')
      await cutAmqpUser(amqpUser)
      await waitFor(async () => (await http(c.base, 'GET', '/readyz')).status === 503, { what: 'C without its broker' })
      const older = await sendOk(onC, 'general', 'older: stored by C, held in its outbox')
      const newer = await sendOk(onB, 'general', 'newer: stored by B and published at once')
      assert.ok(newer.id > older.id)
      await waitFor(() => reader.shown.has(newer.id), { what: 'the newer message live on B' })
      assert.equal(reader.shown.has(older.id), false, 'the older one has not arrived: an inversion')

      const reconnects = reader.reconnects
      reader.socket.terminate()
      await waitFor(() => reader.reconnects > reconnects, { what: 'wes reconnects' })
      await reader.ready
      assert.ok(reader.shown.has(older.id), 'the resync after the drop brought the older message')
      assert.equal(reader.chain.hasHole, false)
      assert.equal((await http(c.base, 'GET', '/readyz')).status, 503, 'C was still cut off: it came from the resync')
      reader.stopped = true
    } finally {
      await restoreAmqpUser(amqpUser)
      await c.kill9()
    }
  })

  it('kill -9 of node A: its clients reconnect to B and recover from history', async () => {
    const kimToken = await openLogin(a.base, 'kim')
    const kim = await nativeConnect(a, kimToken)
    const leo = track(await nativeConnect(b, await openLogin(b.base, 'leo')))
    const first = await sendOk(leo, 'general', 'before the crash')
    await kim.next(isMessage(m => m.id === first.id))
    await a.kill9()
    await within(kim.closed, 5000, 'kim to notice the crash')
    const during = (await sendOk(leo, 'general', 'while kim moves')).id
    // Sessions live in the shared store: kim's token works on B.
    const kimOnB = track(await nativeConnect(b, kimToken))
    const recovered = await fetchAfter(b.base, kimToken, 'general', first.id)
    assert.ok(recovered.some(m => m.id === during), 'the message sent while kim moved is recovered')
    const after = await sendOk(leo, 'general', 'after the move')
    await kimOnB.next(isMessage(m => m.id === after.id))
    await waitFor(async () => !(await users(b)).includes('alice'), {
      timeoutMs: 15000, what: 'A\'s users shown offline on B after A died (presence timeout)'
    })
  })
})
