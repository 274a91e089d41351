// Pure functions from (timeline state, event) to a new state. The messages store calls them for
// every frame, history page and local send; they hold every ordering and dedupe rule:
//
// * a room's items are sorted: stored messages by id, each membership notice right after the
//   id that was newest when it arrived, then unsent messages in the order they were written;
// * an id is never shown twice (live frames and history pages overlap after a reconnect);
// * an optimistic message (status 'sending') is replaced in place by the stored one when its ack
//   or its own `message` frame arrives, whichever comes first, matched by client_msg_id.
import type { ChatMessage, MessageKind, ServerFrame } from '@/protocol/frames'

export type DeliveryStatus = 'sent' | 'sending' | 'failed'

export interface TimelineItem {
  /** Stable across the ack, for v-for: `c:<user>:<client_msg_id>`, `m:<id>` or `n:<seq>`. */
  key: string
  /** Null until the server stored it (or for local notices). */
  id: number | null
  room: string
  user_name: string
  content: string
  ts: number
  sent_at: string
  client_msg_id: string
  kind: MessageKind
  status: DeliveryStatus
  /** Why a send failed (a server error code, or `buffer_full`). */
  error?: string
  /** Membership notices are not stored; they sit after the newest id known when they came. */
  notice?: { afterId: number }
}

export interface RoomTimeline {
  items: TimelineItem[]
  /** The baseline (latest page) has been loaded. */
  loaded: boolean
  /** Older messages exist before the first item. */
  hasOlder: boolean
}

export interface TimelineState {
  rooms: Record<string, RoomTimeline>
  /** Sequence for notice keys. */
  seq: number
}

export function emptyTimelineState(): TimelineState {
  return { rooms: {}, seq: 0 }
}

export function emptyRoom(): RoomTimeline {
  return { items: [], loaded: false, hasOlder: false }
}

export interface PendingSend {
  room: string
  user_name: string
  content: string
  client_msg_id: string
  ts: number
}

export type HistoryDirection = 'latest' | 'before' | 'after'

// --- ordering ---------------------------------------------------------------------------------

/** Sort position: ids for stored messages, id + 0.5 for notices, +∞ for unsent messages. */
function position(item: TimelineItem): number {
  if (item.id !== null) return item.id
  if (item.notice) return item.notice.afterId + 0.5
  return Number.POSITIVE_INFINITY
}

/** Index at which an item with position `pos` goes, after every item at or before it. */
function upperBound(items: TimelineItem[], pos: number): number {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (position(items[mid]!) <= pos) lo = mid + 1
    else hi = mid
  }
  return lo
}

function hasId(items: TimelineItem[], id: number): boolean {
  const index = upperBound(items, id) - 1
  if (index < 0) return false
  // Notices at id + 0.5 sort after id, so look back past them.
  for (let i = index; i >= 0; i--) {
    const item = items[i]!
    if (item.id === id) return true
    if (item.id !== null && item.id < id) return false
  }
  return false
}

function insertSorted(items: TimelineItem[], item: TimelineItem): TimelineItem[] {
  const next = items.slice()
  next.splice(upperBound(items, position(item)), 0, item)
  return next
}

function newestId(items: TimelineItem[]): number {
  for (let i = items.length - 1; i >= 0; i--) {
    const id = items[i]!.id
    if (id !== null) return id
  }
  return 0
}

function fromMessage(message: ChatMessage): TimelineItem {
  return {
    key: message.client_msg_id
      ? `c:${message.user_name}:${message.client_msg_id}`
      : `m:${message.id}`,
    id: message.id,
    room: message.room,
    user_name: message.user_name,
    content: message.content,
    ts: message.ts,
    sent_at: message.sent_at,
    client_msg_id: message.client_msg_id,
    kind: message.kind,
    status: 'sent',
  }
}

function withRoom(state: TimelineState, room: string, update: (r: RoomTimeline) => RoomTimeline) {
  const current = state.rooms[room] ?? emptyRoom()
  const next = update(current)
  if (next === current && state.rooms[room]) return state
  return { ...state, rooms: { ...state.rooms, [room]: next } }
}

/** Adds one stored message to a room's items: dedupes by id, reconciles an optimistic copy. */
function mergeMessage(items: TimelineItem[], message: ChatMessage): TimelineItem[] {
  if (message.client_msg_id) {
    const index = items.findIndex(
      (item) =>
        item.id === null &&
        !item.notice &&
        item.client_msg_id === message.client_msg_id &&
        item.user_name === message.user_name,
    )
    if (index >= 0) {
      const rest = items.slice()
      rest.splice(index, 1)
      return hasId(rest, message.id) ? rest : insertSorted(rest, fromMessage(message))
    }
  }
  if (hasId(items, message.id)) return items
  return insertSorted(items, fromMessage(message))
}

// --- public reducers --------------------------------------------------------------------------

/** Adds stored messages (from frames or history pages) to their rooms. */
export function applyMessages(state: TimelineState, messages: ChatMessage[]): TimelineState {
  let next = state
  for (const message of messages) {
    next = withRoom(next, message.room, (room) => {
      const items = mergeMessage(room.items, message)
      return items === room.items ? room : { ...room, items }
    })
  }
  return next
}

/**
 * Adds a history page. 'latest' is a room's baseline (its newest page); 'before' a page older
 * than the first item (scrolling up); 'after' a resync page. `hasMore` is the server's has_more
 * in the direction asked.
 */
export function applyHistory(
  state: TimelineState,
  room: string,
  messages: ChatMessage[],
  direction: HistoryDirection,
  hasMore: boolean,
): TimelineState {
  const merged = applyMessages(state, messages)
  return withRoom(merged, room, (r) => {
    if (direction === 'latest') {
      // An older baseline already loaded keeps its own "older" flag unless this page is older.
      return { ...r, loaded: true, hasOlder: r.loaded ? r.hasOlder || hasMore : hasMore }
    }
    if (direction === 'before') return { ...r, hasOlder: hasMore }
    return r.loaded ? r : { ...r, loaded: true }
  })
}

/** Shows a message the user just wrote, as 'sending', before the server has it. */
export function addPending(state: TimelineState, pending: PendingSend): TimelineState {
  return withRoom(state, pending.room, (room) => ({
    ...room,
    items: [
      ...room.items,
      {
        key: `c:${pending.user_name}:${pending.client_msg_id}`,
        id: null,
        room: pending.room,
        user_name: pending.user_name,
        content: pending.content,
        ts: pending.ts,
        sent_at: '',
        client_msg_id: pending.client_msg_id,
        kind: 'text',
        status: 'sending',
      },
    ],
  }))
}

function updatePending(
  state: TimelineState,
  clientMsgId: string,
  update: (item: TimelineItem) => TimelineItem,
): TimelineState {
  for (const [name, room] of Object.entries(state.rooms)) {
    const index = room.items.findIndex(
      (item) => item.id === null && !item.notice && item.client_msg_id === clientMsgId,
    )
    if (index < 0) continue
    const items = room.items.slice()
    items[index] = update(items[index]!)
    return { ...state, rooms: { ...state.rooms, [name]: { ...room, items } } }
  }
  return state
}

/** The send was refused (or could not be queued): show "failed — retry". */
export function markFailed(state: TimelineState, clientMsgId: string, error: string) {
  return updatePending(state, clientMsgId, (item) => ({ ...item, status: 'failed', error }))
}

/** A retry of a failed message: back to 'sending', same client_msg_id. */
export function markSending(state: TimelineState, clientMsgId: string) {
  return updatePending(state, clientMsgId, (item) => {
    const next: TimelineItem = { ...item, status: 'sending' }
    delete next.error
    return next
  })
}

/** Finds an unsent message by client_msg_id. */
export function findPending(state: TimelineState, clientMsgId: string): TimelineItem | undefined {
  for (const room of Object.values(state.rooms)) {
    const item = room.items.find(
      (i) => i.id === null && !i.notice && i.client_msg_id === clientMsgId,
    )
    if (item) return item
  }
  return undefined
}

/**
 * Applies one server frame. `me` is the signed-in user (acks carry no user name).
 * Frames that do not touch timelines return the same state object.
 */
export function applyFrame(state: TimelineState, frame: ServerFrame, me: string): TimelineState {
  switch (frame.type) {
    case 'message':
      return applyMessages(state, [frame.message])
    case 'ack': {
      const pending = findPending(state, frame.client_msg_id)
      if (!pending) return state
      return applyMessages(state, [
        {
          id: frame.id,
          room: frame.room,
          user_name: me,
          content: pending.content,
          sent_at: frame.sent_at,
          ts: frame.ts || pending.ts,
          client_msg_id: frame.client_msg_id,
          kind: 'text',
        },
      ])
    }
    case 'error':
      return frame.client_msg_id ? markFailed(state, frame.client_msg_id, frame.code) : state
    case 'membership': {
      if (!state.rooms[frame.room]) return state
      const seq = state.seq + 1
      const next = withRoom(state, frame.room, (room) => {
        const afterId = newestId(room.items)
        const notice: TimelineItem = {
          key: `n:${seq}`,
          id: null,
          room: frame.room,
          user_name: frame.user_name,
          content: '',
          ts: Date.now(),
          sent_at: '',
          client_msg_id: '',
          kind: frame.joined ? 'join' : 'leave',
          status: 'sent',
          notice: { afterId },
        }
        return { ...room, items: insertSorted(room.items, notice) }
      })
      return { ...next, seq }
    }
    default:
      return state
  }
}

/** Drops a room (after leaving it). */
export function removeRoom(state: TimelineState, room: string): TimelineState {
  if (!state.rooms[room]) return state
  const rooms = { ...state.rooms }
  delete rooms[room]
  return { ...state, rooms }
}

/** The oldest stored id of a room (for `?before=`), or null when it has none. */
export function oldestId(room: RoomTimeline | undefined): number | null {
  if (!room) return null
  for (const item of room.items) if (item.id !== null) return item.id
  return null
}
