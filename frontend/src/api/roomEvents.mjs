// @ts-check
// How a client applies a room's changes (edit, delete, react, unreact) and replies to the
// messages it holds. Every change is a row of the room's log with its own id, delivered live
// (`message` frames) and by `?after=` resync pages; history pages return visible messages
// already folded, with the page's `as_of`: the highest id of the room their state reflects.
//
// Invariants:
//
// * A held message remembers the `as_of` of the snapshot it came from (a page's `as_of`; a
//   live new message's own id). An event with id <= as_of is already in that state: skipped.
// * Events above as_of are kept, in id order, in the message's `log` with the snapshot they
//   apply to (`log.base`); the shown state is always base + those events replayed in id order.
//   So an event applied twice (a page overlapping live frames) changes nothing, and events
//   arriving out of order (two nodes publish independently) give the state of the id order: a
//   late edit does not overwrite a newer one, a late react does not undo a newer unreact.
// * A newer snapshot of a held message (a page with a higher as_of) replaces base; the logged
//   events above the new as_of are replayed on it, the others dropped. An older snapshot (a
//   slow page) is ignored.
// * Events for messages not held yet (a live edit while the page holding its target is on its
//   way) are kept in a bounded list of recent events and replayed on every snapshot taken in.
//
// What an event does to a held message M (the rules of the store's fold):
//   edit of M     → content, edited_ts = the edit's ts (ignored once M is deleted)
//   delete of M   → deleted, content "", reactions cleared
//   react/unreact → adds/removes the user in that emoji's set (ignored once M is deleted)
//   text replying to M (reply_to = M) → reply_count + 1, last_reply_ts = its ts (the newest)
//   delete whose reply_to = M (a reply of M's thread deleted) → reply_count - 1
//
// One module for every client, like roomChain.mjs beside it: the web client imports it (types
// from the JSDoc below, checked by vue-tsc) and so do the Node test clients, with no build step.

/** @typedef {{ emoji: string, users: string[] }} Reaction */

/**
 * A row of a room's log as the server sends it (the fields read here).
 * @typedef {object} RoomEvent
 * @property {number} id
 * @property {string} kind `text`, `join`, `leave`, `edit`, `delete`, `react` or `unreact`
 * @property {string} user_name
 * @property {string} content for a react/unreact: the emoji
 * @property {number} ts
 * @property {number} [target_id] a change: the message it changes
 * @property {number} [reply_to] a reply: its thread's root; a change: its target's reply_to
 * @property {number} [edited_ts] a visible row of a page: its folded state (FoldedFields)
 * @property {boolean} [deleted]
 * @property {Reaction[]} [reactions]
 * @property {number} [reply_count]
 * @property {number} [last_reply_ts]
 */

/**
 * The folded state of a visible message (absent fields are the defaults: never edited, not
 * deleted, no reaction, no reply).
 * @typedef {object} FoldedFields
 * @property {string} content
 * @property {number} [edited_ts]
 * @property {boolean} [deleted]
 * @property {Reaction[]} [reactions]
 * @property {number} [reply_count]
 * @property {number} [last_reply_ts]
 */

/**
 * What this module adds to a held message.
 * @typedef {object} HeldFields
 * @property {number} id
 * @property {number} as_of the id up to which the snapshot's state reflects the room's changes
 * @property {EventLog} [log] events above as_of, applied; absent when there are none
 */

/**
 * @typedef {object} EventLog
 * @property {FoldedFields} base the folded fields of the snapshot (at as_of)
 * @property {RoomEvent[]} applied the events above as_of, ascending by id
 */

/** @typedef {FoldedFields & HeldFields} HeldMessage */

/**
 * Every folded field, with its default filled in.
 * @typedef {object} FoldedState
 * @property {string} content
 * @property {number} edited_ts
 * @property {boolean} deleted
 * @property {Reaction[]} reactions
 * @property {number} reply_count
 * @property {number} last_reply_ts
 */

export const CHANGE_KINDS = Object.freeze(['edit', 'delete', 'react', 'unreact'])

/** How many events for messages not held are remembered per room (see `rememberEvent`). */
export const RECENT_EVENTS_LIMIT = 1000

/**
 * A change row (never displayed as a row of its own).
 * @param {string} kind
 */
export function isChangeKind(kind) {
  return CHANGE_KINDS.includes(kind)
}

/**
 * A row shown in the timeline: text, join or leave.
 * @param {string} kind
 */
export function isVisibleKind(kind) {
  return kind === 'text' || kind === 'join' || kind === 'leave'
}

/**
 * An event that changes some message's folded state: a change, or a reply (it counts in its
 * root's thread).
 * @param {RoomEvent} event
 */
export function isFoldingEvent(event) {
  return isChangeKind(event.kind) || (event.kind === 'text' && (event.reply_to ?? 0) > 0)
}

/**
 * Whether `event` changes the folded state of message `id`.
 * @param {number} id
 * @param {RoomEvent} event
 */
export function concerns(id, event) {
  if (isChangeKind(event.kind) && event.target_id === id) return true
  if (event.reply_to !== id) return false
  return event.kind === 'text' || event.kind === 'delete'
}

/**
 * A message as taken from a snapshot: a page's row with the page's as_of, or a live new
 * message with its own id.
 * @template {FoldedFields & { id: number, log?: EventLog }} T
 * @param {T} message
 * @param {number} asOf
 * @returns {T & HeldFields}
 */
export function hold(message, asOf) {
  const held = { ...message, as_of: Math.max(asOf, message.id) }
  delete held.log
  return held
}

/**
 * Every folded field of a message, with defaults (for comparing a client's state with a page).
 * @param {FoldedFields} message
 * @returns {FoldedState}
 */
export function foldedState(message) {
  return {
    content: message.deleted ? '' : message.content,
    edited_ts: message.edited_ts ?? 0,
    deleted: message.deleted === true,
    reactions: (message.reactions ?? [])
      .filter((r) => r.users.length > 0)
      .map((r) => ({ emoji: r.emoji, users: r.users.slice() })),
    reply_count: message.reply_count ?? 0,
    last_reply_ts: message.last_reply_ts ?? 0,
  }
}

/**
 * Applies one event to a held message. Returns the same object when the event does not concern
 * it, is already in its state, or was already applied; otherwise a new object.
 * @template {HeldMessage} T
 * @param {T} held
 * @param {RoomEvent} event
 * @returns {T}
 */
export function applyEvent(held, event) {
  if (!concerns(held.id, event) || event.id <= held.as_of) return held
  const applied = held.log?.applied ?? []
  if (applied.some((e) => e.id === event.id)) return held
  const next = applied.slice()
  let at = next.length
  while (at > 0 && /** @type {RoomEvent} */ (next[at - 1]).id > event.id) at--
  next.splice(at, 0, event)
  return rebuild(held, held.log?.base ?? baseOf(held), next)
}

/**
 * Applies several events (a page's change rows, the recent events) in turn.
 * @template {HeldMessage} T
 * @param {T} held
 * @param {Iterable<RoomEvent>} events
 * @returns {T}
 */
export function applyEvents(held, events) {
  let next = held
  for (const event of events) next = applyEvent(next, event)
  return next
}

/**
 * A new snapshot of a message already held (the same id, from a page read at `asOf`). A newer
 * snapshot replaces the state and keeps the logged events above its as_of; an older one is
 * ignored (the held state already reflects more).
 * @template {HeldMessage} T
 * @param {T} held
 * @param {T | (FoldedFields & { id: number })} snapshot
 * @param {number} asOf
 * @returns {T}
 */
export function refreshSnapshot(held, snapshot, asOf) {
  if (asOf <= held.as_of) return held
  /** @type {T} */
  const fresh = /** @type {T} */ (hold({ ...held, ...snapshot }, asOf))
  for (const key of FOLDED_OPTIONAL_KEYS) if (!(key in snapshot)) delete fresh[key]
  const later = (held.log?.applied ?? []).filter((e) => e.id > fresh.as_of)
  return later.length === 0 ? fresh : rebuild(fresh, baseOf(fresh), later)
}

/**
 * Adds an event to a room's list of recent events (kept for messages not held yet), once, and
 * keeps at most `limit` of them (the oldest received go first). Returns the same array when the
 * event is not one that folds or is already there.
 * @param {RoomEvent[]} recent
 * @param {RoomEvent} event
 * @param {number} [limit]
 * @returns {RoomEvent[]}
 */
export function rememberEvent(recent, event, limit = RECENT_EVENTS_LIMIT) {
  if (!isFoldingEvent(event) || recent.some((e) => e.id === event.id)) return recent
  const next = recent.length >= limit ? recent.slice(recent.length - limit + 1) : recent.slice()
  next.push(event)
  return next
}

/** @type {ReadonlyArray<'edited_ts' | 'deleted' | 'reactions' | 'reply_count' | 'last_reply_ts'>} */
const FOLDED_OPTIONAL_KEYS = ['edited_ts', 'deleted', 'reactions', 'reply_count', 'last_reply_ts']

/**
 * @param {FoldedFields} message
 * @returns {FoldedFields}
 */
function baseOf(message) {
  /** @type {FoldedFields} */
  const base = { content: message.content }
  if (message.edited_ts !== undefined) base.edited_ts = message.edited_ts
  if (message.deleted !== undefined) base.deleted = message.deleted
  if (message.reactions !== undefined) base.reactions = message.reactions
  if (message.reply_count !== undefined) base.reply_count = message.reply_count
  if (message.last_reply_ts !== undefined) base.last_reply_ts = message.last_reply_ts
  return base
}

/**
 * The held message with base + applied replayed in id order.
 * @template {HeldMessage} T
 * @param {T} held
 * @param {FoldedFields} base
 * @param {RoomEvent[]} applied ascending by id, every id above held.as_of
 * @returns {T}
 */
function rebuild(held, base, applied) {
  const state = foldedState(base)
  for (const event of applied) fold(state, held.id, event)
  /** @type {T} */
  const next = { ...held, ...state, log: { base, applied } }
  return next
}

/**
 * The store's rules for one event, on a mutable state.
 * @param {FoldedState} state
 * @param {number} id the message whose state this is
 * @param {RoomEvent} event
 */
function fold(state, id, event) {
  if (event.reply_to === id && !(isChangeKind(event.kind) && event.target_id === id)) {
    if (event.kind === 'text') {
      state.reply_count += 1
      state.last_reply_ts = Math.max(state.last_reply_ts, event.ts)
    } else if (event.kind === 'delete') {
      state.reply_count = Math.max(0, state.reply_count - 1)
    }
    return
  }
  if (state.deleted) return
  switch (event.kind) {
    case 'edit':
      state.content = event.content
      state.edited_ts = event.ts
      return
    case 'delete':
      state.deleted = true
      state.content = ''
      state.reactions = []
      return
    case 'react': {
      const reaction = state.reactions.find((r) => r.emoji === event.content)
      if (!reaction) state.reactions.push({ emoji: event.content, users: [event.user_name] })
      else if (!reaction.users.includes(event.user_name)) reaction.users.push(event.user_name)
      return
    }
    case 'unreact': {
      const index = state.reactions.findIndex((r) => r.emoji === event.content)
      if (index < 0) return
      const reaction = /** @type {Reaction} */ (state.reactions[index])
      reaction.users = reaction.users.filter((u) => u !== event.user_name)
      if (reaction.users.length === 0) state.reactions.splice(index, 1)
      return
    }
  }
}

/**
 * A room's messages with their folded state, for clients that keep one map per room (the Node
 * test clients). The web client applies the same functions in its pure reducers.
 */
export class RoomEvents {
  /** @type {Map<number, HeldMessage & RoomEvent>} visible messages by id */
  #held = new Map()
  /** @type {RoomEvent[]} */
  #recent = []
  #limit

  /** @param {{ recentLimit?: number }} [options] */
  constructor(options = {}) {
    this.#limit = options.recentLimit ?? RECENT_EVENTS_LIMIT
  }

  /**
   * A history page (latest, `before=`, `after=` or a thread page): visible rows folded at
   * `asOf`, change rows as stored. A page without as_of (a server older than changes) counts as
   * read at its last id.
   * @param {RoomEvent[]} messages ascending
   * @param {number} [asOf]
   */
  page(messages, asOf) {
    const at = asOf ?? messages.reduce((max, m) => Math.max(max, m.id), 0)
    for (const message of messages) this.#take(message, at)
  }

  /**
   * A live `message` frame: a new visible message (its state is its own, as of its id) or a
   * change.
   * @param {RoomEvent} message
   */
  live(message) {
    this.#take(message, message.id)
  }

  /**
   * The held message with this id (visible rows only).
   * @param {number} id
   */
  get(id) {
    return this.#held.get(id)
  }

  /** The held visible messages, ascending by id. */
  messages() {
    return [...this.#held.values()].sort((a, b) => a.id - b.id)
  }

  /**
   * @param {RoomEvent} message
   * @param {number} asOf
   */
  #take(message, asOf) {
    if (isVisibleKind(message.kind)) {
      const known = this.#held.get(message.id)
      const held = known
        ? refreshSnapshot(known, /** @type {HeldMessage & RoomEvent} */ (message), asOf)
        : applyEvents(hold(/** @type {RoomEvent & FoldedFields} */ (message), asOf), this.#recent)
      this.#held.set(message.id, held)
    }
    if (!isFoldingEvent(message)) return
    this.#recent = rememberEvent(this.#recent, message, this.#limit)
    for (const id of [message.target_id, message.reply_to]) {
      const held = id === undefined ? undefined : this.#held.get(id)
      if (held && id !== undefined) this.#held.set(id, applyEvent(held, message))
    }
  }
}
