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
