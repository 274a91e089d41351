// @vitest-environment node
import { describe, expect, it } from 'vitest'
import {
  addChange,
  addExtra,
  addPending,
  applyThreadPage,
  closeThread,
  findMessage,
  openThread,
  applyFrame,
  applyHistory,
  applyMessages,
  emptyTimelineState,
  markFailed,
  markSending,
  oldestId,
  type TimelineState,
} from '../messagesReducer'
import { msg } from '@/protocol/__tests__/factories'

const ids = (state: TimelineState, room = 'general') =>
  state.rooms[room]?.items.map((i) => i.id) ?? []
const mine = (id: number, cmid: string) => msg(id, { user_name: 'alice', client_msg_id: cmid })
const pending = (cmid: string, content = 'hello') => ({
  room: 'general',
  user_name: 'alice',
  content,
  client_msg_id: cmid,
  ts: 1000,
})
const ack = (cmid: string, id: number) =>
  ({
    type: 'ack',
    client_msg_id: cmid,
    id,
    room: 'general',
    ts: 2000,
    sent_at: 's',
    duplicate: false,
  }) as const

describe('applyMessages', () => {
  it('orders by id whatever the arrival order', () => {
    const state = applyMessages(emptyTimelineState(), [msg(3), msg(1), msg(2)])
    expect(ids(state)).toEqual([1, 2, 3])
  })

  it('never shows an id twice', () => {
    let state = applyMessages(emptyTimelineState(), [msg(1), msg(2)])
    state = applyMessages(state, [msg(2), msg(1), msg(3), msg(3)])
    expect(ids(state)).toEqual([1, 2, 3])
  })

  it('returns the same state when nothing changes', () => {
    const state = applyMessages(emptyTimelineState(), [msg(1)])
    expect(applyMessages(state, [msg(1)])).toBe(state)
  })

  it('keeps rooms apart', () => {
    const state = applyMessages(emptyTimelineState(), [msg(1), msg(2, { room: 'dev' })])
    expect(ids(state)).toEqual([1])
    expect(ids(state, 'dev')).toEqual([2])
  })
})

describe('applyHistory', () => {
  it('fills gaps from pages in any direction', () => {
    let state = applyHistory(
      emptyTimelineState(),
      'general',
      [msg(8), msg(9), msg(10)],
      'latest',
      true,
    )
    expect(state.rooms.general).toMatchObject({ loaded: true, hasOlder: true })
    // a live message, then the resync page that overlaps it
    state = applyFrame(state, { type: 'message', message: msg(12) }, 'alice')
    state = applyHistory(state, 'general', [msg(11), msg(12)], 'after', false)
    // scrolling up
    state = applyHistory(state, 'general', [msg(5), msg(6), msg(7)], 'before', false)
    expect(ids(state)).toEqual([5, 6, 7, 8, 9, 10, 11, 12])
    expect(state.rooms.general?.hasOlder).toBe(false)
    expect(oldestId(state.rooms.general)).toBe(5)
  })

  it('an empty latest page marks the room loaded with nothing older', () => {
    const state = applyHistory(emptyTimelineState(), 'dev', [], 'latest', false)
    expect(state.rooms.dev).toMatchObject({ items: [], loaded: true, hasOlder: false })
  })
})

describe('optimistic sends', () => {
  it('shows a pending message at the end, then moves it to its id on ack', () => {
    let state = applyMessages(emptyTimelineState(), [msg(1)])
    state = addPending(state, pending('c-1'))
    const item = state.rooms.general?.items[1]
    expect(item).toMatchObject({ id: null, status: 'sending', content: 'hello' })
    const key = item?.key
    // Someone else's message 2 arrives before our ack (our message will be 3).
    state = applyFrame(state, { type: 'message', message: msg(2) }, 'alice')
    expect(state.rooms.general?.items.map((i) => i.id)).toEqual([1, 2, null])
    state = applyFrame(state, ack('c-1', 3), 'alice')
    expect(ids(state)).toEqual([1, 2, 3])
    expect(state.rooms.general?.items[2]).toMatchObject({ status: 'sent', key, ts: 2000 })
    // Our own message frame follows the ack: not shown twice.
    state = applyFrame(state, { type: 'message', message: mine(3, 'c-1') }, 'alice')
    expect(ids(state)).toEqual([1, 2, 3])
  })

  it('reconciles when the message frame comes before the ack', () => {
    let state = addPending(emptyTimelineState(), pending('c-1'))
    state = applyFrame(state, { type: 'message', message: mine(7, 'c-1') }, 'alice')
    expect(ids(state)).toEqual([7])
    const after = applyFrame(state, ack('c-1', 7), 'alice')
    expect(after).toBe(state)
  })

  it('does not confuse another user’s message that reuses the client_msg_id', () => {
    let state = addPending(emptyTimelineState(), pending('c-1'))
    state = applyFrame(
      state,
      { type: 'message', message: msg(4, { client_msg_id: 'c-1' }) },
      'alice',
    )
    expect(state.rooms.general?.items.map((i) => [i.id, i.user_name])).toEqual([
      [4, 'bob'],
      [null, 'alice'],
    ])
  })

  it('marks a refused send failed, and a retry back to sending with the same id', () => {
    let state = addPending(emptyTimelineState(), pending('c-1'))
    state = applyFrame(
      state,
      { type: 'error', code: 'rate_limited', message: 'slow down', client_msg_id: 'c-1' },
      'alice',
    )
    expect(state.rooms.general?.items[0]).toMatchObject({ status: 'failed', error: 'rate_limited' })
    state = markSending(state, 'c-1')
    expect(state.rooms.general?.items[0]?.status).toBe('sending')
    expect(state.rooms.general?.items[0]?.error).toBeUndefined()
    // The retry was a duplicate on the server: the ack says so, it is shown once.
    state = applyFrame(state, { ...ack('c-1', 5), duplicate: true }, 'alice')
    expect(ids(state)).toEqual([5])
    expect(state.rooms.general?.items[0]?.status).toBe('sent')
  })

  it('ignores acks and errors for unknown messages', () => {
    const state = applyMessages(emptyTimelineState(), [msg(1)])
    expect(applyFrame(state, ack('nope', 2), 'alice')).toBe(state)
    expect(markFailed(state, 'nope', 'x')).toBe(state)
    expect(applyFrame(state, { type: 'error', code: 'invalid_json', message: '' }, 'a')).toBe(state)
  })
})

describe('membership notices', () => {
  it('sit after the newest message known when they arrive', () => {
    let state = applyMessages(emptyTimelineState(), [msg(1), msg(2)])
    state = applyFrame(
      state,
      { type: 'membership', room: 'general', user_name: 'carol', joined: true },
      'alice',
    )
    state = applyFrame(state, { type: 'message', message: msg(3) }, 'alice')
    state = applyMessages(state, [msg(2)])
    const items = state.rooms.general?.items ?? []
    expect(items.map((i) => (i.notice ? `${i.user_name}:${i.kind}` : i.id))).toEqual([
      1,
      2,
      'carol:join',
      3,
    ])
  })

  it('are not added to rooms we do not show', () => {
    const state = emptyTimelineState()
    const next = applyFrame(
      state,
      { type: 'membership', room: 'x', user_name: 'c', joined: false },
      'a',
    )
    expect(next).toBe(state)
  })
})

describe('room changes', () => {
  const frame = (message: ReturnType<typeof msg>) => ({ type: 'message', message }) as const
  const change = (
    id: number,
    kind: 'edit' | 'delete' | 'react' | 'unreact',
    target_id: number,
    extra: Partial<ReturnType<typeof msg>> = {},
  ) => msg(id, { kind, target_id, content: '', prev_id: id - 1, ...extra })
  const item = (state: TimelineState, id: number) =>
    state.rooms.general?.items.find((i) => i.id === id)

  it('folds live changes onto their targets and never shows them as rows', () => {
    let state = applyHistory(emptyTimelineState(), 'general', [msg(1), msg(2)], 'latest', false, 2)
    state = applyFrame(state, frame(change(3, 'edit', 1, { content: 'fixed' })), 'alice')
    state = applyFrame(
      state,
      frame(change(4, 'react', 2, { content: '👍', user_name: 'alice' })),
      'a',
    )
    state = applyFrame(state, frame(change(5, 'delete', 2)), 'alice')
    expect(ids(state)).toEqual([1, 2])
    expect(item(state, 1)).toMatchObject({ content: 'fixed', edited_ts: msg(3).ts })
    expect(item(state, 2)).toMatchObject({ deleted: true, content: '', reactions: [] })
  })

  it('applies a resync page with change rows once, even after the live frames', () => {
    let state = applyHistory(emptyTimelineState(), 'general', [msg(1)], 'latest', false, 1)
    const rows = [
      change(2, 'react', 1, { content: '👍', user_name: 'carol' }),
      change(3, 'react', 1, { content: '👍', user_name: 'dave' }),
    ]
    state = applyFrame(state, frame(rows[0]!), 'alice')
    state = applyHistory(state, 'general', rows, 'after', false, 3)
    state = applyHistory(state, 'general', rows, 'after', false, 3)
    expect(item(state, 1)?.reactions).toEqual([{ emoji: '👍', users: ['carol', 'dave'] }])
  })

  it('takes a page read later as the new state of a held message', () => {
    let state = applyHistory(emptyTimelineState(), 'general', [msg(1)], 'latest', true, 1)
    const folded = msg(1, { content: 'new', edited_ts: 99, reply_count: 2, last_reply_ts: 98 })
    state = applyHistory(state, 'general', [folded], 'before', false, 40)
    expect(item(state, 1)).toMatchObject({
      content: 'new',
      edited_ts: 99,
      reply_count: 2,
      as_of: 40,
    })
    // an older snapshot does not undo it
    state = applyHistory(state, 'general', [msg(1)], 'before', false, 10)
    expect(item(state, 1)?.content).toBe('new')
  })

  it('counts replies on their root, and uncounts a deleted one', () => {
    let state = applyHistory(emptyTimelineState(), 'general', [msg(1)], 'latest', false, 1)
    state = applyFrame(state, frame(msg(2, { reply_to: 1 })), 'alice')
    state = applyFrame(state, frame(msg(3, { reply_to: 1 })), 'alice')
    expect(item(state, 1)).toMatchObject({ reply_count: 2, last_reply_ts: msg(3).ts })
    expect(item(state, 3)?.reply_to).toBe(1)
    state = applyFrame(state, frame(change(4, 'delete', 3, { reply_to: 1 })), 'alice')
    expect(item(state, 1)?.reply_count).toBe(1)
  })

  it('keeps a pending reply’s parent through the ack', () => {
    let state = applyHistory(emptyTimelineState(), 'general', [msg(1)], 'latest', false, 1)
    state = addPending(state, { ...pending('c-9', 'yes'), reply_to: 1 })
    state = applyFrame(state, ack('c-9', 2), 'alice')
    expect(item(state, 2)).toMatchObject({ reply_to: 1, content: 'yes' })
    expect(item(state, 1)?.reply_count).toBe(1)
    // its own frame afterwards counts nothing twice
    state = applyFrame(state, frame(mine(2, 'c-9')), 'alice')
    expect(item(state, 1)?.reply_count).toBe(1)
  })

  it('tracks a sent change until its ack, and keeps a refusal to show', () => {
    let state = addChange(emptyTimelineState(), 'c-1', { room: 'general', kind: 'edit', id: 1 })
    state = applyFrame(state, ack('c-1', 5), 'alice')
    expect(state.changes).toEqual({})
    expect(ids(state)).toEqual([]) // an acked change adds no row
    state = addChange(state, 'c-2', { room: 'general', kind: 'delete', id: 1 })
    state = applyFrame(
      state,
      { type: 'error', code: 'not_author', message: 'no', client_msg_id: 'c-2' },
      'alice',
    )
    expect(state.changes).toEqual({})
    expect(state.changeError).toEqual({
      room: 'general',
      kind: 'delete',
      id: 1,
      code: 'not_author',
    })
  })

  it('ignores rows of a kind it does not know', () => {
    const state = applyMessages(emptyTimelineState(), [msg(1, { kind: 'other' })])
    expect(ids(state)).toEqual([])
  })
})

describe('threads', () => {
  it('lists a root’s replies from its pages and live frames, with changes applied', () => {
    let state = applyHistory(emptyTimelineState(), 'general', [msg(1), msg(5)], 'latest', false, 5)
    state = openThread(state, 'general', 1)
    state = applyThreadPage(
      state,
      'general',
      1,
      [msg(3, { reply_to: 1 }), msg(4, { reply_to: 1 })],
      'latest',
      true,
      5,
    )
    expect(state.thread).toMatchObject({ loaded: true, hasOlder: true })
    state = applyFrame(state, { type: 'message', message: msg(6, { reply_to: 1 }) }, 'a')
    state = applyFrame(state, { type: 'message', message: msg(7) }, 'a') // not in the thread
    state = applyFrame(
      state,
      { type: 'message', message: msg(8, { kind: 'edit', target_id: 3, content: 'e' }) },
      'a',
    )
    expect(state.thread?.items.map((i) => [i.id, i.content])).toEqual([
      [3, 'e'],
      [4, 'message 4'],
      [6, 'message 6'],
    ])
    state = applyThreadPage(state, 'general', 1, [msg(2, { reply_to: 1 })], 'before', false, 9)
    expect(state.thread?.items.map((i) => i.id)).toEqual([2, 3, 4, 6])
    expect(state.thread?.hasOlder).toBe(false)
    // a page for a thread no longer open is dropped
    state = closeThread(state)
    expect(applyThreadPage(state, 'general', 1, [msg(2)], 'latest', false, 9)).toBe(state)
  })

  it('keeps a message fetched by id outside the timeline, and folds changes onto it', () => {
    let state = addExtra(emptyTimelineState(), msg(1), 10)
    expect(ids(state)).toEqual([])
    state = applyFrame(
      state,
      { type: 'message', message: msg(11, { kind: 'edit', target_id: 1, content: 'x' }) },
      'a',
    )
    expect(findMessage(state, 'general', 1)?.content).toBe('x')
  })
})
