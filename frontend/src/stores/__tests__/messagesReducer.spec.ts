// @vitest-environment node
import { describe, expect, it } from 'vitest'
import {
  addPending,
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
    expect(state.rooms.dev).toEqual({ items: [], loaded: true, hasOlder: false })
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
