// Read state over the native API (docs/protocol.md "Read state"): each user's last-read id per
// room, stored by the server and shared live by every connection of that user. Reading in one tab
// clears the other tab's count, counts are right in the welcome after reconnecting and after a
// restart, a mark never moves back nor past the room's newest id, the count stops at
// --max-unread-count and says so, and only members may mark a room (over /ws and over HTTP).
// Mentions (docs/protocol.md "Mentions") are counted beside: on connect, on every device, and
// @room only in rooms of at most --max-room-mention-members members. The members list that
// autocompletes them is read by members only, a page of at most --max-members-page names.
// Notification levels (docs/protocol.md "Notification levels") are kept per user and room the same
// way: set over HTTP, told to every tab, listed in the welcome, forgotten on leaving.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { http, metrics, nativeConnect, newCmid, register, sendMessage, sendOk, startChatd } from './lib/chatd.mjs'

const PASSWORD = 'correct horse battery'
const MAX_UNREAD = 5
const MAX_ROOM_MENTION = 3
const MAX_MEMBERS_PAGE = 3
const ARGS = ['--rate-per-second', '10000', '--rate-burst', '10000', '--max-unread-count', String(MAX_UNREAD),
  '--max-room-mention-members', String(MAX_ROOM_MENTION), '--max-members-page', String(MAX_MEMBERS_PAGE)]

describe('read state', () => {
  let server
  const started = [] // every server of the suite: the restart reuses the first one's files
  const tokens = {}
  const sockets = []
  const connect = async user => {
    const socket = await nativeConnect(server, tokens[user])
    sockets.push(socket)
    return socket
  }
  const stateIn = (frame, room) => frame.read.find(state => state.room === room)
  const call = (method, path, user, body) => http(server.base, method, path, body, tokens[user])

  // Sends a `read` (or `read_all`) frame and resolves with its read_ack or error.
  async function mark (socket, frame) {
    const cmid = newCmid('read')
    socket.send({ ...frame, client_msg_id: cmid })
    return socket.next(f => (f.type === 'read_ack' || f.type === 'error') && f.client_msg_id === cmid,
      5000, `read_ack/error for ${cmid}`)
  }

  before(async () => {
    server = await startChatd({ auth: 'password', args: ARGS })
    started.push(server)
    for (const name of ['alice', 'bob', 'carol']) {
      const res = await register(server.base, name, PASSWORD)
      assert.equal(res.status, 201, res.text)
      tokens[name] = res.token
    }
  })

  after(async () => {
    for (const s of sockets) s.terminate()
    try {
      await server?.stop({ expectCode: 0 })
    } finally {
      for (const s of started) s.cleanup()
    }
  })

  it('a message from another user is unread in both tabs; reading it in one clears the other', async () => {
    const tabA = await connect('alice')
    const tabB = await connect('alice')
    const bob = await connect('bob')
    assert.equal(stateIn(tabA.welcome, 'general').unread, 0, 'a newcomer starts with nothing unread')
    const sent = await sendOk(bob, 'general', 'hello alice')
    const counted = await call('GET', '/api/read', 'alice')
    assert.equal(counted.status, 200, counted.text)
    assert.deepEqual(counted.json.rooms.find(s => s.room === 'general'),
      { room: 'general', last_read_id: stateIn(tabA.welcome, 'general').last_read_id, unread: 1, as_of: sent.id, mentions: 0 })

    const ack = await mark(tabA, { type: 'read', room: 'general', id: sent.id })
    assert.equal(ack.type, 'read_ack', JSON.stringify(ack))
    assert.deepEqual(ack.rooms, [{ room: 'general', last_read_id: sent.id, unread: 0, as_of: sent.id, mentions: 0 }])
    const live = await tabB.next(f => f.type === 'read_state' && f.room === 'general', 5000, 'read_state on the other tab')
    assert.deepEqual(live,
      { type: 'read_state', room: 'general', last_read_id: sent.id, unread: 0, as_of: sent.id, mentions: 0 })
    // bob's own read state is his: he is not told of alice's.
    const probe = await sendOk(bob, 'general', 'probe')
    await bob.next(f => f.type === 'message' && f.message.id === probe.id)
    assert.equal(bob.frames.some(f => f.type === 'read_state'), false)
  })

  it('counts are right in the welcome after reconnecting, and stop at --max-unread-count', async () => {
    const bob = await connect('bob')
    const earlier = stateIn((await connect('alice')).welcome, 'general')
    let last
    for (let i = 0; i < 3; i++) last = await sendOk(bob, 'general', `while away ${i}`)
    const again = stateIn((await connect('alice')).welcome, 'general')
    assert.equal(again.last_read_id, earlier.last_read_id)
    assert.equal(again.unread, earlier.unread + 3)
    assert.equal(again.as_of, last.id)
    for (let i = 0; i < MAX_UNREAD; i++) await sendOk(bob, 'general', `more ${i}`)
    const capped = stateIn((await connect('alice')).welcome, 'general')
    assert.equal(capped.unread, MAX_UNREAD)
    assert.equal(capped.unread_capped, true)
    assert.ok((await metrics(server.base)).value('chat_limit_hits_total{kind="unread_capped"}') >= 1)
  })

  it('a mark never moves back, and never past the room\'s newest id', async () => {
    const alice = await connect('alice')
    const bob = await connect('bob')
    const first = await sendOk(bob, 'general', 'first')
    const second = await sendOk(bob, 'general', 'second')
    assert.equal((await mark(alice, { type: 'read', room: 'general', id: second.id })).type, 'read_ack')
    const back = await mark(alice, { type: 'read', room: 'general', id: first.id })
    assert.equal(back.rooms[0].last_read_id, second.id)
    const beyond = await mark(alice, { type: 'read', room: 'general', id: second.id + 1_000_000 })
    assert.equal(beyond.type, 'error')
    assert.equal(beyond.code, 'read_mark_beyond_newest')
    const bad = await mark(alice, { type: 'read', room: 'general', id: 0 })
    assert.equal(bad.code, 'bad_request')
    const state = (await call('GET', '/api/read', 'alice')).json.rooms.find(s => s.room === 'general')
    assert.equal(state.last_read_id, second.id)
    assert.ok((await metrics(server.base)).value('chat_read_marks_refused_total') >= 1)
  })

  it('only members may mark a room, over /ws and over HTTP, and a bad id or room has its code', async () => {
    const created = await call('POST', '/api/rooms', 'bob', { name: 'secret' })
    assert.equal(created.status, 201, created.text)
    const bob = await connect('bob')
    const hidden = await sendOk(bob, 'secret', 'members only')
    const alice = await connect('alice')
    const refused = await mark(alice, { type: 'read', room: 'secret', id: hidden.id })
    assert.equal(refused.code, 'not_member')
    const byHttp = await call('POST', '/api/rooms/secret/read', 'alice', { id: hidden.id })
    assert.equal(byHttp.status, 403, byHttp.text)
    assert.equal(byHttp.json.error.code, 'not_member')
    assert.equal((await call('POST', '/api/rooms/nowhere/read', 'alice', { id: 1 })).json.error.code, 'room_not_found')
    const badId = await call('POST', '/api/rooms/general/read', 'alice', { id: 'seven' })
    assert.equal(badId.status, 400)
    assert.equal(badId.json.error.code, 'bad_request')
    const unauthenticated = await http(server.base, 'POST', '/api/rooms/general/read', { id: 1 })
    assert.equal(unauthenticated.status, 401)
  })

  it('the HTTP mark and mark-all-as-read tell every connection of the user', async () => {
    const tab = await connect('carol')
    const bob = await connect('bob')
    const dm = await call('POST', '/api/dm/carol', 'bob')
    assert.equal(dm.status, 200, dm.text)
    const room = dm.json.name
    await tab.next(f => f.type === 'membership' && f.room === room, 5000, 'carol joins the DM')
    const inDm = await sendOk(bob, room, 'psst')
    const inGeneral = await sendOk(bob, 'general', 'hi all')
    const marked = await call('POST', `/api/rooms/${room}/read`, 'carol', { id: inDm.id })
    assert.equal(marked.status, 200, marked.text)
    assert.deepEqual(marked.json, { room, last_read_id: inDm.id, unread: 0, as_of: inDm.id, mentions: 0 })
    await tab.next(f => f.type === 'read_state' && f.room === room && f.last_read_id === inDm.id, 5000, 'the DM read')

    const all = await call('POST', '/api/read/all', 'carol')
    assert.equal(all.status, 200, all.text)
    assert.deepEqual(all.json.rooms.map(s => [s.room, s.unread]), [['general', 0]])
    await tab.next(f => f.type === 'read_state' && f.room === 'general' && f.last_read_id >= inGeneral.id, 5000,
      'general read by mark all')
    const viaSocket = await mark(tab, { type: 'read_all' })
    assert.deepEqual(viaSocket.rooms, [], 'nothing left to mark')
  })

  it('mentions are counted on connect and on every device, deletes uncount them, @room only in small rooms',
    async () => {
      const dave = await register(server.base, 'dave', PASSWORD)
      assert.equal(dave.status, 201, dave.text)
      tokens.dave = dave.token
      assert.equal((await call('POST', '/api/rooms', 'bob', { name: 'team' })).status, 201)
      for (const user of ['alice', 'carol']) {
        assert.equal((await call('POST', '/api/rooms/team/join', user)).status, 200)
      }
      const bob = await connect('bob')
      const mentionsOf = async (user) =>
        (await call('GET', '/api/read', user)).json.rooms.find(s => s.room === 'team').mentions

      const named = await sendOk(bob, 'team', '@alice look, `@carol` not you, @dave not here')
      const frame = await bob.next(f => f.type === 'message' && f.message.id === named.id)
      assert.deepEqual(frame.message.mentions, ['alice'])
      assert.equal(await mentionsOf('alice'), 1)
      assert.equal(await mentionsOf('carol'), 0)

      // Two devices: the count is in each welcome; reading on one clears it on the other.
      const phone = await connect('alice')
      const laptop = await connect('alice')
      assert.equal(stateIn(phone.welcome, 'team').mentions, 1)
      assert.equal((await mark(phone, { type: 'read', room: 'team', id: named.id })).rooms[0].mentions, 0)
      const cleared = await laptop.next(f => f.type === 'read_state' && f.room === 'team', 5000, 'read_state on the laptop')
      assert.equal(cleared.mentions, 0)

      // Three members, at the limit: everyone else is mentioned.
      const everyone = await sendOk(bob, 'team', '@room standup')
      const roomFrame = await bob.next(f => f.type === 'message' && f.message.id === everyone.id)
      assert.equal(roomFrame.message.mentions_room, true)
      assert.equal(await mentionsOf('carol'), 1)
      assert.equal(await mentionsOf('alice'), 1)

      // A deleted message leaves the count.
      const toCarol = await sendOk(bob, 'team', '@carol a word')
      assert.equal(await mentionsOf('carol'), 2)
      const cmid = newCmid('del')
      bob.send({ type: 'delete', room: 'team', id: toCarol.id, client_msg_id: cmid })
      await bob.next(f => f.type === 'ack' && f.client_msg_id === cmid, 5000, 'delete acked')
      assert.equal(await mentionsOf('carol'), 1)

      // A fourth member: one past the limit, refused with its code, nothing stored.
      assert.equal((await call('POST', '/api/rooms/team/join', 'dave')).status, 200)
      const before = (await call('GET', '/api/read', 'carol')).json.rooms.find(s => s.room === 'team')
      const refused = await sendMessage(bob, 'team', '@room again')
      assert.equal(refused.type, 'error', JSON.stringify(refused))
      assert.equal(refused.code, 'room_mention_too_large')
      const afterwards = (await call('GET', '/api/read', 'carol')).json.rooms.find(s => s.room === 'team')
      assert.deepEqual(afterwards, before)
      assert.ok((await metrics(server.base)).value('chat_limit_hits_total{kind="room_mention"}') >= 1)
    })

  it('a room\'s members are listed by name to its members only, in pages of at most --max-members-page', async () => {
    // team (the test above): alice, bob, carol and dave, one past a page.
    const first = await call('GET', '/api/rooms/team/members', 'carol')
    assert.equal(first.status, 200, first.text)
    assert.deepEqual(first.json, { members: ['alice', 'bob', 'carol'], has_more: true })
    const rest = await call('GET', '/api/rooms/team/members?after=carol&limit=3', 'carol')
    assert.deepEqual(rest.json, { members: ['dave'], has_more: false })

    const hitsBefore = (await metrics(server.base)).value('chat_limit_hits_total{kind="members_page"}') ?? 0
    const past = await call('GET', '/api/rooms/team/members?limit=4', 'carol')
    assert.equal(past.status, 400)
    assert.equal(past.json.error.code, 'bad_request')
    assert.equal((await metrics(server.base)).value('chat_limit_hits_total{kind="members_page"}'), hitsBefore + 1)

    const erin = await register(server.base, 'erin', PASSWORD)
    tokens.erin = erin.token
    const outsider = await call('GET', '/api/rooms/team/members', 'erin')
    assert.equal(outsider.status, 403)
    assert.equal(outsider.json.error.code, 'not_member')
    const nowhere = await call('GET', '/api/rooms/nowhere/members', 'erin')
    assert.equal(nowhere.status, 404)
    assert.equal(nowhere.json.error.code, 'room_not_found')
    // general: everyone who has connected.
    const general = await call('GET', '/api/rooms/general/members', 'erin')
    assert.equal(general.status, 200)
    assert.ok(general.json.members.includes('bob'), general.text)

    const config = (await http(server.base, 'GET', '/api/config')).json
    assert.equal(config.limits.max_room_mention_members, MAX_ROOM_MENTION)
    assert.equal(config.limits.max_members_page, MAX_MEMBERS_PAGE)
  })

  // Last: it restarts the server.
  it('notification levels: set over HTTP, told to every tab of the user, in the next welcome, forgotten on leaving', async () => {
    const tabA = await connect('carol')
    const tabB = await connect('carol')
    const bob = await connect('bob')
    assert.deepEqual(tabA.welcome.notify, {}, 'every room starts at its default')
    const dm = (await call('POST', '/api/dm/carol', 'bob')).json.name
    const set = await call('PUT', '/api/rooms/general/notify', 'carol', { level: 'muted' })
    assert.equal(set.status, 200, set.text)
    assert.deepEqual(set.json, { room: 'general', level: 'muted' })
    for (const tab of [tabA, tabB]) {
      assert.deepEqual(await tab.next(f => f.type === 'notify', 5000, 'notify on each tab'),
        { type: 'notify', room: 'general', level: 'muted' })
    }
    assert.deepEqual((await call('PUT', `/api/rooms/${encodeURIComponent(dm)}/notify`, 'carol', { level: 'mentions' })).json,
      { room: dm, level: 'mentions' })
    // A direct conversation's default (all) and general's (mentions) are not listed.
    assert.deepEqual((await connect('carol')).welcome.notify, { general: 'muted', [dm]: 'mentions' })
    await call('PUT', `/api/rooms/${encodeURIComponent(dm)}/notify`, 'carol', { level: 'all' })
    assert.deepEqual((await connect('carol')).welcome.notify, { general: 'muted' })
    assert.equal(bob.frames.some(f => f.type === 'notify'), false, 'another user is not told')

    // Refusals change nothing and have their codes; only three levels exist.
    const hitsBefore = (await metrics(server.base)).value('chat_limit_hits_total{kind="invalid_notify_level"}') ?? 0
    for (const body of [{ level: 'loud' }, { level: 'MUTED' }, {}, { level: null }]) {
      const bad = await call('PUT', '/api/rooms/general/notify', 'carol', body)
      assert.equal(bad.status, 400, bad.text)
      assert.equal(bad.json.error.code, 'invalid_notify_level')
    }
    assert.equal((await metrics(server.base)).value('chat_limit_hits_total{kind="invalid_notify_level"}'), hitsBefore + 4)
    assert.equal((await call('PUT', '/api/rooms/secret/notify', 'carol', { level: 'all' })).json.error.code, 'not_member')
    assert.equal((await call('PUT', '/api/rooms/nowhere/notify', 'carol', { level: 'all' })).status, 404)
    assert.equal((await http(server.base, 'PUT', '/api/rooms/general/notify', { level: 'all' })).status, 401)
    assert.deepEqual((await connect('carol')).welcome.notify, { general: 'muted' })

    // Leaving a room forgets its level: joining again starts from the default.
    assert.equal((await call('POST', '/api/rooms', 'carol', { name: 'quiet' })).status, 201)
    await call('PUT', '/api/rooms/quiet/notify', 'carol', { level: 'all' })
    assert.equal((await connect('carol')).welcome.notify.quiet, 'all')
    await call('POST', '/api/rooms/quiet/leave', 'carol')
    await call('POST', '/api/rooms/quiet/join', 'carol')
    assert.deepEqual((await connect('carol')).welcome.notify, { general: 'muted' })
  })

  it('read marks survive a restart', async () => {
    const bob = await connect('bob')
    const alice = await connect('alice')
    const read = await sendOk(bob, 'general', 'read before the restart')
    await mark(alice, { type: 'read', room: 'general', id: read.id })
    const unread = await sendOk(bob, 'general', 'unread across the restart')
    for (const s of sockets.splice(0)) s.terminate()
    await server.stop({ expectCode: 0 })
    server = await startChatd({ auth: 'password', args: ARGS, dbPath: server.dbPath, vhost: server.vhost })
    started.push(server)
    const welcome = (await connect('alice')).welcome
    assert.deepEqual(stateIn(welcome, 'general'), { room: 'general', last_read_id: read.id, unread: 1, as_of: unread.id, mentions: 0 })
    assert.deepEqual((await connect('carol')).welcome.notify, { general: 'muted' }, 'a notification level too')
  })
})
