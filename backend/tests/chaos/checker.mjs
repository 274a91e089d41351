// The loss checker: a pure function from what the run recorded to a verdict. Definitions (also in
// docs/reliability.md, "What the checker counts"):
//
// Changes (edit, delete, react, unreact) are rows of the room's log like messages: "displayed"
// below means held (a visible message shown, a change received live or by a page and applied).
//
// lost        a message or change that was acked to its sender, or is in the room's stored
//             history at the end, and that a member of the room (every client is online and
//             resynced at the end) did not hold. One count per (member, row).
//             Also counted: an acked id that is not in the stored history ("acked but not
//             stored"); and a visible message whose folded state (content, edited time, deleted,
//             reactions, reply count and time) in a member's client differs from the store's at
//             the end (reactions compared as sets: who reacted with what, not in which order).
// duplicated  one client displayed the same sent message (sender, client_msg_id) under two ids,
//             or displayed one id twice; or one client_msg_id was acked with two different ids;
//             or the stored history holds one (sender, client_msg_id) twice.
// reordered   a room's stored history is not in ascending id order; or an acked message's id is
//             not above every id its sender had displayed in that room when it first sent it (a
//             reply sorting before what it answers); or two sends of one client in one room
//             that were never refused got ids in the other order than they were sent.
// unexpected  a client displayed a text message or held a change that no client sent (unknown
//             sender and client_msg_id), or whose room, kind, target or content differ from what
//             was sent (an edit's stored content is erased when its target is deleted).
//
// Information only: raw redeliveries (live frames repeating an id the client already had: the
// protocol allows them, the client drops them), live inversions (a live frame brought a new id
// below one already displayed: displayed in id order anyway), holes in a room's prev_id chain that
// a client fetched by itself without a reconnect (and how many of those fetches brought a message
// it lacked), messages the clients had only after the final resync, refusals by code.

import { foldedState, isChangeKind } from '../../../frontend/src/api/roomEvents.mjs'

// A folded state with its reactions as sets, so two orders of the same reactions compare equal.
function comparable (state) {
  const reactions = state.reactions
    .map(r => ({ emoji: r.emoji, users: [...r.users].sort() }))
    .sort((a, b) => (a.emoji < b.emoji ? -1 : a.emoji > b.emoji ? 1 : 0))
  return JSON.stringify({ ...state, reactions })
}

export function check ({ clients, stored, members, faults = [], beforeFinalSync = {} }) {
  const violations = { lost: [], duplicated: [], reordered: [], unexpected: [] }
  const sent = new Map() // `${user}\u0000${cmid}` -> { user, cmid, room, content, ack }
  let sends = 0
  let changesSent = 0
  let changesAcked = 0
  let acked = 0
  let duplicateAcks = 0
  let retransmissions = 0
  const refusals = {}
  for (const c of clients) {
    for (const [cmid, s] of Object.entries(c.sends)) {
      sends += 1
      if (isChangeKind(s.kind ?? 'text')) {
        changesSent += 1
        if (c.acks[cmid]) changesAcked += 1
      }
      retransmissions += Math.max(0, s.attempts - 1)
      sent.set(`${c.user}\u0000${cmid}`, { user: c.user, cmid, ...s, ack: c.acks[cmid] })
    }
    for (const [cmid, a] of Object.entries(c.acks)) {
      acked += 1
      if (a.duplicate) duplicateAcks += 1
      if (a.conflict !== undefined) {
        violations.duplicated.push({ what: 'one client_msg_id acked with two ids', user: c.user, cmid, ids: [a.id, a.conflict] })
      }
    }
    for (const e of c.errors) refusals[e.code] = (refusals[e.code] ?? 0) + 1
  }

  // The stored history: ascending ids, one row per (sender, client_msg_id).
  const storedIds = new Map() // room -> Set(id)
  const storedState = new Map() // room -> Map(id -> folded state of a visible message)
  for (const [room, messages] of Object.entries(stored)) {
    const ids = new Set()
    const states = new Map()
    storedState.set(room, states)
    const keys = new Map()
    let prev = 0
    for (const m of messages) {
      if (m.id <= prev) violations.reordered.push({ what: 'history not in ascending id order', room, id: m.id, after: prev })
      prev = m.id
      ids.add(m.id)
      if (!isChangeKind(m.kind ?? 'text')) states.set(m.id, foldedState(m))
      if (m.client_msg_id) {
        const key = `${m.user_name}\u0000${m.client_msg_id}`
        if (keys.has(key)) {
          violations.duplicated.push({ what: 'stored twice', room, user: m.user_name, cmid: m.client_msg_id, ids: [keys.get(key), m.id] })
        }
        keys.set(key, m.id)
      }
    }
    storedIds.set(room, ids)
  }

  // Per sender: acked ids against what was stored and against the order of sending.
  const refusedCmids = new Set()
  for (const c of clients) for (const e of c.errors) if (e.cmid) refusedCmids.add(`${c.user}\u0000${e.cmid}`)
  for (const c of clients) {
    const byRoom = new Map()
    for (const [cmid, s] of Object.entries(c.sends)) {
      const a = c.acks[cmid]
      if (!a) continue
      if (!storedIds.get(s.room)?.has(a.id)) {
        violations.lost.push({ what: 'acked but not stored', user: c.user, cmid, room: s.room, id: a.id })
      }
      if (a.id <= s.maxDisplayedAtSend) {
        violations.reordered.push({ what: 'id not above what its sender had displayed', user: c.user, cmid, room: s.room, id: a.id, displayedBefore: s.maxDisplayedAtSend })
      }
      if (!refusedCmids.has(`${c.user}\u0000${cmid}`)) {
        if (!byRoom.has(s.room)) byRoom.set(s.room, [])
        byRoom.get(s.room).push({ seq: s.seq, id: a.id, cmid })
      }
    }
    for (const [room, list] of byRoom) {
      list.sort((x, y) => x.seq - y.seq)
      for (let i = 1; i < list.length; i++) {
        if (list[i].id < list[i - 1].id) {
          violations.reordered.push({ what: 'sender order', user: c.user, room, earlier: list[i - 1], later: list[i] })
        }
      }
    }
  }

  const storedKinds = new Map() // id -> kind
  for (const messages of Object.values(stored)) for (const m of messages) storedKinds.set(m.id, m.kind ?? 'text')
  const sentKinds = new Map() // acked id -> kind
  for (const s of sent.values()) if (s.ack) sentKinds.set(s.ack.id, s.kind ?? 'text')

  // Per member: what it displayed against what it should have.
  let displayedTotal = 0
  let redeliveries = 0
  let liveInversions = 0
  let holeRepairs = 0
  let holesRepaired = 0
  let onlyAfterFinalSync = 0
  let notices = 0
  let changesHeld = 0
  for (const c of clients) {
    redeliveries += c.redeliveries
    liveInversions += c.liveInversions
    holeRepairs += c.holeRepairs ?? 0
    holesRepaired += c.holesRepaired ?? 0
    for (const [room, view] of Object.entries(c.rooms)) {
      const shown = view.messages
      const seenIds = new Set()
      for (const id of view.order) {
        if (seenIds.has(id)) violations.duplicated.push({ what: 'one id displayed twice', user: c.user, room, id })
        seenIds.add(id)
      }
      displayedTotal += seenIds.size
      const byKey = new Map()
      for (const [idText, m] of Object.entries(shown)) {
        const id = Number(idText)
        const kind = m.kind ?? 'text'
        if (kind === 'join' || kind === 'leave') { notices += 1; continue }
        const change = isChangeKind(kind)
        if (change) changesHeld += 1
        const key = `${m.user_name}\u0000${m.client_msg_id}`
        if (byKey.has(key)) {
          violations.duplicated.push({ what: 'one sent message displayed under two ids', user: c.user, room, sender: m.user_name, cmid: m.client_msg_id, ids: [byKey.get(key), id] })
        }
        byKey.set(key, id)
        const s = sent.get(key)
        if (!s) {
          violations.unexpected.push({ what: 'never sent', user: c.user, room, id, sender: m.user_name, cmid: m.client_msg_id })
        } else if (s.room !== room || (s.kind ?? 'text') !== kind ||
          (change && s.target !== m.target_id) ||
          (s.content !== m.content && !(kind === 'edit' && m.content === '') && !m.changed)) {
          violations.unexpected.push({ what: 'differs from what was sent', user: c.user, room, id, sentRoom: s.room, sentKind: s.kind ?? 'text', kind, sentContent: s.content, content: m.content })
        } else if (s.ack && s.ack.id !== id) {
          violations.duplicated.push({ what: 'displayed under another id than acked', user: c.user, room, id, acked: s.ack.id })
        }
      }
      const expected = new Set(storedIds.get(room) ?? [])
      for (const s of sent.values()) if (s.room === room && s.ack) expected.add(s.ack.id)
      const before = new Set(beforeFinalSync[c.user]?.[room] ?? [])
      for (const id of expected) {
        if (!seenIds.has(id)) {
          const change = isChangeKind(storedKinds.get(id) ?? sentKinds.get(id) ?? 'text')
          violations.lost.push({ what: change ? 'change not received by a member' : 'not displayed by a member', user: c.user, room, id })
        } else if (beforeFinalSync[c.user] && !before.has(id)) {
          onlyAfterFinalSync += 1
        }
      }
      // Every change held is not enough: applied in any order, they must give the store's state.
      // (A client without state records, from before changes existed, is not compared.)
      if (view.state) {
        for (const [id, want] of storedState.get(room) ?? []) {
          const got = view.state[id]
          if (got && comparable(got) !== comparable(want)) {
            violations.lost.push({ what: 'folded state differs from the store', user: c.user, room, id, client: got, store: want })
          }
        }
      }
    }
  }
  for (const [room, users] of Object.entries(members)) {
    for (const user of users) {
      const c = clients.find(x => x.user === user)
      if (c && !c.rooms[room]) violations.lost.push({ what: 'member has no view of the room', user, room })
    }
  }

  const counts = Object.fromEntries(Object.entries(violations).map(([k, v]) => [k, v.length]))
  const storedTotal = [...storedIds.values()].reduce((n, s) => n + s.size, 0)
  return {
    ok: Object.values(counts).every(n => n === 0),
    counts,
    figures: {
      clients: clients.length,
      sends,
      acked,
      changesSent,
      changesAcked,
      changesHeld,
      unacked: clients.reduce((n, c) => n + c.unacked.length, 0),
      duplicateAcks,
      retransmissions,
      refusals,
      stored: storedTotal,
      displayed: displayedTotal,
      notices,
      redeliveries,
      liveInversions,
      holeRepairs,
      holesRepaired,
      onlyAfterFinalSync,
      connects: clients.reduce((n, c) => n + c.connects, 0),
      drops: clients.reduce((n, c) => n + c.drops, 0),
      faults: faults.length
    },
    faults,
    violations: Object.fromEntries(Object.entries(violations).map(([k, v]) => [k, v.slice(0, 50)]))
  }
}

export function summary (result) {
  const f = result.figures
  const lines = []
  lines.push(`chaos: ${result.ok ? 'PASS' : 'FAIL'}  lost ${result.counts.lost}  duplicated ${result.counts.duplicated}  ` +
    `reordered ${result.counts.reordered}  unexpected ${result.counts.unexpected}`)
  lines.push(`  changes (edit, delete, react, unreact): sent ${f.changesSent}, acked ${f.changesAcked}, held by members ${f.changesHeld}`)
  lines.push(`  clients ${f.clients}, sends ${f.sends}, acked ${f.acked} (duplicate acks ${f.duplicateAcks}), unacked at end ${f.unacked}, ` +
    `retransmissions ${f.retransmissions}, refusals ${JSON.stringify(f.refusals)}`)
  lines.push(`  stored ${f.stored}, displayed ${f.displayed} (notices ${f.notices}), raw redeliveries ${f.redeliveries}, ` +
    `live inversions ${f.liveInversions}, only after the final resync ${f.onlyAfterFinalSync}, connects ${f.connects}, drops ${f.drops}`)
  lines.push(`  holes fetched without a reconnect ${f.holeRepairs} (bringing a missing message: ${f.holesRepaired})`)
  lines.push(`  faults ${f.faults}:`)
  for (const x of result.faults) {
    lines.push(`    ${(x.start / 1000).toFixed(1)}s-${(x.end / 1000).toFixed(1)}s ${x.kind}${x.target ? ' ' + x.target : ''}${x.note ? ' (' + x.note + ')' : ''}`)
  }
  for (const [kind, list] of Object.entries(result.violations)) {
    for (const v of list.slice(0, 5)) lines.push(`  ${kind}: ${JSON.stringify(v)}`)
  }
  return lines.join('\n')
}
