// Room events over the native API (docs/protocol.md, "Room events"): edits, deletes, reactions and
// replies as rows of the room's log over /ws, acked and delivered to another member, every refusal
// with its code and nothing stored changed, folded history pages with as_of, after= bringing the
// changes, one message and a thread's replies over HTTP, and the brief's /receive seeing none of
// the changes. CHATD_TEST_STORE=postgresql runs it against PostgreSQL instead of SQLite.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import {
  fetchAfter, http, isMessage, nativeConnect, newCmid, newDatabase, register, sendOk, startChatd,
  waitFor, wsConnect
} from './lib/chatd.mjs'

const PASSWORD = 'correct horse battery'
const THUMBS = '\u{1F44D}'
const PARTY = '\u{1F389}'
const HEART = '\u2764\uFE0F'
const EDIT_WINDOW_SECONDS = 2
const MAX_REACTIONS = 2

describe('room events (edit, delete, react, unreact, replies)', () => {
  let server
  const tokens = {}
  const sockets = {}
  const get = (path, user) => http(server.base, 'GET', path, undefined, tokens[user])
  const errorCode = res => res.json?.error?.code

  // Sends one frame that stores something and resolves with its ack or error.
  async function request (user, frame) {
    const cmid = newCmid(user)
    sockets[user].send({ ...frame, client_msg_id: cmid })
    return sockets[user].next(f => (f.type === 'ack' || f.type === 'error') && f.client_msg_id === cmid,
      5000, `ack/error for ${cmid}`)
  }
  const change = (user, type, id, extra = {}, room = 'general') => request(user, { type, room, id, ...extra })
  const reply = (user, parent, content, room = 'general') =>
    request(user, { type: 'send', room, content, reply_to: parent })

  async function changeOk (user, type, id, extra, room) {
    const ack = await change(user, type, id, extra, room)
    assert.equal(ack.type, 'ack', JSON.stringify(ack))
    return ack
  }

  // The live frame of stored row `id` at `user`'s socket.
  const liveFrame = (user, id) => sockets[user].next(isMessage(m => m.id === id), 5000, `message ${id} for ${user}`)

  const message = async (id, user = 'alice', room = 'general') => {
    const res = await get(`/api/rooms/${room}/messages/${id}`, user)
    assert.equal(res.status, 200, res.text)
    return res.json
  }
  const newest = async (user = 'alice', room = 'general', query = '') => {
    const res = await get(`/api/rooms/${room}/messages?limit=500${query}`, user)
    assert.equal(res.status, 200, res.text)
    return res.json
  }

  before(async () => {
    const dbPath = process.env.CHATD_TEST_STORE === 'postgresql' ? newDatabase() : undefined
    server = await startChatd({
      auth: 'password',
      dbPath,
      args: ['--rate-per-second', '10000', '--rate-burst', '10000',
        '--edit-window-seconds', String(EDIT_WINDOW_SECONDS),
        '--max-reactions-per-message', String(MAX_REACTIONS)]
    })
    for (const name of ['alice', 'bob', 'carol']) {
      const res = await register(server.base, name, PASSWORD)
      assert.equal(res.status, 201, res.text)
      tokens[name] = res.token
      sockets[name] = await nativeConnect(server, res.token)
    }
  })

  after(async () => {
    for (const s of Object.values(sockets)) s.terminate()
    try {
      await server?.stop({ expectCode: 0 })
    } finally {
      server?.cleanup()
    }
  })

  it('an edit is acked, reaches another member as an edit row and folds into history', async () => {
    const sent = await sendOk(sockets.alice, 'general', 'hi everyone')
    await liveFrame('bob', sent.id)
    const ack = await changeOk('alice', 'edit', sent.id, { content: 'hi all' })
    assert.equal(ack.duplicate, false)
    assert.ok(ack.id > sent.id)
    const { message: edit } = await liveFrame('bob', ack.id)
    assert.equal(edit.kind, 'edit')
    assert.equal(edit.target_id, sent.id)
    assert.equal(edit.content, 'hi all')
    assert.equal(edit.user_name, 'alice')
    assert.equal(edit.prev_id, sent.id)
    await liveFrame('alice', ack.id)

    const one = await message(sent.id, 'bob')
    assert.equal(one.message.content, 'hi all')
    assert.equal(one.message.edited_ts, ack.ts)
    assert.equal(one.as_of, ack.id)
    const page = await newest('bob')
    assert.equal(page.as_of, ack.id)
    assert.ok(page.messages.every(m => ['text', 'join', 'leave'].includes(m.kind)), 'a newest page has no change rows')
    assert.equal(page.messages.find(m => m.id === sent.id).content, 'hi all')
  })

  it('reactions are added and removed per user, a repeat changes nothing, and pages fold them', async () => {
    const sent = await sendOk(sockets.alice, 'general', 'react to me')
    const first = await changeOk('bob', 'react', sent.id, { emoji: THUMBS })
    const { message: react } = await liveFrame('alice', first.id)
    assert.equal(react.kind, 'react')
    assert.equal(react.content, THUMBS)
    assert.equal(react.target_id, sent.id)
    await changeOk('carol', 'react', sent.id, { emoji: THUMBS })
    await changeOk('bob', 'react', sent.id, { emoji: THUMBS })
    assert.deepEqual((await message(sent.id)).message.reactions, [{ emoji: THUMBS, users: ['bob', 'carol'] }])

    const removed = await changeOk('bob', 'unreact', sent.id, { emoji: THUMBS })
    const { message: unreact } = await liveFrame('carol', removed.id)
    assert.equal(unreact.kind, 'unreact')
    const folded = await newest('alice')
    assert.deepEqual(folded.messages.find(m => m.id === sent.id).reactions, [{ emoji: THUMBS, users: ['carol'] }])
    assert.equal(folded.as_of, removed.id)
  })

  it('a reply names its root, a reply to a reply joins the same thread, and the root counts them', async () => {
    const root = await sendOk(sockets.alice, 'general', 'thread root')
    const first = await reply('bob', root.id, 'first answer')
    assert.equal(first.type, 'ack', JSON.stringify(first))
    const { message: live } = await liveFrame('alice', first.id)
    assert.equal(live.kind, 'text')
    assert.equal(live.reply_to, root.id)
    const second = await reply('carol', first.id, 'answering the answer')
    assert.equal((await liveFrame('alice', second.id)).message.reply_to, root.id, 'threads are one level deep')

    const folded = (await message(root.id)).message
    assert.equal(folded.reply_count, 2)
    assert.equal(folded.last_reply_ts, second.ts)
    const thread = await get(`/api/rooms/general/messages/${root.id}/replies`, 'bob')
    assert.equal(thread.status, 200, thread.text)
    assert.deepEqual(thread.json.messages.map(m => m.id), [first.id, second.id])
    assert.equal(thread.json.has_more, false)
    assert.equal(thread.json.as_of, second.id)
    const paged = await get(`/api/rooms/general/messages/${root.id}/replies?limit=1`, 'bob')
    assert.deepEqual(paged.json.messages.map(m => m.id), [second.id])
    assert.equal(paged.json.has_more, true)
    const older = await get(`/api/rooms/general/messages/${root.id}/replies?before=${second.id}&limit=1`, 'bob')
    assert.deepEqual(older.json.messages.map(m => m.id), [first.id])
    assert.equal(older.json.has_more, false)

    // Deleting a reply counts it off its root; the delete row names the root.
    const deleted = await changeOk('bob', 'delete', first.id)
    const { message: deleteRow } = await liveFrame('carol', deleted.id)
    assert.equal(deleteRow.kind, 'delete')
    assert.equal(deleteRow.target_id, first.id)
    assert.equal(deleteRow.reply_to, root.id)
    assert.equal((await message(root.id)).message.reply_count, 1)
  })

  it('a delete leaves a tombstone whose text is gone from every read, edits included', async () => {
    const sent = await sendOk(sockets.alice, 'general', 'a secret')
    const edit = await changeOk('alice', 'edit', sent.id, { content: 'an edited secret' })
    await changeOk('bob', 'react', sent.id, { emoji: PARTY })
    const deleted = await changeOk('alice', 'delete', sent.id)
    const { message: row } = await liveFrame('bob', deleted.id)
    assert.equal(row.kind, 'delete')
    assert.equal(row.content, '')

    const tombstone = (await message(sent.id, 'carol')).message
    assert.equal(tombstone.deleted, true)
    assert.equal(tombstone.content, '')
    assert.equal(tombstone.reactions, undefined)
    const rows = await fetchAfter(server.base, tokens.carol, 'general', sent.id - 1)
    const editRow = rows.find(m => m.id === edit.id)
    assert.equal(editRow.kind, 'edit')
    assert.equal(editRow.content, '', 'the edit row keeps no text of a deleted message')
    assert.ok(!JSON.stringify(rows).includes('secret'), JSON.stringify(rows))
  })

  it('after= pages bring every change row in order, and the last page has as_of', async () => {
    const sent = await sendOk(sockets.bob, 'general', 'resync me')
    const mark = sent.id
    const edit = await changeOk('bob', 'edit', sent.id, { content: 'resynced' })
    const react = await changeOk('alice', 'react', sent.id, { emoji: THUMBS })
    const answer = await reply('carol', sent.id, 'a reply')
    const res = await get(`/api/rooms/general/messages?after=${mark}&limit=2`, 'carol')
    assert.equal(res.status, 200, res.text)
    assert.deepEqual(res.json.messages.map(m => [m.id, m.kind]), [[edit.id, 'edit'], [react.id, 'react']])
    assert.equal(res.json.has_more, true)
    const rest = await get(`/api/rooms/general/messages?after=${react.id}&limit=2`, 'carol')
    assert.deepEqual(rest.json.messages.map(m => m.id), [answer.id])
    assert.equal(rest.json.has_more, false)
    assert.equal(rest.json.as_of, answer.id)
    assert.equal(rest.json.messages[0].reply_to, sent.id)
  })

  it('every refusal has its own code, carries the client_msg_id and stores nothing', async () => {
    await http(server.base, 'POST', '/api/rooms', { name: 'private' }, tokens.bob)
    await sockets.bob.next(f => f.type === 'membership' && f.room === 'private', 5000)
    const foreign = await sendOk(sockets.bob, 'private', 'members only')
    const mine = await sendOk(sockets.alice, 'general', 'alice wrote this')
    const gone = await sendOk(sockets.alice, 'general', 'to be deleted')
    await changeOk('alice', 'delete', gone.id)
    const asOf = (await newest()).as_of
    const snapshot = (await message(mine.id)).message

    const cases = [
      ['not_author', () => change('bob', 'edit', mine.id, { content: 'hijacked' })],
      ['not_author', () => change('bob', 'delete', mine.id)],
      ['message_not_found', () => change('alice', 'edit', asOf + 1000, { content: 'x' })],
      ['message_not_found', () => change('alice', 'react', foreign.id, { emoji: THUMBS })],
      ['message_not_found', () => reply('alice', foreign.id, 'across rooms')],
      ['message_not_found', () => change('alice', 'edit', asOf, { content: 'a change is no message' })],
      ['message_deleted', () => change('alice', 'edit', gone.id, { content: 'back' })],
      ['message_deleted', () => change('alice', 'delete', gone.id)],
      ['message_deleted', () => change('bob', 'react', gone.id, { emoji: THUMBS })],
      ['message_deleted', () => reply('bob', gone.id, 'too late')],
      ['not_member', () => change('alice', 'react', foreign.id, { emoji: THUMBS }, 'private')],
      ['not_member', () => reply('alice', foreign.id, 'let me in', 'private')],
      ['empty_message', () => change('alice', 'edit', mine.id, { content: '  \n ' })],
      ['empty_message', () => request('alice', { type: 'send', room: 'general', content: '\u3000' })],
      ['message_too_long', () => change('alice', 'edit', mine.id, { content: 'x'.repeat(4001) })],
      ['invalid_reaction', () => change('bob', 'react', mine.id, { emoji: 'x'.repeat(10 * 1024) })],
      ['invalid_reaction', () => change('bob', 'react', mine.id, { emoji: THUMBS + THUMBS })],
      ['invalid_reaction', () => change('bob', 'unreact', mine.id, { emoji: 'ok' })],
      ['bad_request', () => change('alice', 'edit', 'forty-one', { content: 'x' })],
      ['bad_request', () => reply('alice', -3, 'x')]
    ]
    for (const [code, attempt] of cases) {
      const answer = await attempt()
      assert.equal(answer.type, 'error', `${code}: ${JSON.stringify(answer)}`)
      assert.equal(answer.code, code, JSON.stringify(answer))
    }
    assert.equal((await newest()).as_of, asOf, 'nothing was stored in general')
    assert.deepEqual((await message(mine.id)).message, snapshot)
    assert.equal((await newest('bob', 'private')).as_of, foreign.id, 'nothing was stored in private')
    // Nothing reached the other members: the next frame bob sees is this marker.
    const marker = await sendOk(sockets.carol, 'general', 'marker')
    const next = await sockets.bob.next(isMessage(m => m.room === 'general' && m.id > asOf), 5000)
    assert.equal(next.message.id, marker.id, JSON.stringify(next))
  })

  it('a new emoji past --max-reactions-per-message is too_many_reactions; a held one is still accepted', async () => {
    const sent = await sendOk(sockets.alice, 'general', 'popular')
    await changeOk('bob', 'react', sent.id, { emoji: THUMBS })
    await changeOk('bob', 'react', sent.id, { emoji: PARTY })
    const refused = await change('carol', 'react', sent.id, { emoji: HEART })
    assert.equal(refused.code, 'too_many_reactions', JSON.stringify(refused))
    await changeOk('carol', 'react', sent.id, { emoji: PARTY })
    assert.deepEqual((await message(sent.id)).message.reactions,
      [{ emoji: THUMBS, users: ['bob'] }, { emoji: PARTY, users: ['bob', 'carol'] }])
  })

  it('an edit or delete past --edit-window-seconds is edit_window_closed', async () => {
    const sent = await sendOk(sockets.alice, 'general', 'quick, fix me')
    const windowEnd = sent.ts + EDIT_WINDOW_SECONDS * 1000
    // The server's clock is this machine's: wait until the window has passed by its ts.
    await waitFor(() => Date.now() > windowEnd + 50, { timeoutMs: 5000, what: 'the edit window to pass' })
    for (const [type, extra] of [['edit', { content: 'too late' }], ['delete', {}]]) {
      const answer = await change('alice', type, sent.id, extra)
      assert.equal(answer.code, 'edit_window_closed', JSON.stringify(answer))
    }
    assert.equal((await message(sent.id)).message.content, 'quick, fix me')
    // Reactions and replies have no window.
    await changeOk('bob', 'react', sent.id, { emoji: THUMBS })
  })

  it('a retried change is stored once and acked as a duplicate', async () => {
    const sent = await sendOk(sockets.alice, 'general', 'retry my edit')
    const cmid = newCmid('retry')
    const frame = { type: 'edit', room: 'general', id: sent.id, content: 'edited once', client_msg_id: cmid }
    sockets.alice.send(frame)
    const first = await sockets.alice.next(f => f.type === 'ack' && f.client_msg_id === cmid)
    sockets.alice.send(frame)
    const second = await sockets.alice.next(f => f.type === 'ack' && f.client_msg_id === cmid)
    assert.equal(second.id, first.id)
    assert.equal(second.duplicate, true)
    const rows = await fetchAfter(server.base, tokens.bob, 'general', sent.id)
    assert.equal(rows.filter(m => m.kind === 'edit' && m.target_id === sent.id).length, 1)
  })

  it('GET one message or its replies: 404 message_not_found, 403 not_member, 404 room_not_found, 400 bad_request', async () => {
    const sent = await sendOk(sockets.alice, 'general', 'look me up')
    const edit = await changeOk('alice', 'edit', sent.id, { content: 'looked up' })
    const foreign = await sendOk(sockets.bob, 'private', 'still private')
    for (const suffix of ['', '/replies']) {
      const expectations = [
        [`/api/rooms/general/messages/${edit.id}${suffix}`, 404, 'message_not_found'],
        [`/api/rooms/general/messages/${foreign.id}${suffix}`, 404, 'message_not_found'],
        [`/api/rooms/private/messages/${foreign.id}${suffix}`, 403, 'not_member'],
        [`/api/rooms/nowhere/messages/${sent.id}${suffix}`, 404, 'room_not_found'],
        [`/api/rooms/general/messages/0${suffix}`, 400, 'bad_request'],
        [`/api/rooms/general/messages/abc${suffix}`, 400, 'bad_request']
      ]
      for (const [path, status, code] of expectations) {
        const res = await get(path, 'alice')
        assert.equal(res.status, status, `${path}: ${res.text}`)
        assert.equal(errorCode(res), code, `${path}: ${res.text}`)
      }
    }
    const unauthorized = await http(server.base, 'GET', `/api/rooms/general/messages/${sent.id}`)
    assert.equal(unauthorized.status, 401, unauthorized.text)
    assert.equal((await get(`/api/rooms/private/messages/${foreign.id}`, 'bob')).status, 200)
    const replies = await get(`/api/rooms/general/messages/${sent.id}/replies`, 'carol')
    assert.equal(replies.status, 200, replies.text)
    assert.deepEqual(replies.json.messages, [])
    assert.equal(replies.json.has_more, false)
  })

  it("the brief's /receive gets replies as plain frames and nothing of edits, deletes or reactions", async () => {
    const seed = await wsConnect(`${server.wsBase}/receive/carol?token=${encodeURIComponent(tokens.carol)}`)
    try {
      const sent = await sendOk(sockets.alice, 'general', 'seen by /receive')
      const first = await seed.next(() => true, 5000, 'the message')
      assert.deepEqual(first, { content: 'seen by /receive', user_name: 'alice', sent_at: sent.sent_at })
      await changeOk('alice', 'edit', sent.id, { content: 'edited' })
      await changeOk('bob', 'react', sent.id, { emoji: THUMBS })
      await changeOk('bob', 'unreact', sent.id, { emoji: THUMBS })
      const answer = await reply('bob', sent.id, 'a reply')
      await changeOk('alice', 'delete', sent.id)
      const marker = await sendOk(sockets.alice, 'general', 'the end')
      const second = await seed.next(() => true, 5000, 'the reply')
      assert.deepEqual(second, { content: 'a reply', user_name: 'bob', sent_at: answer.sent_at })
      const third = await seed.next(() => true, 5000, 'the marker')
      assert.deepEqual(third, { content: 'the end', user_name: 'alice', sent_at: marker.sent_at })
      assert.equal(seed.all.length, 3, JSON.stringify(seed.all))
    } finally {
      seed.terminate()
    }
  })
})
