// Pure functions from (timeline state, event) to a new state. The messages store calls them for
// every frame, history page and local send; they hold every ordering and dedupe rule:
//
// * a room's items are sorted: stored messages by id, each membership notice right after the
//   id that was newest when it arrived, then unsent messages in the order they were written;
// * an id is never shown twice (live frames and history pages overlap after a reconnect);
// * an optimistic message (status 'sending') is replaced in place by the stored one when its ack
//   or its own `message` frame arrives, whichever comes first, matched by client_msg_id;
// * changes (edit, delete, react, unreact) are never rows: they fold onto the messages they
//   concern by the rules of api/roomEvents.mjs, shared with every other client. So does a reply,
//   on its thread's root (reply_count, last_reply_ts). Every held message keeps the as_of of its
//   snapshot, so pages and live frames that overlap apply nothing twice.
import {
  applyEvent,
  applyEvents,
  hold,
  isChangeKind,
  isFoldingEvent,
  refreshSnapshot,
  rememberEvent,
  type EventLog,
  type RoomEvent,
} from '@/api/roomEvents.mjs'
import type { ChatMessage, ChangeKind, Reaction, ServerFrame, VisibleKind } from '@/protocol/frames'

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
  kind: VisibleKind
  status: DeliveryStatus
  /** A reply: its thread's root. */
  reply_to?: number
  // Folded state (absent = default), kept by api/roomEvents.mjs.
  edited_ts?: number
  deleted?: boolean
  reactions?: Reaction[]
  reply_count?: number
  last_reply_ts?: number
  /** Who it mentions, as the server decided when it stored it. */
  mentions?: string[]
  mentions_room?: boolean
  /** The id up to which this state reflects the room's changes (0 while unsent). */
  as_of: number
  /** Changes above as_of already applied (roomEvents.mjs). */
  log?: EventLog
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
  /** Recent changes and replies, replayed on messages taken in later (roomEvents.mjs). */
  recent: RoomEvent[]
  /**
   * Messages held outside the timeline (a quoted parent or a thread's root older than the
   * loaded history, fetched by id), by id: changes apply to them too. Never shown as rows.
   */
  extra: TimelineItem[]
}

/** The thread open in the side panel: its root's replies, with their own paging. */
export interface ThreadView {
  room: string
  root: number
  items: TimelineItem[]
  recent: RoomEvent[]
  /** The newest page of replies has arrived. */
  loaded: boolean
  hasOlder: boolean
}

/** A change sent and not yet acknowledged (it shows once its own frame comes back). */
export interface PendingChange {
  room: string
  kind: ChangeKind
  /** The message it changes. */
  id: number
}

/** The last refused change, shown as a sentence until dismissed. */
export interface ChangeError {
  room: string
  kind: ChangeKind
  id: number
  code: string
}

export interface TimelineState {
  rooms: Record<string, RoomTimeline>
  /** Sequence for notice keys. */
  seq: number
  thread: ThreadView | null
  /** By client_msg_id. */
  changes: Record<string, PendingChange>
  changeError: ChangeError | null
}

export function emptyTimelineState(): TimelineState {
  return { rooms: {}, seq: 0, thread: null, changes: {}, changeError: null }
}

export function emptyRoom(): RoomTimeline {
  return { items: [], loaded: false, hasOlder: false, recent: [], extra: [] }
}

export interface PendingSend {
  room: string
  user_name: string
  content: string
  client_msg_id: string
  ts: number
  reply_to?: number
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

/** A stored item (an id): what roomEvents.mjs folds. */
type StoredItem = TimelineItem & { id: number }

function indexOfId(items: TimelineItem[], id: number): number {
  // Notices at id + 0.5 sort after id, so look back past them.
  for (let i = upperBound(items, id) - 1; i >= 0; i--) {
    const item = items[i]!
    if (item.id === id) return i
    if (item.id !== null && item.id < id) return -1
  }
  return -1
}

function isVisible(kind: ChatMessage['kind']): kind is VisibleKind {
  return kind === 'text' || kind === 'join' || kind === 'leave'
}

function fromMessage(message: ChatMessage & { kind: VisibleKind }, asOf: number): StoredItem {
  const item: TimelineItem = {
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
    as_of: 0,
  }
  for (const key of FOLDED_KEYS)
    if (message[key] !== undefined) Object.assign(item, { [key]: message[key] })
  return hold({ ...item, id: message.id }, asOf)
}

const FOLDED_KEYS = [
  'reply_to',
  'edited_ts',
  'deleted',
  'reactions',
  'reply_count',
  'last_reply_ts',
  'mentions',
  'mentions_room',
] as const

function withRoom(state: TimelineState, room: string, update: (r: RoomTimeline) => RoomTimeline) {
  const current = state.rooms[room] ?? emptyRoom()
  const next = update(current)
  if (next === current && state.rooms[room]) return state
  return { ...state, rooms: { ...state.rooms, [room]: next } }
}

/** Applies an event to the held item with this id, if any (same array when nothing changes). */
function foldInto(items: TimelineItem[], id: number | undefined, event: RoomEvent): TimelineItem[] {
  if (id === undefined) return items
  const index = indexOfId(items, id)
  if (index < 0) return items
  const item = items[index] as StoredItem
  const next = applyEvent(item, event)
  if (next === item) return items
  const copy = items.slice()
  copy[index] = next
  return copy
}

/** A list of held messages and the recent events replayed on messages taken in later. */
interface HeldList {
  items: TimelineItem[]
  recent: RoomEvent[]
}

/**
 * Takes one stored row into a list: a visible message as a snapshot at `asOf` (deduped by id,
 * reconciling an optimistic copy), a change or a reply folded onto what it concerns.
 * `accept` says which visible messages belong in the list.
 */
function takeRow<L extends HeldList>(
  list: L,
  message: ChatMessage,
  asOf: number,
  accept: (message: ChatMessage) => boolean = () => true,
): L {
  let { items, recent } = list
  if (isVisible(message.kind) && accept(message)) {
    const visible = message as ChatMessage & { kind: VisibleKind }
    const pendingIndex = message.client_msg_id
      ? items.findIndex(
          (item) =>
            item.id === null &&
            !item.notice &&
            item.client_msg_id === message.client_msg_id &&
            item.user_name === message.user_name,
        )
      : -1
    if (pendingIndex >= 0) {
      items = items.slice()
      items.splice(pendingIndex, 1)
    }
    const index = indexOfId(items, message.id)
    if (index >= 0) {
      const held = items[index] as StoredItem
      const next = refreshSnapshot(held, fromMessage(visible, asOf), asOf)
      if (next !== held) {
        items = items === list.items ? items.slice() : items
        items[index] = { ...next, key: held.key }
      }
    } else {
      items = insertSorted(items, applyEvents(fromMessage(visible, asOf), recent))
    }
  }
  if (isFoldingEvent(message)) {
    recent = rememberEvent(recent, message)
    if (isChangeKind(message.kind)) items = foldInto(items, message.target_id, message)
    items = foldInto(items, message.reply_to, message)
  }
  if (items === list.items && recent === list.recent) return list
  return { ...list, items, recent }
}

function takeRows<L extends HeldList>(
  list: L,
  messages: ChatMessage[],
  asOf: number | undefined,
  accept?: (message: ChatMessage) => boolean,
): L {
  let next = list
  for (const message of messages) next = takeRow(next, message, asOf ?? message.id, accept)
  return next
}

/** The room's extra messages see the room's changes too. */
function foldExtra(room: RoomTimeline, messages: ChatMessage[]): RoomTimeline {
  if (room.extra.length === 0) return room
  let extra = room.extra
  for (const message of messages) {
    if (!isFoldingEvent(message)) continue
    if (isChangeKind(message.kind)) extra = foldInto(extra, message.target_id, message)
    extra = foldInto(extra, message.reply_to, message)
  }
  return extra === room.extra ? room : { ...room, extra }
}

/** The open thread takes its root's replies and every change to what it holds. */
function foldThread(
  thread: TimelineState['thread'],
  room: string,
  messages: ChatMessage[],
  asOf: number | undefined,
  fromThreadPage = false,
): TimelineState['thread'] {
  if (!thread || thread.room !== room) return thread
  const root = thread.root
  const rows = messages.filter((m) => m.room === room)
  return takeRows(
    thread,
    rows,
    asOf,
    (m) => fromThreadPage || (m.kind === 'text' && m.reply_to === root),
  )
}

// --- public reducers --------------------------------------------------------------------------

/**
 * Adds stored rows (from frames or history pages) to their rooms. `asOf` is the page's as_of;
 * a live row is its own snapshot (as of its own id).
 */
export function applyMessages(
  state: TimelineState,
  messages: ChatMessage[],
  asOf?: number,
): TimelineState {
  let next = state
  for (const message of messages) {
    next = withRoom(next, message.room, (room) =>
      foldExtra(takeRow(room, message, asOf ?? message.id), [message]),
    )
    const thread = foldThread(next.thread, message.room, [message], asOf)
    if (thread !== next.thread) next = { ...next, thread }
  }
  return next
}

/**
 * Adds a history page. 'latest' is a room's baseline (its newest page); 'before' a page older
 * than the first item (scrolling up); 'after' a resync page. `hasMore` is the server's has_more
 * in the direction asked; `asOf` the page's as_of.
 */
export function applyHistory(
  state: TimelineState,
  room: string,
  messages: ChatMessage[],
  direction: HistoryDirection,
  hasMore: boolean,
  asOf?: number,
): TimelineState {
  const merged = applyMessages(state, messages, asOf)
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
        as_of: 0,
        ...(pending.reply_to ? { reply_to: pending.reply_to } : {}),
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
      if (state.changes[frame.client_msg_id]) return settleChange(state, frame.client_msg_id)
      const pending = findPending(state, frame.client_msg_id)
      if (!pending) return state
      const stored: ChatMessage = {
        id: frame.id,
        room: frame.room,
        user_name: me,
        content: pending.content,
        sent_at: frame.sent_at,
        ts: frame.ts || pending.ts,
        client_msg_id: frame.client_msg_id,
        kind: 'text',
      }
      if (pending.reply_to) stored.reply_to = pending.reply_to
      return applyMessages(state, [stored])
    }
    case 'error': {
      if (!frame.client_msg_id) return state
      const change = state.changes[frame.client_msg_id]
      if (change) {
        const next = settleChange(state, frame.client_msg_id)
        return { ...next, changeError: { ...change, code: frame.code } }
      }
      return markFailed(state, frame.client_msg_id, frame.code)
    }
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
          as_of: 0,
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
  return { ...state, rooms, thread: state.thread?.room === room ? null : state.thread }
}

// --- changes ----------------------------------------------------------------------------------

/** A change was sent (edit, delete, react, unreact): remembered until its ack or refusal. */
export function addChange(
  state: TimelineState,
  clientMsgId: string,
  change: PendingChange,
): TimelineState {
  return { ...state, changes: { ...state.changes, [clientMsgId]: change } }
}

/** The change was acked or refused (or could not be queued). */
export function settleChange(state: TimelineState, clientMsgId: string): TimelineState {
  if (!state.changes[clientMsgId]) return state
  const changes = { ...state.changes }
  delete changes[clientMsgId]
  return { ...state, changes }
}

/** A change that could not even be queued (the outbox is full). */
export function failChange(state: TimelineState, clientMsgId: string, code: string) {
  const change = state.changes[clientMsgId]
  if (!change) return state
  return { ...settleChange(state, clientMsgId), changeError: { ...change, code } }
}

export function clearChangeError(state: TimelineState): TimelineState {
  return state.changeError ? { ...state, changeError: null } : state
}

/** A message fetched by id (a quoted parent, a thread root) when the timeline lacks it. */
export function addExtra(state: TimelineState, message: ChatMessage, asOf: number): TimelineState {
  return withRoom(state, message.room, (room) => {
    const next = takeRows({ items: room.extra, recent: room.recent }, [message], asOf)
    return next.items === room.extra ? room : { ...room, extra: next.items }
  })
}

/** The held message with this id: from the timeline, else the extra ones. */
export function findMessage(
  state: TimelineState,
  room: string,
  id: number,
): TimelineItem | undefined {
  const timeline = state.rooms[room]
  if (!timeline) return undefined
  const index = indexOfId(timeline.items, id)
  if (index >= 0) return timeline.items[index]
  const extra = indexOfId(timeline.extra, id)
  return extra >= 0 ? timeline.extra[extra] : undefined
}

// --- threads ----------------------------------------------------------------------------------

/** Opens the side panel on a thread (its replies come with openThread's pages). */
export function openThread(state: TimelineState, room: string, root: number): TimelineState {
  if (state.thread?.room === room && state.thread.root === root) return state
  const thread: ThreadView = { room, root, items: [], recent: [], loaded: false, hasOlder: false }
  // The room's recent events fold onto replies taken in from the thread's pages.
  thread.recent = state.rooms[room]?.recent ?? []
  return { ...state, thread }
}

export function closeThread(state: TimelineState): TimelineState {
  return state.thread ? { ...state, thread: null } : state
}

/** A page of the open thread's replies: 'latest' (its newest) or 'before' (scrolling up). */
export function applyThreadPage(
  state: TimelineState,
  room: string,
  root: number,
  messages: ChatMessage[],
  direction: 'latest' | 'before',
  hasMore: boolean,
  asOf?: number,
): TimelineState {
  const thread = state.thread
  if (!thread || thread.room !== room || thread.root !== root) return state
  const taken = foldThread(thread, room, messages, asOf, true)
  if (!taken) return state
  const hasOlder = direction === 'latest' && thread.loaded ? thread.hasOlder || hasMore : hasMore
  return { ...state, thread: { ...taken, loaded: true, hasOlder } }
}

/** The oldest stored id of a room (for `?before=`), or null when it has none. */
export function oldestId(room: { items: TimelineItem[] } | undefined): number | null {
  if (!room) return null
  for (const item of room.items) if (item.id !== null) return item.id
  return null
}
