// The checker on hand-made histories: a clean one passes, and each kind of violation is found.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { check } from './checker.mjs'

const msg = (id, user, seq, room = 'general') =>
  ({ id, room, user_name: user, client_msg_id: `${user}-${seq}`, content: `m ${user} ${seq} ${room}`, kind: 'text' })

function client (user, sent, shown, extra = {}) {
  const sends = {}
  const acks = {}
  for (const [seq, id, maxDisplayedAtSend = 0] of sent) {
    sends[`${user}-${seq}`] = { room: 'general', content: `m ${user} ${seq} general`, t: 0, seq, maxDisplayedAtSend, attempts: 1 }
    if (id !== null) acks[`${user}-${seq}`] = { id, duplicate: false, t: 0 }
  }
  const messages = {}
  for (const m of shown) messages[m.id] = { ...m, via: 'live', conn: 1, t: 0 }
  return {
    user,
    rooms: { general: { order: shown.map(m => m.id), messages } },
    sends,
    acks,
    unacked: [],
    errors: [],
    redeliveries: 0,
    liveInversions: 0,
    connects: 1,
    drops: 0,
    ...extra
  }
}

const members = { general: ['a', 'b'] }
const history = [msg(1, 'a', 1), msg(2, 'b', 1), msg(3, 'a', 2)]

function clean () {
  return {
    clients: [
      client('a', [[1, 1], [2, 3, 2]], history),
      client('b', [[1, 2, 1]], history)
    ],
    stored: { general: history },
    members
  }
}

test('a clean history passes', () => {
  const r = check(clean())
  assert.deepEqual(r.counts, { lost: 0, duplicated: 0, reordered: 0, unexpected: 0 })
  assert.equal(r.ok, true)
  assert.equal(r.figures.sends, 3)
  assert.equal(r.figures.acked, 3)
})

test('a message acked but not displayed by a member is lost', () => {
  const h = clean()
  h.clients[1] = client('b', [[1, 2, 1]], [history[0], history[1]])
  const r = check(h)
  assert.equal(r.counts.lost, 1)
  assert.deepEqual(r.violations.lost[0], { what: 'not displayed by a member', user: 'b', room: 'general', id: 3 })
})

test('an acked id missing from the store is lost', () => {
  const h = clean()
  h.stored.general = history.slice(0, 2)
  const r = check(h)
  assert.ok(r.violations.lost.some(v => v.what === 'acked but not stored' && v.id === 3))
})

test('one sent message under two ids is duplicated', () => {
  const h = clean()
  const again = { ...msg(4, 'a', 2) }
  h.stored.general = [...history, again]
  h.clients[1] = client('b', [[1, 2, 1]], [...history, again])
  h.clients[0] = client('a', [[1, 1], [2, 3, 2]], [...history, again])
  const r = check(h)
  assert.ok(r.counts.duplicated >= 1)
  assert.ok(r.violations.duplicated.some(v => v.what === 'stored twice'))
  assert.ok(r.violations.duplicated.some(v => v.what === 'one sent message displayed under two ids'))
})

test('an id below what the sender had displayed is reordered', () => {
  const h = clean()
  // b sent after displaying id 3, yet got id 2.
  h.clients[1] = client('b', [[1, 2, 3]], history)
  const r = check(h)
  assert.equal(r.counts.reordered, 1)
  assert.equal(r.violations.reordered[0].what, 'id not above what its sender had displayed')
})

test('two sends of one client stored in the other order are reordered', () => {
  const h = clean()
  const swapped = [msg(1, 'a', 2), msg(2, 'b', 1), msg(3, 'a', 1)]
  h.stored.general = swapped
  h.clients = [client('a', [[1, 3], [2, 1]], swapped), client('b', [[1, 2]], swapped)]
  const r = check(h)
  assert.ok(r.violations.reordered.some(v => v.what === 'sender order'))
})

test('a history out of id order is reordered', () => {
  const h = clean()
  h.stored.general = [history[1], history[0], history[2]]
  const r = check(h)
  assert.ok(r.violations.reordered.some(v => v.what === 'history not in ascending id order'))
})

test('a message nobody sent, or changed, is unexpected', () => {
  const h = clean()
  const forged = msg(4, 'mallory', 1)
  const changed = { ...history[2], content: 'changed' }
  h.clients[1] = client('b', [[1, 2, 1]], [history[0], history[1], changed, forged])
  const r = check(h)
  assert.equal(r.counts.unexpected, 2)
  assert.deepEqual(r.violations.unexpected.map(v => v.what).sort(), ['differs from what was sent', 'never sent'])
})

test('a message a page brought already edited or deleted is not unexpected for its content', () => {
  const h = clean()
  const edited = { ...history[2], content: 'm a 2 general, edited', changed: true }
  h.clients[1] = client('b', [[1, 2, 1]], [history[0], history[1], edited])
  assert.equal(check(h).counts.unexpected, 0)
  const deleted = { ...history[2], content: '', changed: true }
  h.clients[1] = client('b', [[1, 2, 1]], [history[0], history[1], deleted])
  assert.equal(check(h).counts.unexpected, 0)
})

// --- changes: edits, deletes and reactions are rows of the room's log like messages ----------

const change = (id, user, seq, kind, target, content = '') =>
  ({ id, room: 'general', user_name: user, client_msg_id: `${user}-${seq}`, content, kind, target_id: target })
const state = (content, extra = {}) =>
  ({ content, edited_ts: 0, deleted: false, reactions: [], reply_count: 0, last_reply_ts: 0, ...extra })

// a sends 1 and 3; b sends 2; then a edits 1 (id 4), b reacts to 3 (id 5), a deletes 3 (id 6).
const changed = [
  msg(1, 'a', 1), msg(2, 'b', 1), msg(3, 'a', 2),
  change(4, 'a', 3, 'edit', 1, 'm a 1 edited'),
  change(5, 'b', 2, 'react', 3, '👍'),
  change(6, 'a', 4, 'delete', 3)
]
// The store's answer at the end: visible rows folded, change rows as stored.
const storedChanged = [
  { ...msg(1, 'a', 1), content: 'm a 1 edited', edited_ts: 40 },
  msg(2, 'b', 1),
  { ...msg(3, 'a', 2), content: '', deleted: true },
  ...changed.slice(3)
]
const finalState = {
  1: state('m a 1 edited', { edited_ts: 40 }),
  2: state('m b 1 general'),
  3: state('', { deleted: true })
}

function changeClient (user, sent, shown, folded = finalState) {
  const c = client(user, [], shown)
  for (const [seq, id, kind, target, content] of sent) {
    const cmid = `${user}-${seq}`
    c.sends[cmid] = { room: 'general', content, kind, target, t: 0, seq, maxDisplayedAtSend: 0, attempts: 1 }
    c.acks[cmid] = { id, duplicate: false, t: 0 }
  }
  c.rooms.general.state = folded
  return c
}

const aSent = [[1, 1, 'text', 0, 'm a 1 general'], [2, 3, 'text', 0, 'm a 2 general'],
  [3, 4, 'edit', 1, 'm a 1 edited'], [4, 6, 'delete', 3, '']]
const bSent = [[1, 2, 'text', 0, 'm b 1 general'], [2, 5, 'react', 3, '👍']]

function cleanWithChanges () {
  return {
    clients: [changeClient('a', aSent, changed), changeClient('b', bSent, changed)],
    stored: { general: storedChanged },
    members
  }
}

test('a clean history with edits, deletes and reactions passes', () => {
  const r = check(cleanWithChanges())
  assert.deepEqual(r.counts, { lost: 0, duplicated: 0, reordered: 0, unexpected: 0 })
  assert.equal(r.figures.changesSent, 3)
  assert.equal(r.figures.changesAcked, 3)
  assert.equal(r.figures.changesHeld, 6)
})

test('an acked change a member never received is lost, and so is the state it left behind', () => {
  const h = cleanWithChanges()
  // b never got the edit: its message 1 still shows the old content.
  const stale = { ...finalState, 1: state('m a 1 general') }
  h.clients[1] = changeClient('b', bSent, changed.filter(m => m.id !== 4), stale)
  const r = check(h)
  assert.equal(r.ok, false)
  assert.deepEqual(r.violations.lost.map(v => v.what).sort(),
    ['change not received by a member', 'folded state differs from the store'])
  assert.deepEqual(r.violations.lost.find(v => v.what === 'change not received by a member'),
    { what: 'change not received by a member', user: 'b', room: 'general', id: 4 })
  assert.equal(r.violations.lost.find(v => v.what === 'folded state differs from the store').id, 1)
})

test('a change received but whose fold differs from the store is lost', () => {
  const h = cleanWithChanges()
  // a held every row, but shows its deleted message with a reaction (applied after the delete).
  const wrong = { ...finalState, 3: state('', { deleted: true, reactions: [{ emoji: '👍', users: ['b'] }] }) }
  h.clients[0] = changeClient('a', aSent, changed, wrong)
  const r = check(h)
  assert.equal(r.counts.lost, 1)
  assert.equal(r.violations.lost[0].what, 'folded state differs from the store')
})

test('reactions compare as sets: the order of emoji and users does not matter', () => {
  const h = cleanWithChanges()
  const reactions = [{ emoji: '👍', users: ['a', 'b'] }, { emoji: '🎉', users: ['b'] }]
  h.stored.general = storedChanged.map(m => m.id === 2 ? { ...m, reactions } : m)
  const swapped = { ...finalState, 2: state('m b 1 general', { reactions: [{ emoji: '🎉', users: ['b'] }, { emoji: '👍', users: ['b', 'a'] }] }) }
  h.clients = [changeClient('a', aSent, changed, swapped), changeClient('b', bSent, changed, swapped)]
  assert.equal(check(h).ok, true)
})

test('a change on another target or of another kind than sent is unexpected', () => {
  const h = cleanWithChanges()
  const retargeted = changed.map(m => m.id === 5 ? { ...m, target_id: 1 } : m)
  h.clients[0] = changeClient('a', aSent, retargeted)
  const r = check(h)
  assert.equal(r.counts.unexpected, 1)
  assert.equal(r.violations.unexpected[0].id, 5)
})

test('an edit whose content the delete of its target erased is what was sent', () => {
  const h = cleanWithChanges()
  const erased = changed.map(m => m.id === 4 ? { ...m, content: '' } : m)
  h.clients[1] = changeClient('b', bSent, erased)
  assert.equal(check(h).ok, true)
})
