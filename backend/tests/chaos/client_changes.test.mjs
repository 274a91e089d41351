// The chaos client and the checker together, without a server: frames are handed to the real
// client as its socket would, and one change is lost on the way to one member and never repaired.
// The checker must report it as lost, exactly like a lost message.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ChaosClient } from './client.mjs'
import { check } from './checker.mjs'

const row = (id, prev, user, seq, kind, extra = {}) => ({
  id, prev_id: prev, room: 'general', user_name: user, client_msg_id: `${user}-${seq}`,
  content: kind === 'text' ? `m ${user} ${seq} general` : '', ts: 1000 + id, kind, ...extra
})

function offlineClient (user) {
  const c = new ChaosClient({ user, token: 't', nodes: [], rooms: ['general'], clock: () => 0, log: () => {} })
  c.welcomed = true // as after a welcome; no socket: frames are handed in below
  return c
}

// alice sends 1, bob reacts to it (2), alice edits it (3), bob sends 4; bob deletes nothing.
const frames = [
  row(1, 0, 'alice', 1, 'text'),
  row(2, 1, 'bob', 1, 'react', { content: '👍', target_id: 1 }),
  row(3, 2, 'alice', 2, 'edit', { content: 'm alice 1 edited', target_id: 1 }),
  row(4, 3, 'bob', 2, 'text')
]
const acks = { alice: { 'alice-1': 1, 'alice-2': 3 }, bob: { 'bob-1': 2, 'bob-2': 4 } }
const sends = {
  alice: { 'alice-1': ['text', 0, 'm alice 1 general'], 'alice-2': ['edit', 1, 'm alice 1 edited'] },
  bob: { 'bob-1': ['react', 1, '👍'], 'bob-2': ['text', 0, 'm bob 2 general'] }
}
const stored = [
  { ...frames[0], content: 'm alice 1 edited', edited_ts: 1003, reactions: [{ emoji: '👍', users: ['bob'] }] },
  ...frames.slice(1)
]

function run (lose) {
  const clients = [offlineClient('alice'), offlineClient('bob')]
  for (const c of clients) {
    for (const [cmid, [kind, target, content]] of Object.entries(sends[c.user])) {
      c.sends.set(cmid, { room: 'general', content, kind, target, t: 0, seq: Number(cmid.split('-')[1]), maxDisplayedAtSend: 0, attempts: 1 })
    }
    for (const [cmid, id] of Object.entries(acks[c.user])) c.acks.set(cmid, { id, duplicate: false, t: 0 })
    for (const f of frames) {
      if (lose && c.user === 'bob' && f.id === 3) continue
      c.onFrame({ type: 'message', message: f }, c.generation)
    }
  }
  const records = clients.map(c => { c.stop(); return c.record() })
  return check({ clients: records, stored: { general: stored }, members: { general: ['alice', 'bob'] } })
}

test('every change held and applied: the run passes', () => {
  const r = run(false)
  assert.deepEqual(r.counts, { lost: 0, duplicated: 0, reordered: 0, unexpected: 0 })
  assert.equal(r.figures.changesHeld, 4)
})

test('an edit lost on its way to one member is reported lost, with the state it left', () => {
  const r = run(true)
  assert.equal(r.ok, false)
  assert.deepEqual(r.violations.lost, [
    { what: 'change not received by a member', user: 'bob', room: 'general', id: 3 },
    {
      what: 'folded state differs from the store',
      user: 'bob',
      room: 'general',
      id: 1,
      client: { content: 'm alice 1 general', edited_ts: 0, deleted: false, reactions: [{ emoji: '👍', users: ['bob'] }], reply_count: 0, last_reply_ts: 0 },
      store: { content: 'm alice 1 edited', edited_ts: 1003, deleted: false, reactions: [{ emoji: '👍', users: ['bob'] }], reply_count: 0, last_reply_ts: 0 }
    }
  ])
})
