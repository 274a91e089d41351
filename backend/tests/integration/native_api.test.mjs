// The native API in password mode: accounts, /ws frames, rooms, DMs, typing, presence, history,
// logout, health and metrics (docs/protocol.md, "Native HTTP API" and "Native WebSocket").
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import {
  fetchAfter, http, isMessage, login, metrics, nativeConnect, newCmid, register, sendMessage, sendOk,
  startChatd, waitFor, within, wsConnect
} from './lib/chatd.mjs'

const PASSWORD = 'correct horse battery'

// The fields the protocol names must be there with these values (more fields are allowed).
function assertFields (actual, expected) {
  assert.ok(actual && typeof actual === 'object', `expected an object, got ${JSON.stringify(actual)}`)
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(actual[k], v, `${k} in ${JSON.stringify(actual)}`)
}

describe('native API (--auth password)', () => {
  let server
  const tokens = {}
  const sockets = {}
  const get = (path, token) => http(server.base, 'GET', path, undefined, token)
  const post = (path, body, token) => http(server.base, 'POST', path, body, token)
  const errorCode = res => res.json?.error?.code

  // Sends a marker to general and returns the next message frame `user` gets: if anything was
  // wrongly delivered before the marker, this is that frame instead.
  async function nextMessageAfterMarker (user, sender = 'alice') {
    const marker = `marker ${newCmid('m')}`
    await sendOk(sockets[sender], 'general', marker)
    const frame = await sockets[user].next(f => f.type === 'message', 5000, `a message for ${user}`)
    return { frame, marker }
  }

  before(async () => {
    // History and sequencing send a few hundred messages quickly: keep rate limiting out of the way
    // here (limits.test.mjs covers it).
    server = await startChatd({
      auth: 'password',
      args: ['--rate-per-second', '10000', '--rate-burst', '10000', '--max-people-page', '3',
        '--last-seen-interval-ms', '50', '--max-display-name-length', '8',
        '--max-group-dm-members', '3']
    })
  })

  after(async () => {
    for (const s of Object.values(sockets)) s.terminate()
    try {
      await server?.stop({ expectCode: 0 })
    } finally {
      server?.cleanup()
    }
  })

  describe('accounts', () => {
    it('registering alice, bob and carol answers 201 with a 43-character token', async () => {
      for (const name of ['alice', 'bob', 'carol']) {
        const res = await register(server.base, name, PASSWORD)
        assert.equal(res.status, 201, res.text)
        assert.equal(res.json.user_name, name)
        assert.equal(typeof res.token, 'string')
        assert.equal(res.token.length, 43, `token ${res.token}`)
        assert.equal(typeof res.json.expires_ms, 'number')
        tokens[name] = res.token
      }
      assert.equal(new Set(Object.values(tokens)).size, 3, 'tokens are distinct')
    })

    it('registering a taken name answers 409 name_taken', async () => {
      const res = await register(server.base, 'alice', PASSWORD)
      assert.equal(res.status, 409, res.text)
      assert.equal(errorCode(res), 'name_taken')
    })

    it('registering an invalid name answers 400 invalid_name', async () => {
      for (const name of ['a b', 'a/b', 'x:y', '', 'n'.repeat(33)]) {
        const res = await register(server.base, name, PASSWORD)
        assert.equal(res.status, 400, `${JSON.stringify(name)}: ${res.text}`)
        assert.equal(errorCode(res), 'invalid_name', `${JSON.stringify(name)}: ${res.text}`)
      }
    })

    it('registering with a password under 8 characters answers 400 weak_password', async () => {
      const res = await register(server.base, 'dave', 'short')
      assert.equal(res.status, 400, res.text)
      assert.equal(errorCode(res), 'weak_password')
    })

    it('login with a wrong password answers 401 invalid_credentials', async () => {
      const res = await login(server.base, 'alice', 'wrong password')
      assert.equal(res.status, 401, res.text)
      assert.equal(errorCode(res), 'invalid_credentials')
      const unknown = await login(server.base, 'nobody', PASSWORD)
      assert.equal(unknown.status, 401, unknown.text)
    })

    it('login with the right password answers 200 with a fresh token', async () => {
      const res = await login(server.base, 'alice', PASSWORD)
      assert.equal(res.status, 200, res.text)
      assert.equal(res.json.user_name, 'alice')
      assert.equal(res.token.length, 43)
      assert.notEqual(res.token, tokens.alice)
    })

    it('GET /api/me names the token\'s user and their rooms', async () => {
      const res = await get('/api/me', tokens.alice)
      assert.equal(res.status, 200, res.text)
      assert.equal(res.json.user_name, 'alice')
      assert.ok(res.json.rooms.includes('general'), res.text)
    })

    it('GET /api/me without a token or with a bad one answers 401', async () => {
      assert.equal((await get('/api/me')).status, 401)
      const bad = await get('/api/me', 'x'.repeat(43))
      assert.equal(bad.status, 401)
      assert.equal(errorCode(bad), 'unauthorized')
    })

    it('a /ws upgrade without a valid token is refused', async () => {
      await assert.rejects(wsConnect(`${server.wsBase}/ws?token=${'y'.repeat(43)}`), err => err.status === 401)
    })
  })

  describe('messages on /ws', () => {
    it('/ws?token= opens with a welcome frame naming the user, rooms and online users', async () => {
      sockets.alice = await nativeConnect(server, tokens.alice)
      sockets.bob = await nativeConnect(server, tokens.bob)
      const w = sockets.alice.welcome
      assert.equal(w.user_name, 'alice')
      assert.ok(w.rooms.includes('general'), JSON.stringify(w))
      assert.ok(Array.isArray(w.online), JSON.stringify(w))
      assert.ok(sockets.bob.welcome.online.includes('alice'), JSON.stringify(sockets.bob.welcome))
    })

    it('a send is acked with a stored id, then alice and bob both receive it with that id', async () => {
      const ack = await sendMessage(sockets.alice, 'general', 'hello everyone', 'first-1')
      assert.equal(ack.type, 'ack', JSON.stringify(ack))
      assert.equal(ack.client_msg_id, 'first-1')
      assert.equal(ack.room, 'general')
      assert.equal(ack.duplicate, false)
      assert.ok(Number.isInteger(ack.id) && ack.id > 0, JSON.stringify(ack))
      assert.equal(typeof ack.ts, 'number')
      assert.match(ack.sent_at, /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2}:\d{2}$/)
      for (const name of ['alice', 'bob']) {
        const { message } = await sockets[name].next(isMessage(m => m.client_msg_id === 'first-1'))
        assert.equal(message.id, ack.id)
        assert.equal(message.room, 'general')
        assert.equal(message.user_name, 'alice')
        assert.equal(message.content, 'hello everyone')
        assert.equal(message.kind, 'text')
        assert.equal(message.sent_at, ack.sent_at)
      }
    })

    it('retrying a client_msg_id is acked with the same id as a duplicate and not delivered again', async () => {
      const first = await sendOk(sockets.alice, 'general', 'once only', 'retry-1')
      await sockets.bob.next(isMessage(m => m.id === first.id))
      sockets.bob.drain(isMessage())
      const retry = await sendMessage(sockets.alice, 'general', 'once only', 'retry-1')
      assert.equal(retry.type, 'ack', JSON.stringify(retry))
      assert.equal(retry.id, first.id)
      assert.equal(retry.duplicate, true)
      const { frame, marker } = await nextMessageAfterMarker('bob')
      assert.equal(frame.message.content, marker, `bob got ${JSON.stringify(frame)} before the marker`)
    })

    it('ids increase across 50 sequential sends', async () => {
      let last = 0
      for (let i = 0; i < 50; i++) {
        const ack = await sendOk(sockets.alice, 'general', `seq ${i}`)
        assert.ok(ack.id > last, `ack ${i} has id ${ack.id} after ${last}`)
        last = ack.id
      }
      const seen = []
      for (let i = 0; i < 50; i++) {
        seen.push((await sockets.bob.next(isMessage(m => m.content === `seq ${i}`))).message)
      }
      for (let i = 1; i < seen.length; i++) {
        assert.ok(seen[i].id > seen[i - 1].id, `bob saw ids ${seen.map(m => m.id)}`)
        // Nothing else was sent to general meanwhile: each names the one before as its prev_id.
        assert.equal(seen[i].prev_id, seen[i - 1].id, `prev_id of ${seen[i].id}`)
      }
    })

    it('a send without client_msg_id is refused with bad_request and the socket stays open', async () => {
      sockets.alice.send({ type: 'send', room: 'general', content: 'no id' })
      const err = await sockets.alice.next(f => f.type === 'error')
      assert.equal(err.code, 'bad_request', JSON.stringify(err))
      sockets.alice.send({ type: 'ping' })
      await sockets.alice.next(f => f.type === 'pong')
    })
  })

  describe('rooms', () => {
    it('creating room devs answers 201 and the creator is a member', async () => {
      const res = await post('/api/rooms', { name: 'devs' }, tokens.alice)
      assert.equal(res.status, 201, res.text)
      assertFields(res.json, { name: 'devs', joined: true })
      const again = await post('/api/rooms', { name: 'devs' }, tokens.bob)
      assert.equal(again.status, 409, again.text)
      assert.equal(errorCode(again), 'room_exists')
      const list = await get('/api/rooms', tokens.bob)
      assert.equal(list.status, 200, list.text)
      assertFields(list.json.rooms.find(r => r.name === 'devs'), { name: 'devs', joined: false })
    })

    it('a non-member sending to devs gets a not_member error', async () => {
      const err = await sendMessage(sockets.bob, 'devs', 'let me in', 'bob-devs-1')
      assert.equal(err.type, 'error', JSON.stringify(err))
      assert.equal(err.code, 'not_member')
      assert.equal(err.client_msg_id, 'bob-devs-1')
    })

    it('after joining devs bob receives its messages', async () => {
      const res = await post('/api/rooms/devs/join', undefined, tokens.bob)
      assert.equal(res.status, 200, res.text)
      assertFields(res.json, { name: 'devs', joined: true })
      const ack = await sendOk(sockets.alice, 'devs', 'welcome to devs')
      const { message } = await sockets.bob.next(isMessage(m => m.id === ack.id))
      assert.equal(message.room, 'devs')
      assert.equal(message.content, 'welcome to devs')
      assert.ok((await get('/api/me', tokens.bob)).json.rooms.includes('devs'))
    })

    it('after leaving devs bob no longer receives its messages', async () => {
      const res = await post('/api/rooms/devs/leave', undefined, tokens.bob)
      assert.equal(res.status, 200, res.text)
      assertFields(res.json, { name: 'devs', joined: false })
      sockets.bob.drain(isMessage())
      await sendOk(sockets.alice, 'devs', 'bob is gone')
      const { frame, marker } = await nextMessageAfterMarker('bob')
      assert.equal(frame.message.content, marker, `bob got ${JSON.stringify(frame)} before the marker`)
      assert.ok(!(await get('/api/me', tokens.bob)).json.rooms.includes('devs'))
      const hist = await get('/api/rooms/devs/messages', tokens.bob)
      assert.equal(hist.status, 403, hist.text)
    })

    it('a client_msg_id reused in another room is refused with client_msg_id_reused, not acked as the first room\'s message', async () => {
      const first = await sendOk(sockets.alice, 'general', 'keyed in general', 'reused-1')
      const reused = await sendMessage(sockets.alice, 'devs', 'keyed in devs', 'reused-1')
      assert.equal(reused.type, 'error', `the second send was answered ${JSON.stringify(reused)} (the first was ${JSON.stringify(first)})`)
      assert.equal(reused.code, 'client_msg_id_reused')
      assert.equal(reused.client_msg_id, 'reused-1')
      const hist = await get('/api/rooms/devs/messages', tokens.alice)
      assert.ok(!hist.json.messages.some(m => m.content === 'keyed in devs'), JSON.stringify(hist.json))
      // The same key in its own room is still an idempotent retry.
      const retry = await sendMessage(sockets.alice, 'general', 'keyed in general', 'reused-1')
      assert.equal(retry.type, 'ack', JSON.stringify(retry))
      assert.equal(retry.id, first.id)
      assert.equal(retry.duplicate, true)
    })

    it('nobody can leave general (400 cannot_leave_general)', async () => {
      const res = await post('/api/rooms/general/leave', undefined, tokens.bob)
      assert.equal(res.status, 400, res.text)
      assert.equal(errorCode(res), 'cannot_leave_general')
    })

    it('joining a room that does not exist answers 404 room_not_found', async () => {
      const res = await post('/api/rooms/nosuchroom/join', undefined, tokens.bob)
      assert.equal(res.status, 404, res.text)
      assert.equal(errorCode(res), 'room_not_found')
    })
  })

  describe('direct messages', () => {
    const dm = 'dm:alice:bob'

    it('POST /api/dm/bob by alice names the room dm:alice:bob', async () => {
      const res = await post('/api/dm/bob', undefined, tokens.alice)
      assert.equal(res.status, 200, res.text)
      assertFields(res.json, { name: dm })
      const fromBob = await post('/api/dm/alice', undefined, tokens.bob)
      assert.equal(fromBob.status, 200, fromBob.text)
      assertFields(fromBob.json, { name: dm })
      const missing = await post('/api/dm/nobody', undefined, tokens.alice)
      assert.equal(missing.status, 404, missing.text)
      assert.equal(errorCode(missing), 'user_not_found')
    })

    it('a DM reaches bob and not carol, and carol cannot read its history', async () => {
      sockets.carol = await nativeConnect(server, tokens.carol)
      sockets.bob.drain(isMessage())
      const ack = await sendOk(sockets.alice, dm, 'psst bob')
      const { message } = await sockets.bob.next(isMessage(m => m.id === ack.id))
      assert.equal(message.room, dm)
      assert.equal(message.content, 'psst bob')
      const { frame, marker } = await nextMessageAfterMarker('carol')
      assert.equal(frame.message.content, marker, `carol got ${JSON.stringify(frame)} before the marker`)
      const hist = await get(`/api/rooms/${dm}/messages`, tokens.carol)
      assert.equal(hist.status, 403, hist.text)
      assert.equal(errorCode(hist), 'not_member')
      const own = await get(`/api/rooms/${dm}/messages`, tokens.bob)
      assert.equal(own.status, 200, own.text)
      assert.ok(own.json.messages.some(m => m.id === ack.id))
    })

    it('carol cannot send into the DM and cannot join it', async () => {
      const err = await sendMessage(sockets.carol, dm, 'me too')
      assert.equal(err.type, 'error', JSON.stringify(err))
      assert.equal(err.code, 'not_member')
      const join = await post(`/api/rooms/${dm}/join`, undefined, tokens.carol)
      assert.equal(join.status, 403, join.text)
    })

    it('POST /api/dm {"users"} opens one group conversation per set of up to --max-group-dm-members people, closed to others', async () => {
      const group = 'dm:alice:bob:carol'
      sockets.bob.drain(f => f.type === 'membership')
      const res = await post('/api/dm', { users: ['carol', 'bob'] }, tokens.alice)
      assert.equal(res.status, 200, res.text)
      assertFields(res.json, { name: group })
      await sockets.bob.next(f => f.type === 'membership' && f.room === group && f.user_name === 'bob')
      const again = await post('/api/dm', { users: ['bob', 'alice', 'carol', 'bob'] }, tokens.carol)
      assertFields(again.json, { name: group })
      const ack = await sendOk(sockets.alice, group, 'hello @carol and bob')
      const { message } = await sockets.carol.next(isMessage(m => m.id === ack.id))
      assert.deepEqual(message.mentions, ['carol'])
      await sockets.bob.next(isMessage(m => m.id === ack.id))

      // Past the limit (alice and three more, although zed has no account): refused and counted.
      const before = await metrics(server.base)
      const tooMany = await post('/api/dm', { users: ['bob', 'carol', 'zed'] }, tokens.alice)
      assert.equal(tooMany.status, 400, tooMany.text)
      assert.equal(errorCode(tooMany), 'group_dm_too_large')
      const series = 'chat_limit_hits_total{kind="group_dm_members"}'
      assert.equal((await metrics(server.base)).value(series) - (before.value(series) ?? 0), 1)
      const notNames = await post('/api/dm', { users: 'bob' }, tokens.alice)
      assert.equal(notNames.status, 400, notNames.text)
      assert.equal(errorCode(notNames), 'bad_request')

      // Not listed, not joinable, not readable by anyone outside the set.
      const outsider = (await register(server.base, 'outsider', PASSWORD)).token
      const listed = await get('/api/rooms', tokens.alice)
      assert.ok(!listed.json.rooms.some(r => r.name === group), listed.text)
      const join = await post(`/api/rooms/${group}/join`, undefined, outsider)
      assert.equal(join.status, 403, join.text)
      const read = await get(`/api/rooms/${group}/messages`, outsider)
      assert.equal(read.status, 403, read.text)
    })
  })

  describe('typing and presence', () => {
    it('typing reaches the room\'s other members but not the typist', async () => {
      sockets.alice.drain(f => f.type === 'typing')
      sockets.alice.send({ type: 'typing', room: 'general' })
      const t = await sockets.bob.next(f => f.type === 'typing')
      assert.deepEqual(t, { type: 'typing', room: 'general', user_name: 'alice' })
      // Frames to one socket are ordered: had alice been sent her own typing, it precedes the pong.
      sockets.alice.send({ type: 'ping' })
      await sockets.alice.next(f => f.type === 'pong')
      assert.deepEqual(sockets.alice.drain(f => f.type === 'typing'), [])
    })

    it('a typing stop reaches the other members at once, only to end a notice that went out', async () => {
      // Alice's last notice in general may still be within --typing-interval-ms: a message
      // starts a fresh one.
      await sendOk(sockets.alice, 'general', 'about to type')
      sockets.bob.drain(f => f.type === 'typing' || f.type === 'typing_stop')
      sockets.alice.send({ type: 'typing', room: 'general' })
      await sockets.bob.next(f => f.type === 'typing' && f.user_name === 'alice')
      sockets.alice.send({ type: 'typing_stop', room: 'general' })
      const stop = await sockets.bob.next(f => f.type === 'typing_stop')
      assert.deepEqual(stop, { type: 'typing_stop', room: 'general', user_name: 'alice' })
      // A second stop has nothing left to end: dropped, never echoed to alice nor refused.
      sockets.alice.send({ type: 'typing_stop', room: 'general' })
      const marker = await sendOk(sockets.alice, 'general', 'after the stops')
      const seen = []
      await sockets.bob.next(f => {
        if (f.type === 'typing_stop') seen.push(f)
        return f.type === 'message' && f.message.id === marker.id
      })
      assert.deepEqual(seen, [])
      assert.deepEqual(sockets.alice.drain(f => f.type === 'typing_stop' || f.type === 'error'), [])
    })

    it('a user\'s first connection is announced online and their last disconnect offline', async () => {
      const reg = await register(server.base, 'erin', PASSWORD)
      assert.equal(reg.status, 201, reg.text)
      const erin = await nativeConnect(server, reg.token)
      const on = await sockets.alice.next(f => f.type === 'presence' && f.user_name === 'erin')
      assert.equal(on.online, true)
      const online = await get('/api/users/online', tokens.alice)
      assert.ok(online.json.users.includes('erin'), online.text)
      await erin.close()
      const off = await sockets.alice.next(f => f.type === 'presence' && f.user_name === 'erin')
      assert.equal(off.online, false)
      await sockets.bob.next(f => f.type === 'presence' && f.user_name === 'erin' && f.online === false)
    })

    it('a user is away once every connection of theirs is, seen by others, the welcome and the directory', async () => {
      const reg = await register(server.base, 'yara', PASSWORD)
      assert.equal(reg.status, 201, reg.text)
      const tab1 = await nativeConnect(server, reg.token)
      const tab2 = await nativeConnect(server, reg.token)
      const presence = status => f => f.type === 'presence' && f.user_name === 'yara' && f.status === status
      await sockets.alice.next(presence('online'))
      const person = async () => (await get('/api/people/yara', tokens.alice)).json.status
      // A bad status is refused and changes nothing.
      tab1.send({ type: 'status', status: 'asleep' })
      const refused = await tab1.next(f => f.type === 'error')
      assert.equal(refused.code, 'bad_request')
      // One tab away: yara is still online.
      tab1.send({ type: 'status', status: 'away' })
      tab1.send({ type: 'ping' })
      await tab1.next(f => f.type === 'pong')
      assert.equal(await person(), 'online')
      // Both away: others see it, once.
      tab2.send({ type: 'status', status: 'away' })
      const away = await sockets.alice.next(presence('away'))
      assert.deepEqual(away, { type: 'presence', user_name: 'yara', online: true, status: 'away' })
      assert.equal(await person(), 'away')
      const listed = await get('/api/people?q=yara', tokens.alice)
      assert.equal(listed.json.people[0].status, 'away', listed.text)
      const late = await nativeConnect(server, tokens.bob)
      assert.ok(late.welcome.away.includes('yara'), JSON.stringify(late.welcome))
      late.terminate()
      // A new connection starts active: yara is back; closing it leaves the away ones.
      const tab3 = await nativeConnect(server, reg.token)
      await sockets.alice.next(presence('online'))
      await tab3.close()
      await sockets.alice.next(presence('away'))
      // Input on one tab brings yara back.
      tab1.send({ type: 'status', status: 'active' })
      await sockets.alice.next(presence('online'))
      assert.equal(await person(), 'online')
      const metrics = await http(server.base, 'GET', '/metrics')
      assert.match(metrics.text, /^chat_users_away 0$/m)
      await tab1.close()
      await tab2.close()
      await sockets.alice.next(presence('offline'))
    })
  })

  describe('people', () => {
    const names = res => res.json.people.map(p => p.user_name)

    it('GET /api/people lists every account by name with status, and pages after the last name', async () => {
      const first = await get('/api/people?limit=2', tokens.alice)
      assert.equal(first.status, 200, first.text)
      assert.deepEqual(names(first), ['alice', 'bob'])
      assert.equal(first.json.has_more, true)
      assertFields(first.json.people[0], { user_name: 'alice', display_name: '', status: 'online' })
      assert.equal(typeof first.json.people[0].last_seen_ms, 'number')
      const next = await get('/api/people?limit=2&after=bob', tokens.alice)
      assert.equal(next.status, 200, next.text)
      assert.equal(names(next)[0], 'carol')
      // erin signed up, connected and left above: offline, with a last seen.
      const erin = (await get('/api/people?q=erin', tokens.alice)).json.people[0]
      assertFields(erin, { user_name: 'erin', status: 'offline' })
    })

    it('q finds a case-insensitive prefix of the name, and bad pages are refused with their code', async () => {
      const bo = await get('/api/people?q=BO', tokens.alice)
      assert.equal(bo.status, 200, bo.text)
      assert.deepEqual(names(bo), ['bob'])
      const none = await get(`/api/people?q=${encodeURIComponent('ob')}`, tokens.alice)
      assert.deepEqual(names(none), [], 'a prefix, not a substring')
      const before = await metrics(server.base)
      for (const limit of ['0', '4']) {
        const res = await get(`/api/people?limit=${limit}`, tokens.alice)
        assert.equal(res.status, 400, res.text)
        assert.equal(errorCode(res), 'page_too_large')
      }
      const atEdge = await get('/api/people?limit=3', tokens.alice)
      assert.equal(atEdge.status, 200, atEdge.text)
      assert.equal(atEdge.json.people.length, 3)
      const series = 'chat_limit_hits_total{kind="people_page"}'
      const counted = (await metrics(server.base)).value(series) - (before.value(series) ?? 0)
      assert.equal(counted, 2)
      const long = await get(`/api/people?q=${'x'.repeat(129)}`, tokens.alice)
      assert.equal(long.status, 400, long.text)
      assert.equal(errorCode(long), 'bad_request')
      assert.equal((await get('/api/people', undefined)).status, 401)
    })

    it('GET /api/people/{name} is the profile card; an unknown name answers 404 user_not_found', async () => {
      const bob = await get('/api/people/bob', tokens.alice)
      assert.equal(bob.status, 200, bob.text)
      assertFields(bob.json, { user_name: 'bob', display_name: '', status: 'online' })
      const missing = await get('/api/people/nobody', tokens.alice)
      assert.equal(missing.status, 404, missing.text)
      assert.equal(errorCode(missing), 'user_not_found')
    })

    it('PUT /api/me/profile sets a display name that search finds; past its limit or with hidden characters it is refused', async () => {
      const put = (body, token = tokens.carol) => http(server.base, 'PUT', '/api/me/profile', body, token)
      const set = await put({ display_name: '  Élodie  ' })
      assert.equal(set.status, 200, set.text)
      assertFields(set.json, { user_name: 'carol', display_name: 'Élodie' })
      const found = await get(`/api/people?q=${encodeURIComponent('éLO')}`, tokens.alice)
      assert.deepEqual(names(found), ['carol'])
      assert.equal(found.json.people[0].display_name, 'Élodie')
      const atEdge = await put({ display_name: '12345678' })
      assert.equal(atEdge.status, 200, atEdge.text)
      const before = await metrics(server.base)
      const tooLong = await put({ display_name: '123456789' })
      assert.equal(tooLong.status, 400, tooLong.text)
      assert.equal(errorCode(tooLong), 'display_name_too_long')
      for (const hidden of ['a\u200bb', 'a\u202eb', 'a\nb', 'a\u0007']) {
        const res = await put({ display_name: hidden })
        assert.equal(res.status, 400, `${JSON.stringify(hidden)}: ${res.text}`)
        assert.equal(errorCode(res), 'invalid_display_name')
      }
      const after = await metrics(server.base)
      const delta = kind => after.value(`chat_limit_hits_total{kind="${kind}"}`) -
        (before.value(`chat_limit_hits_total{kind="${kind}"}`) ?? 0)
      assert.equal(delta('display_name_length'), 1)
      assert.equal(delta('invalid_display_name'), 4)
      assert.equal((await put({ nope: 1 })).status, 400)
      // Refusals changed nothing; an empty name clears it.
      assert.equal((await get('/api/people/carol', tokens.alice)).json.display_name, '12345678')
      const cleared = await put({ display_name: '   ' })
      assert.equal(cleared.json.display_name, '')
      assert.equal((await http(server.base, 'PUT', '/api/me/profile', { display_name: 'x' })).status, 401)
    })

    it('last seen is stored when a user\'s last connection closes', async () => {
      const res = await register(server.base, 'frank', PASSWORD)
      assert.equal(res.status, 201, res.text)
      const never = await get('/api/people/frank', tokens.alice)
      assertFields(never.json, { status: 'offline', last_seen_ms: 0 })
      const frank = await nativeConnect(server, res.token)
      const opened = Date.now()
      await frank.close()
      await sockets.alice.next(f => f.type === 'presence' && f.user_name === 'frank' && f.online === false)
      // Written within one --last-seen-interval-ms (50 ms) of the close.
      let card
      await waitFor(async () => {
        card = (await get('/api/people/frank', tokens.alice)).json
        return card.last_seen_ms > 0
      }, { what: 'frank\'s last seen' })
      assert.equal(card.status, 'offline')
      assert.ok(card.last_seen_ms >= opened - 1000 && card.last_seen_ms <= Date.now(), JSON.stringify(card))
    })

    it('anyone in the directory can be sent a DM, online or not', async () => {
      const res = await post('/api/dm/frank', undefined, tokens.alice)
      assert.equal(res.status, 200, res.text)
      assertFields(res.json, { name: 'dm:alice:frank' })
      const ack = await sendOk(sockets.alice, 'dm:alice:frank', 'when you are back')
      const login = await http(server.base, 'POST', '/api/login', { user_name: 'frank', password: PASSWORD })
      const frank = await nativeConnect(server, login.json.token)
      try {
        const hist = await get('/api/rooms/dm:alice:frank/messages', login.json.token)
        assert.ok(hist.json.messages.some(m => m.id === ack.id), hist.text)
      } finally {
        await frank.close()
      }
    })
  })

  describe('history', () => {
    const ids = []

    it('120 messages in a new room are all acked in order', async () => {
      assert.equal((await post('/api/rooms', { name: 'hist' }, tokens.alice)).status, 201)
      const cmids = Array.from({ length: 120 }, (_, i) => `hist-${i}`)
      cmids.forEach((cmid, i) => sockets.alice.send({ type: 'send', room: 'hist', content: `h${i}`, client_msg_id: cmid }))
      for (const cmid of cmids) {
        const ack = await sockets.alice.next(f => f.client_msg_id === cmid && (f.type === 'ack' || f.type === 'error'), 10000)
        assert.equal(ack.type, 'ack', JSON.stringify(ack))
        ids.push(ack.id)
      }
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], 'acks of one socket come in id order')
    })

    it('?limit=50 returns the newest 50 ascending, and before= pages back to the start', async () => {
      const pages = []
      let res = await get('/api/rooms/hist/messages?limit=50', tokens.alice)
      assert.equal(res.status, 200, res.text)
      pages.unshift(res.json)
      while (res.json.has_more) {
        assert.ok(pages.length < 10, 'paging must end')
        const first = res.json.messages[0].id
        res = await get(`/api/rooms/hist/messages?before=${first}&limit=50`, tokens.alice)
        assert.equal(res.status, 200, res.text)
        pages.unshift(res.json)
      }
      assert.deepEqual(pages.map(p => p.messages.length), [20, 50, 50])
      assert.deepEqual(pages.map(p => p.has_more), [false, true, true])
      const got = pages.flatMap(p => p.messages)
      assert.deepEqual(got.map(m => m.id), ids)
      assert.deepEqual(got.map(m => m.content), ids.map((_, i) => `h${i}`))
      assert.deepEqual(got.map(m => m.client_msg_id), ids.map((_, i) => `hist-${i}`))
      assert.ok(got.every(m => m.room === 'hist' && m.user_name === 'alice' && m.kind === 'text'))
    })

    it('after= a middle id returns exactly the later messages', async () => {
      const mid = ids[59]
      const res = await get(`/api/rooms/hist/messages?after=${mid}&limit=500`, tokens.alice)
      assert.equal(res.status, 200, res.text)
      assert.deepEqual(res.json.messages.map(m => m.id), ids.slice(60))
      assert.equal(res.json.has_more, false)
      const paged = await fetchAfter(server.base, tokens.alice, 'hist', mid, 7)
      assert.deepEqual(paged.map(m => m.id), ids.slice(60))
      const page = await get(`/api/rooms/hist/messages?after=${mid}&limit=10`, tokens.alice)
      assert.deepEqual(page.json.messages.map(m => m.id), ids.slice(60, 70))
      assert.equal(page.json.has_more, true)
    })

    it('bad history parameters answer 400 and unknown rooms 404', async () => {
      const bad = await get('/api/rooms/hist/messages?before=abc', tokens.alice)
      assert.equal(bad.status, 400, bad.text)
      assert.equal(errorCode(bad), 'bad_request')
      const missing = await get('/api/rooms/nosuchroom/messages', tokens.alice)
      assert.equal(missing.status, 404, missing.text)
      assert.equal(errorCode(missing), 'room_not_found')
    })
  })

  describe('logout', () => {
    it('logout answers 204, the token stops working and its sockets close with 1008', async () => {
      const res = await post('/api/logout', undefined, tokens.bob)
      assert.equal(res.status, 204, res.text)
      const { code } = await within(sockets.bob.closed, 5000, 'bob\'s socket to close after logout')
      assert.equal(code, 1008)
      assert.equal((await get('/api/me', tokens.bob)).status, 401)
      assert.equal((await post('/api/logout', undefined, tokens.bob)).status, 401)
      assert.equal((await get('/api/me', tokens.alice)).status, 200, 'other users stay signed in')
    })
  })

  describe('operations', () => {
    it('/healthz and /readyz answer 200 and /metrics counts stored messages', async () => {
      const health = await get('/healthz')
      assert.equal(health.status, 200, health.text)
      assert.deepEqual(health.json, { status: 'ok' })
      const ready = await get('/readyz')
      assert.equal(ready.status, 200, ready.text)
      assert.deepEqual(ready.json, { status: 'ready' })
      const m = await metrics(server.base)
      assert.match(m.text, /^chat_messages_stored_total \d/m)
      assert.ok(m.value('chat_messages_stored_total') >= 170, `chat_messages_stored_total = ${m.value('chat_messages_stored_total')}`)
    })

    it('GET /api/config reports password mode and the limits', async () => {
      const res = await get('/api/config')
      assert.equal(res.status, 200, res.text)
      assert.equal(res.json.auth, 'password')
      assert.equal(res.json.limits.rate_per_second, 10000)
    })
  })
})
