import { describe, expect, it } from 'vitest'
import {
  applyEvent,
  applyEvents,
  concerns,
  foldedState,
  hold,
  isChangeKind,
  isVisibleKind,
  refreshSnapshot,
  rememberEvent,
  RoomEvents,
  type RoomEvent,
} from '../roomEvents.mjs'
import { pageMark, RoomChain } from '../roomChain.mjs'

const TS = 1_700_000_000_000

function text(id: number, user = 'alice', content = `m${id}`, reply_to?: number): RoomEvent {
  const m: RoomEvent = { id, kind: 'text', user_name: user, content, ts: TS + id }
  if (reply_to !== undefined) m.reply_to = reply_to
  return m
}

function change(
  id: number,
  kind: 'edit' | 'delete' | 'react' | 'unreact',
  target_id: number,
  opts: { user?: string; content?: string; reply_to?: number } = {},
): RoomEvent {
  const m: RoomEvent = {
    id,
    kind,
    user_name: opts.user ?? 'alice',
    content: opts.content ?? '',
    ts: TS + id,
    target_id,
  }
  if (opts.reply_to !== undefined) m.reply_to = opts.reply_to
  return m
}

const edit = (id: number, target: number, content: string) =>
  change(id, 'edit', target, { content })
const react = (id: number, target: number, emoji: string, user = 'alice') =>
  change(id, 'react', target, { content: emoji, user })
const unreact = (id: number, target: number, emoji: string, user = 'alice') =>
  change(id, 'unreact', target, { content: emoji, user })

describe('kinds', () => {
  it('tells changes from visible rows', () => {
    for (const kind of ['edit', 'delete', 'react', 'unreact']) {
      expect(isChangeKind(kind)).toBe(true)
      expect(isVisibleKind(kind)).toBe(false)
    }
    for (const kind of ['text', 'join', 'leave']) {
      expect(isChangeKind(kind)).toBe(false)
      expect(isVisibleKind(kind)).toBe(true)
    }
  })

  it('knows which message an event concerns', () => {
    expect(concerns(10, edit(12, 10, 'x'))).toBe(true)
    expect(concerns(11, edit(12, 10, 'x'))).toBe(false)
    expect(concerns(5, text(12, 'bob', 'r', 5))).toBe(true) // a reply counts on its root
    expect(concerns(5, change(13, 'delete', 12, { reply_to: 5 }))).toBe(true)
    // an edit or reaction on a reply does not touch the root
    expect(concerns(5, change(13, 'edit', 12, { reply_to: 5, content: 'x' }))).toBe(false)
    expect(concerns(5, react(13, 12, '👍'))).toBe(false)
  })
})

describe('applyEvent', () => {
  it('skips an event already in the snapshot (id <= as_of)', () => {
    const held = hold(text(10), 20)
    expect(applyEvent(held, edit(15, 10, 'old'))).toBe(held)
    expect(applyEvent(held, edit(20, 10, 'old'))).toBe(held)
    const next = applyEvent(held, edit(21, 10, 'new'))
    expect(next.content).toBe('new')
    expect(next.edited_ts).toBe(TS + 21)
    expect(next.as_of).toBe(20)
  })

  it('a live new message is its own snapshot', () => {
    expect(hold(text(10), 10).as_of).toBe(10)
    // as_of is never below the message's own id
    expect(hold(text(10), 3).as_of).toBe(10)
  })

  it('edits: the last one by id wins, even when it arrives first', () => {
    const held = hold(text(10), 10)
    const inOrder = applyEvents(held, [edit(11, 10, 'a'), edit(12, 10, 'b')])
    const reversed = applyEvents(held, [edit(12, 10, 'b'), edit(11, 10, 'a')])
    expect(inOrder.content).toBe('b')
    expect(reversed.content).toBe('b')
    expect(foldedState(reversed)).toEqual(foldedState(inOrder))
    expect(reversed.edited_ts).toBe(TS + 12)
  })

  it('delete: tombstone, content and reactions gone, later edits and reactions ignored', () => {
    const events = [react(11, 10, '👍'), edit(12, 10, 'x'), change(13, 'delete', 10)]
    const held = applyEvents(hold(text(10), 10), events)
    expect(held.deleted).toBe(true)
    expect(held.content).toBe('')
    expect(held.reactions).toEqual([])
    expect(held.edited_ts).toBe(TS + 12) // as the store: a delete leaves edited_ts
    // the store refuses changes to a deleted message; a client ignores them all the same
    const after = applyEvents(held, [edit(14, 10, 'late'), react(15, 10, '🎉', 'bob')])
    expect(foldedState(after)).toEqual(foldedState(held))
    // the delete arriving before the older changes gives the same state
    const reversed = applyEvents(hold(text(10), 10), events.slice().reverse())
    expect(foldedState(reversed)).toEqual(foldedState(held))
  })

  it('reactions: sets per emoji in the order users reacted, empty sets disappear', () => {
    let held = hold(text(10), 10)
    held = applyEvents(held, [
      react(11, 10, '👍', 'alice'),
      react(12, 10, '👍', 'bob'),
      react(13, 10, '🎉', 'bob'),
      react(14, 10, '👍', 'alice'), // a repeat: stored, changes nothing
    ])
    expect(held.reactions).toEqual([
      { emoji: '👍', users: ['alice', 'bob'] },
      { emoji: '🎉', users: ['bob'] },
    ])
    held = applyEvents(held, [unreact(15, 10, '🎉', 'bob'), unreact(16, 10, '😀', 'bob')])
    expect(held.reactions).toEqual([{ emoji: '👍', users: ['alice', 'bob'] }])
  })

  it('react then unreact gives no reaction whatever order they arrive in', () => {
    const held = hold(text(10), 10)
    const inOrder = applyEvents(held, [react(11, 10, '👍'), unreact(12, 10, '👍')])
    const reversed = applyEvents(held, [unreact(12, 10, '👍'), react(11, 10, '👍')])
    expect(foldedState(inOrder).reactions).toEqual([])
    expect(foldedState(reversed).reactions).toEqual([])
    // and unreact then react again leaves it
    const again = applyEvents(held, [
      react(13, 10, '👍'),
      unreact(12, 10, '👍'),
      react(11, 10, '👍'),
    ])
    expect(foldedState(again).reactions).toEqual([{ emoji: '👍', users: ['alice'] }])
  })

  it('is idempotent: the same events twice change nothing', () => {
    const events = [
      react(11, 10, '👍'),
      edit(12, 10, 'x'),
      react(13, 10, '👍', 'bob'),
      unreact(14, 10, '👍'),
    ]
    const once = applyEvents(hold(text(10), 10), events)
    const twice = applyEvents(once, events)
    expect(twice).toBe(once) // nothing new: the same object
    expect(foldedState(twice)).toEqual({
      content: 'x',
      edited_ts: TS + 12,
      deleted: false,
      reactions: [{ emoji: '👍', users: ['bob'] }],
      reply_count: 0,
      last_reply_ts: 0,
    })
  })

  it('replies count on their root; a deleted reply uncounts; last_reply_ts is the newest', () => {
    let root = hold(text(5), 5)
    root = applyEvents(root, [text(8, 'bob', 'r1', 5), text(7, 'carol', 'r0', 5)])
    expect(root.reply_count).toBe(2)
    expect(root.last_reply_ts).toBe(TS + 8)
    root = applyEvent(root, change(9, 'delete', 8, { reply_to: 5, user: 'bob' }))
    expect(root.reply_count).toBe(1)
    expect(root.last_reply_ts).toBe(TS + 8) // as the store: the delete leaves it
    root = applyEvent(root, text(8, 'bob', 'r1', 5)) // a redelivery
    expect(root.reply_count).toBe(1)
    // a reply and a deletion already in the snapshot are not counted again
    const paged = hold({ ...text(5), reply_count: 1, last_reply_ts: TS + 8 }, 9)
    expect(
      applyEvents(paged, [text(7, 'c', 'r', 5), change(9, 'delete', 8, { reply_to: 5 })]),
    ).toBe(paged)
    // a reply in the snapshot, deleted later: the deletion counts
    expect(applyEvent(paged, change(12, 'delete', 7, { reply_to: 5 })).reply_count).toBe(0)
  })

  it('the delete of a reply, arriving before the reply, nets out', () => {
    let root = hold(text(5), 5)
    root = applyEvent(root, change(9, 'delete', 8, { reply_to: 5 }))
    root = applyEvent(root, text(8, 'bob', 'r1', 5))
    expect(root.reply_count).toBe(0)
  })

  it('ignores events for another message, and join/leave rows', () => {
    const held = hold(text(10), 10)
    expect(applyEvent(held, edit(11, 9, 'x'))).toBe(held)
    expect(applyEvent(held, { ...text(12), kind: 'join' })).toBe(held)
  })
})

describe('refreshSnapshot', () => {
  it('takes a newer snapshot and replays the logged events above its as_of', () => {
    let held = hold(text(10), 10)
    held = applyEvents(held, [edit(11, 10, 'a'), react(13, 10, '👍', 'bob')])
    // a page read at 12 has the edit 11 and an edit 12 not seen live, but not the reaction 13
    const page = { ...text(10), content: 'b', edited_ts: TS + 12 }
    const fresh = refreshSnapshot(held, page, 12)
    expect(fresh.as_of).toBe(12)
    expect(foldedState(fresh)).toMatchObject({
      content: 'b',
      edited_ts: TS + 12,
      reactions: [{ emoji: '👍', users: ['bob'] }],
    })
    expect(fresh.log?.applied.map((e) => e.id)).toEqual([13])
    // a snapshot covering everything drops the log
    const covered = refreshSnapshot(
      fresh,
      { ...page, reactions: [{ emoji: '👍', users: ['bob'] }] },
      13,
    )
    expect(covered.log).toBeUndefined()
    expect(foldedState(covered)).toEqual(foldedState(fresh))
  })

  it('ignores an older snapshot (a slow page)', () => {
    const held = applyEvent(hold(text(10), 20), edit(21, 10, 'new'))
    expect(refreshSnapshot(held, { ...text(10), content: 'stale' }, 15)).toBe(held)
    expect(refreshSnapshot(held, { ...text(10), content: 'stale' }, 20)).toBe(held)
  })

  it('a newer snapshot without a field clears it (defaults are left out on the wire)', () => {
    const held = applyEvent(hold(text(10), 10), react(11, 10, '👍'))
    const fresh = refreshSnapshot(held, text(10), 12) // unreacted at 12
    expect(fresh.reactions).toBeUndefined()
    expect(foldedState(fresh).reactions).toEqual([])
  })
})

describe('rememberEvent', () => {
  it('keeps folding events once, and at most the limit', () => {
    let recent: RoomEvent[] = []
    recent = rememberEvent(recent, edit(11, 10, 'x'), 2)
    expect(rememberEvent(recent, edit(11, 10, 'x'), 2)).toBe(recent)
    expect(rememberEvent(recent, text(12), 2)).toBe(recent) // not a reply: folds nothing
    recent = rememberEvent(recent, text(13, 'bob', 'r', 10), 2)
    recent = rememberEvent(recent, react(14, 10, '👍'), 2)
    expect(recent.map((e) => e.id)).toEqual([13, 14])
  })
})

describe('RoomEvents', () => {
  it('applies a page, then live changes, and a page of change rows twice', () => {
    const room = new RoomEvents()
    room.page([text(1), text(2), { ...text(3), content: 'edited', edited_ts: TS + 4 }], 4)
    room.live(react(5, 1, '👍', 'bob'))
    room.live(text(6, 'bob', 'reply', 1))
    const resync = [edit(7, 2, 'two'), unreact(8, 1, '👍', 'bob'), change(9, 'delete', 3)]
    room.page(resync, 9)
    room.page(resync, 9)
    expect(room.messages().map((m) => [m.id, foldedState(m)])).toEqual([
      [1, { ...foldedState(text(1)), reply_count: 1, last_reply_ts: TS + 6 }],
      [2, { ...foldedState(text(2)), content: 'two', edited_ts: TS + 7 }],
      [3, { ...foldedState(text(3)), content: '', edited_ts: TS + 4, deleted: true }],
      [6, foldedState(text(6, 'bob', 'reply', 1))],
    ])
  })

  it('keeps a change for a message not held yet and applies it when its page comes', () => {
    const room = new RoomEvents()
    // the newest page was read at 10 and is still on its way when the edit 11 arrives live
    room.live(edit(11, 3, 'late'))
    room.live(text(12, 'bob', 'r', 3))
    room.page([text(3)], 10)
    expect(foldedState(room.get(3)!)).toMatchObject({
      content: 'late',
      reply_count: 1,
      last_reply_ts: TS + 12,
    })
    // a page read after both has them folded: nothing counted twice
    room.page([{ ...text(3), content: 'late', edited_ts: TS + 11, reply_count: 1 }], 12)
    expect(room.get(3)!.reply_count).toBe(1)
  })

  it('gives the same state whatever the arrival order of live events', () => {
    const events = [
      text(1),
      text(2, 'bob', 'r1', 1),
      react(3, 1, '👍', 'bob'),
      edit(4, 1, 'one'),
      text(5, 'carol', 'r2', 1),
      unreact(6, 1, '👍', 'bob'),
      change(7, 'delete', 2, { reply_to: 1, user: 'bob' }),
      react(8, 5, '🎉'),
      edit(9, 5, 'r2!'),
    ]
    const expected = new RoomEvents()
    for (const e of events) expected.live(e)
    const want = expected.messages().map((m) => [m.id, foldedState(m)])
    expect(want).toEqual([
      [
        1,
        {
          ...foldedState(text(1)),
          content: 'one',
          edited_ts: TS + 4,
          reply_count: 1,
          last_reply_ts: TS + 5,
        },
      ],
      [2, { ...foldedState(text(2)), content: '', deleted: true }],
      [
        5,
        {
          ...foldedState(text(5)),
          content: 'r2!',
          edited_ts: TS + 9,
          reactions: [{ emoji: '🎉', users: ['alice'] }],
        },
      ],
    ])
    // every rotation and the reverse (changes may come before their target)
    const orders = [events.slice().reverse()]
    for (let k = 1; k < events.length; k++) orders.push([...events.slice(k), ...events.slice(0, k)])
    for (const order of orders) {
      const room = new RoomEvents()
      for (const e of order) room.live(e)
      expect(room.messages().map((m) => [m.id, foldedState(m)])).toEqual(want)
    }
  })
})

describe('pageMark and RoomChain.history', () => {
  const page = (ids: number[], has_more: boolean, as_of?: number) => ({
    messages: ids.map((id) => ({ id })),
    has_more,
    ...(as_of === undefined ? {} : { as_of }),
  })

  it('a newest page moves the mark to its as_of', () => {
    expect(pageMark('latest', page([5, 6], true, 9))).toBe(9)
    const chain = new RoomChain()
    chain.live(11, 10) // a live change above the page: absorbed once the mark reaches 10
    expect(chain.history('latest', page([5, 6], false, 10))).toBe(11)
    expect(chain.based).toBe(true)
  })

  it('an after= page moves it to its last id, or to its as_of when it is the last page', () => {
    expect(pageMark('after', page([11, 12], true, 20), 10)).toBe(12)
    expect(pageMark('after', page([11, 12], false, 20), 10)).toBe(20)
    expect(pageMark('after', page([], false, 10), 10)).toBe(10)
    expect(pageMark('after', page([], true), 10)).toBe(10)
  })

  it('a before= page does not move it', () => {
    const chain = new RoomChain()
    chain.page(10)
    expect(pageMark('before', page([3, 4], true, 30))).toBeNull()
    expect(chain.history('before', page([3, 4], true, 30))).toBe(10)
  })

  it('a page without as_of (an older server) counts as read at its last id', () => {
    expect(pageMark('latest', page([5, 6], false))).toBe(6)
    expect(pageMark('after', page([11], false), 10)).toBe(11)
  })
})
