// The one WebSocket to chatd (`/ws?token=…`), free of Vue so it can be unit-tested with a stubbed
// WebSocket and fake timers. It keeps these promises:
//
// * It reconnects after any drop (except an explicit stop() or a revoked token, close 1008). The
//   first `quickRetries` attempts wait a random time in [quickMinMs, quickMaxMs) (0.1-1 s), so a
//   restarted server has its clients back within about a second of answering again, spread
//   over that second rather than all in the same instant; later ones wait
//   random(0, min(cap, base·2^n)) ms: exponential backoff with full jitter. The attempt count
//   resets once a connection has stayed up for `stableMs`. The browser's `online` event, and a
//   hidden tab becoming visible with no live socket, reconnect at once.
// * It pings every `intervalMs` and drops the socket when no pong comes within `timeoutMs`
//   (a half-open TCP connection never fires onclose by itself).
// * No message is lost: after every `welcome` it fetches, per room, every message after its
//   mark (`GET …/messages?after=ID` until `has_more` is false). A room it has never seen gets
//   its latest page first. The mark is the highest id up to which the room's chain of
//   `prev_id`s has no hole (roomChain.mjs), not the highest id seen: a newer message can arrive
//   live before an older one from another node. A hole still open after HOLE_REPAIR_DELAY_MS
//   is fetched (`?after=<mark>`) without waiting for a reconnect.
// * Changes (edits, deletes, reactions) are rows of the room's log like messages: they move the
//   chain, come back in `?after=` pages, and a page's `as_of` moves the mark (pageMark()).
// * No message is sent twice: every send carries a client_msg_id and stays in a bounded outbox
//   until its `ack` (or a refusal) arrives. After a reconnect the whole outbox is sent again;
//   the server stores a client_msg_id once and acks a repeat with `duplicate: true`.
// * Events from a replaced socket are ignored (every handler checks it is still current).
import {
  parseServerFrame,
  readAllFrame,
  readFrame,
  statusFrame,
  type ChatMessage,
  type ClientFrame,
  type MessagePage,
  type ServerFrame,
  type StoredFrame,
} from '@/protocol/frames'
import { HOLE_REPAIR_DELAY_MS, RoomChain } from './roomChain.mjs'

export type ConnectionStatus =
  /** start() not called yet */
  | 'idle'
  /** socket opening, waiting for `welcome` */
  | 'connecting'
  /** welcomed; fetching what was missed */
  | 'syncing'
  /** welcomed and caught up */
  | 'online'
  /** disconnected, a reconnect is scheduled (see `retryAt`) */
  | 'waiting'
  /** stop() was called, or the server revoked the token */
  | 'closed'

/** The part of the browser WebSocket this client uses (so tests can stub it). */
export interface WebSocketLike {
  readonly readyState: number
  onopen: ((event: Event) => void) | null
  onmessage: ((event: MessageEvent) => void) | null
  onclose: ((event: CloseEvent) => void) | null
  onerror: ((event: Event) => void) | null
  send(data: string): void
  close(code?: number, reason?: string): void
}
export type WebSocketFactory = new (url: string) => WebSocketLike

export type HistoryMode = 'latest' | 'after'

export interface HistoryBatch {
  room: string
  messages: ChatMessage[]
  /** 'latest': the newest page of a room seen for the first time; 'after': a resync page. */
  mode: HistoryMode
  hasMore: boolean
  /** The page's as_of: its visible messages' folded state reflects every change up to it. */
  asOf?: number
}

export type SendResult = 'sent' | 'queued' | 'full'

export interface ChatSocketOptions {
  /** The full `ws(s)://…/ws?token=…` URL, asked again before every attempt. */
  url: () => string
  /** `GET /api/rooms/{room}/messages`: the latest page, or the page after an id. */
  fetchMessages: (room: string, query: { after?: number; limit: number }) => Promise<MessagePage>
  /** Every server frame except `pong`, in arrival order. */
  onFrame: (frame: ServerFrame) => void
  /** Messages fetched over HTTP to fill a room's baseline or a gap after a reconnect. */
  onHistory: (batch: HistoryBatch) => void
  onStatus?: (status: ConnectionStatus, detail: StatusDetail) => void
  /** The server closed with 1008: the token was revoked. */
  onAuthRevoked?: () => void
  WebSocket?: WebSocketFactory
  /** Returns a number in [0, 1); injected by tests. */
  random?: () => number
  backoff?: Partial<BackoffOptions>
  heartbeat?: Partial<HeartbeatOptions>
  /** Unacknowledged sends kept while offline; past it send() returns 'full'. */
  maxPending?: number
  /** Page size for baseline and resync requests. */
  pageSize?: number
  /** Where to listen for `online`/`offline` (window in the browser; null to disable). */
  network?: Pick<EventTarget, 'addEventListener' | 'removeEventListener'> | null
  /** Where to listen for `visibilitychange` (document in the browser; null to disable). */
  visibility?: VisibilitySource | null
  /** A hole in a room's chain stayed open this long: fetched then (default HOLE_REPAIR_DELAY_MS). */
  holeRepairMs?: number
  /** A hole is being repaired by fetching `?after=mark` (for diagnostics). */
  onHoleRepair?: (room: string, mark: number) => void
}

export interface BackoffOptions {
  /** Reconnect attempts (and resync retries) after the quick ones: full jitter up to this. */
  baseMs: number
  capMs: number
  /** A connection up this long resets the attempt count. */
  stableMs: number
  /** The first reconnect attempts after a drop, each after a uniform wait in [min, max). */
  quickRetries: number
  quickMinMs: number
  quickMaxMs: number
}
export type VisibilitySource = Pick<
  Document,
  'visibilityState' | 'addEventListener' | 'removeEventListener'
>
export interface HeartbeatOptions {
  intervalMs: number
  timeoutMs: number
}
export interface StatusDetail {
  /** Consecutive failed attempts so far. */
  attempt: number
  /** When status is 'waiting': the epoch ms of the next attempt. */
  retryAt: number | null
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  baseMs: 1000,
  capMs: 15_000,
  stableMs: 10_000,
  quickRetries: 8,
  quickMinMs: 100,
  quickMaxMs: 1000,
}
export const DEFAULT_HEARTBEAT: HeartbeatOptions = { intervalMs: 20_000, timeoutMs: 8_000 }
const CONNECTING = 0
const OPEN = 1

/** Full jitter: a uniform delay in [0, min(cap, base·2^attempt)). */
export function backoffDelay(
  attempt: number,
  options: Pick<BackoffOptions, 'baseMs' | 'capMs'>,
  random: () => number,
) {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.min(attempt, 30))
  return Math.floor(random() * ceiling)
}

/** The wait before reconnect attempt `attempt` (0: the first after a drop): quick, then backoff. */
export function reconnectDelay(attempt: number, options: BackoffOptions, random: () => number) {
  if (attempt < options.quickRetries) {
    return Math.floor(options.quickMinMs + random() * (options.quickMaxMs - options.quickMinMs))
  }
  return backoffDelay(attempt - options.quickRetries, options, random)
}

export class ChatSocket {
  private readonly options: ChatSocketOptions
  private readonly backoff: BackoffOptions
  private readonly heartbeat: HeartbeatOptions
  private readonly random: () => number
  private readonly maxPending: number
  private readonly pageSize: number
  private readonly holeRepairMs: number

  private ws: WebSocketLike | null = null
  /** Our user name, from `welcome`; recognises our own membership changes. */
  private me: string | null = null
  /** Bumped for every new socket; async work started for an older one checks it. */
  private generation = 0
  private welcomed = false
  /** What setAway last said; resent after a welcome when away. */
  private away = false
  /** room -> the highest read mark made while offline, sent after the next welcome. */
  private readonly unsentReads = new Map<string, number>()
  private stopped = true
  private attempt = 0
  private currentStatus: ConnectionStatus = 'idle'
  private retryAt: number | null = null

  private reconnectTimer: ReturnType<typeof setTimeout> | null = null
  private pingTimer: ReturnType<typeof setInterval> | null = null
  private pongTimer: ReturnType<typeof setTimeout> | null = null
  private stableTimer: ReturnType<typeof setTimeout> | null = null
  private readonly syncRetryTimers = new Set<ReturnType<typeof setTimeout>>()
  /** Rooms with a hole in their chain, and the timer that will fetch it. */
  private readonly holeTimers = new Map<string, ReturnType<typeof setTimeout>>()

  /** Per room: the mark (highest id with nothing missing below it) and what arrived above it. */
  private readonly chains = new Map<string, RoomChain>()
  /** Rooms whose baseline or resync is in flight. */
  private readonly syncing = new Set<string>()
  /** Sends waiting for their ack, in order, keyed by client_msg_id. */
  private readonly outbox = new Map<string, StoredFrame>()

  constructor(options: ChatSocketOptions) {
    this.options = options
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff }
    this.heartbeat = { ...DEFAULT_HEARTBEAT, ...options.heartbeat }
    this.random = options.random ?? Math.random
    this.maxPending = options.maxPending ?? 100
    this.pageSize = options.pageSize ?? 100
    this.holeRepairMs = options.holeRepairMs ?? HOLE_REPAIR_DELAY_MS
  }

  get status(): ConnectionStatus {
    return this.currentStatus
  }

  /** Number of sends not yet acknowledged (sent or waiting for a connection). */
  get pendingCount(): number {
    return this.outbox.size
  }

  /** The last id seen in `room` with no gap below it, if the room has a baseline. */
  lastSeenId(room: string): number | undefined {
    const chain = this.chains.get(room)
    return chain?.based ? chain.mark : undefined
  }

  start(): void {
    if (!this.stopped) return
    this.stopped = false
    this.attempt = 0
    this.options.network?.addEventListener('online', this.handleOnline)
    this.options.network?.addEventListener('offline', this.handleOffline)
    this.options.visibility?.addEventListener('visibilitychange', this.handleVisibility)
    this.connect()
  }

  /** Closes for good (sign out). Pending sends are dropped. */
  stop(): void {
    this.stopped = true
    this.options.network?.removeEventListener('online', this.handleOnline)
    this.options.network?.removeEventListener('offline', this.handleOffline)
    this.options.visibility?.removeEventListener('visibilitychange', this.handleVisibility)
    this.clearTimers()
    this.detach(1000, 'bye')
    this.outbox.clear()
    this.syncing.clear()
    this.setStatus('closed')
  }

  /** Skips the backoff wait (the browser came back online, or the user asked). */
  reconnectNow(): void {
    if (this.stopped || this.ws) return
    this.attempt = 0
    this.connect()
  }

  /**
   * Sends a message or a change, or keeps it for the next connection. A retry of a failed one
   * must reuse its client_msg_id; the server then stores it at most once.
   */
  send(frame: StoredFrame): SendResult {
    if (!this.outbox.has(frame.client_msg_id) && this.outbox.size >= this.maxPending) return 'full'
    this.outbox.set(frame.client_msg_id, frame)
    if (this.welcomed && this.transmit(frame)) return 'sent'
    return 'queued'
  }

  /**
   * Marks `room` read up to message `id`. Offline, the highest id per room is kept and sent right
   * after the next welcome, so what was read meanwhile does not come back as unread.
   */
  sendRead(room: string, id: number): void {
    if (this.welcomed && this.transmit(readFrame(room, id))) return
    this.unsentReads.set(room, Math.max(this.unsentReads.get(room) ?? 0, id))
  }

  /**
   * "Mark all as read". `marks` are the rooms' newest ids this client holds: offline they are
   * kept as reads of each room, since a `read_all` sent later would also mark read what arrived
   * in between, unseen.
   */
  sendReadAll(marks: ReadonlyArray<readonly [string, number]>): void {
    if (this.welcomed && this.transmit(readAllFrame())) return
    for (const [room, id] of marks) if (id > 0) this.sendRead(room, id)
  }

  /** Tells the room's other members we are typing; dropped when offline (never buffered). */
  sendTyping(room: string): void {
    if (this.welcomed) this.transmit({ type: 'typing', room })
  }

  /** Tells them we stopped (the draft was cleared); dropped when offline, like typing. */
  sendTypingStop(room: string): void {
    if (this.welcomed) this.transmit({ type: 'typing_stop', room })
  }

  /**
   * Tells the server this client's user is away (idle) or active again. A new connection starts
   * active on the server, so an away status is sent again after each welcome.
   */
  setAway(away: boolean): void {
    if (this.away === away) return
    this.away = away
    if (this.welcomed) this.transmit(statusFrame(away))
  }

  /** Forgets a room (after leaving it), so a later join starts from its latest page. */
  forgetRoom(room: string): void {
    this.chains.delete(room)
    this.syncing.delete(room)
    this.clearHoleTimer(room)
  }

  // --- connection lifecycle ---------------------------------------------------------------------

  private connect(): void {
    this.clearReconnect()
    this.detach(1000, 'replaced')
    const generation = ++this.generation
    this.welcomed = false
    this.setStatus('connecting')
    const Impl = this.options.WebSocket ?? (globalThis.WebSocket as unknown as WebSocketFactory)
    let ws: WebSocketLike
    try {
      ws = new Impl(this.options.url())
    } catch {
      this.scheduleReconnect()
      return
    }
    this.ws = ws
    const current = () => this.ws === ws && this.generation === generation
    ws.onopen = () => {
      if (!current()) return
      this.startHeartbeat()
    }
    ws.onmessage = (event) => {
      if (!current()) return
      const frame = parseServerFrame(event.data)
      if (frame) this.handleFrame(frame, generation)
    }
    ws.onerror = () => {
      // onclose follows; nothing to do here.
    }
    ws.onclose = (event) => {
      if (!current()) return
      this.ws = null
      this.afterDrop()
      if (event.code === 1008) {
        this.stopped = true
        this.setStatus('closed')
        this.options.onAuthRevoked?.()
        return
      }
      this.scheduleReconnect()
    }
  }

  /** Detaches the current socket (its late events are ignored) and closes it. */
  private detach(code: number, reason: string): void {
    const ws = this.ws
    if (!ws) return
    this.ws = null
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null
    try {
      ws.close(code, reason)
    } catch {
      // already closed
    }
    this.afterDrop()
  }

  private afterDrop(): void {
    this.welcomed = false
    this.stopHeartbeat()
    if (this.stableTimer) clearTimeout(this.stableTimer)
    this.stableTimer = null
    for (const timer of this.syncRetryTimers) clearTimeout(timer)
    this.syncRetryTimers.clear()
    this.clearHoleTimers()
    // Rooms keep their mark; the next welcome resyncs them from there.
    this.syncing.clear()
  }

  private scheduleReconnect(): void {
    if (this.stopped) return
    const delay = reconnectDelay(this.attempt, this.backoff, this.random)
    this.attempt += 1
    this.retryAt = Date.now() + delay
    this.setStatus('waiting')
    this.clearReconnect()
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      this.connect()
    }, delay)
  }

  private readonly handleOnline = () => this.reconnectNow()

  /**
   * A tab coming back into view: its timers were throttled while hidden, so a dead socket may
   * not have been noticed nor a retry made. With no socket, reconnect now; with one that claims
   * to be open, ping it at once so a half-open connection is found in `timeoutMs`.
   */
  private readonly handleVisibility = () => {
    if (this.stopped || this.options.visibility?.visibilityState !== 'visible') return
    const ws = this.ws
    if (!ws) {
      this.reconnectNow()
    } else if (ws.readyState === OPEN) {
      this.ping()
    } else if (ws.readyState !== CONNECTING) {
      this.detach(4002, 'dead socket')
      this.attempt = 0
      this.connect()
    }
  }

  private readonly handleOffline = () => {
    if (this.stopped || !this.ws) return
    this.detach(4001, 'offline')
    this.scheduleReconnect()
  }

  // --- heartbeat ------------------------------------------------------------------------------

  private startHeartbeat(): void {
    this.stopHeartbeat()
    this.pingTimer = setInterval(() => this.ping(), this.heartbeat.intervalMs)
  }

  /** Sends a ping; no pong within timeoutMs drops the socket and reconnects. */
  private ping(): void {
    if (this.pongTimer) return // still waiting for the previous one
    this.transmit({ type: 'ping' })
    this.pongTimer = setTimeout(() => {
      this.pongTimer = null
      this.detach(4000, 'heartbeat timeout')
      this.scheduleReconnect()
    }, this.heartbeat.timeoutMs)
  }

  private stopHeartbeat(): void {
    if (this.pingTimer) clearInterval(this.pingTimer)
    if (this.pongTimer) clearTimeout(this.pongTimer)
    this.pingTimer = this.pongTimer = null
  }

  // --- frames -----------------------------------------------------------------------------------

  private handleFrame(frame: ServerFrame, generation: number): void {
    switch (frame.type) {
      case 'pong':
        if (this.pongTimer) clearTimeout(this.pongTimer)
        this.pongTimer = null
        return
      case 'welcome':
        this.me = frame.user_name
        this.options.onFrame(frame)
        this.onWelcome(frame.rooms, generation)
        return
      case 'message': {
        const { room, id, prev_id } = frame.message
        const chain = this.chains.get(room)
        if (chain) {
          chain.live(id, prev_id)
          if (!this.syncing.has(room)) {
            chain.settle()
            this.watchHole(room, generation)
          }
        }
        break
      }
      case 'ack':
        this.outbox.delete(frame.client_msg_id)
        break
      case 'error':
        if (frame.client_msg_id) this.outbox.delete(frame.client_msg_id)
        break
      case 'membership':
        // A room we were just added to (created, joined, or a DM opened to us): get its baseline.
        if (frame.joined && this.welcomed && this.isMe(frame.user_name)) {
          if (!this.chains.has(frame.room) && !this.syncing.has(frame.room)) {
            this.syncRoom(frame.room, generation)
          }
        } else if (!frame.joined && this.isMe(frame.user_name)) {
          this.forgetRoom(frame.room)
        }
        break
    }
    this.options.onFrame(frame)
  }

  private isMe(user: string): boolean {
    return user === this.me
  }

  private onWelcome(rooms: string[], generation: number): void {
    this.welcomed = true
    this.retryAt = null
    if (this.away) this.transmit(statusFrame(true))
    this.stableTimer = setTimeout(() => {
      this.attempt = 0
    }, this.backoff.stableMs)
    // Everything not yet acknowledged goes again, in order; the server dedupes by client_msg_id.
    for (const frame of this.outbox.values()) {
      if (!this.transmit(frame)) break
    }
    const reads = [...this.unsentReads]
    this.unsentReads.clear()
    for (const [room, id] of reads) this.sendRead(room, id)
    for (const room of rooms) this.syncRoom(room, generation)
    this.updateSyncStatus()
  }

  private syncRoom(room: string, generation: number): void {
    this.syncing.add(room)
    this.clearHoleTimer(room)
    if (!this.chains.has(room)) this.chains.set(room, new RoomChain())
    this.updateSyncStatus()
    void this.runSync(room, generation, 0)
  }

  private async runSync(room: string, generation: number, failures: number): Promise<void> {
    const chain = this.chains.get(room)
    const alive = () =>
      this.generation === generation &&
      this.welcomed &&
      this.syncing.has(room) &&
      this.chains.get(room) === chain
    if (!chain) return
    let after = chain.mark
    try {
      if (!chain.based) {
        const page = await this.options.fetchMessages(room, { limit: this.pageSize })
        if (!alive()) return
        chain.history('latest', page)
        this.options.onHistory({
          room,
          messages: page.messages,
          mode: 'latest',
          hasMore: page.has_more,
          ...(page.as_of === undefined ? {} : { asOf: page.as_of }),
        })
      } else {
        for (;;) {
          const page = await this.options.fetchMessages(room, { after, limit: this.pageSize })
          if (!alive()) return
          chain.history('after', page, after)
          after = maxId(page.messages, after)
          this.options.onHistory({
            room,
            messages: page.messages,
            mode: 'after',
            hasMore: page.has_more,
            ...(page.as_of === undefined ? {} : { asOf: page.as_of }),
          })
          if (!page.has_more || page.messages.length === 0) break
        }
      }
      chain.settle()
      this.syncing.delete(room)
      this.updateSyncStatus()
      this.watchHole(room, generation)
    } catch {
      if (!alive()) return
      // The mark holds the end of the last page received: retry from there.
      const delay = backoffDelay(failures + 1, this.backoff, this.random)
      const timer = setTimeout(() => {
        this.syncRetryTimers.delete(timer)
        if (alive()) void this.runSync(room, generation, failures + 1)
      }, delay)
      this.syncRetryTimers.add(timer)
    }
  }

  /**
   * Fetches a hole in a room's chain that stays open for holeRepairMs. A hole that closes (its
   * message arrived live) costs nothing; one whose mark moved meanwhile gets its own delay.
   */
  private watchHole(room: string, generation: number): void {
    const chain = this.chains.get(room)
    if (!chain?.hasHole || this.holeTimers.has(room) || this.syncing.has(room)) return
    const markAtStart = chain.mark
    const timer = setTimeout(() => {
      this.holeTimers.delete(room)
      const alive = this.generation === generation && this.welcomed
      if (!alive || this.chains.get(room) !== chain || this.syncing.has(room)) return
      if (!chain.hasHole) return
      if (chain.mark !== markAtStart) {
        this.watchHole(room, generation)
        return
      }
      this.options.onHoleRepair?.(room, chain.mark)
      this.syncRoom(room, generation)
    }, this.holeRepairMs)
    this.holeTimers.set(room, timer)
  }

  private clearHoleTimer(room: string): void {
    const timer = this.holeTimers.get(room)
    if (timer !== undefined) clearTimeout(timer)
    this.holeTimers.delete(room)
  }

  private clearHoleTimers(): void {
    for (const timer of this.holeTimers.values()) clearTimeout(timer)
    this.holeTimers.clear()
  }

  private updateSyncStatus(): void {
    if (!this.welcomed) return
    this.setStatus(this.syncing.size > 0 ? 'syncing' : 'online')
  }

  // --- helpers ----------------------------------------------------------------------------------

  private transmit(frame: ClientFrame): boolean {
    const ws = this.ws
    if (!ws || ws.readyState !== OPEN) return false
    try {
      ws.send(JSON.stringify(frame))
      return true
    } catch {
      return false
    }
  }

  private setStatus(status: ConnectionStatus): void {
    const changed = status !== this.currentStatus
    this.currentStatus = status
    if (status !== 'waiting') this.retryAt = null
    if (changed || status === 'waiting') {
      this.options.onStatus?.(status, { attempt: this.attempt, retryAt: this.retryAt })
    }
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer)
    this.reconnectTimer = null
  }

  private clearTimers(): void {
    this.clearReconnect()
    this.stopHeartbeat()
    if (this.stableTimer) clearTimeout(this.stableTimer)
    this.stableTimer = null
    for (const timer of this.syncRetryTimers) clearTimeout(timer)
    this.syncRetryTimers.clear()
    this.clearHoleTimers()
  }
}

function maxId(messages: ChatMessage[], floor: number): number {
  let max = floor
  for (const message of messages) if (message.id > max) max = message.id
  return max
}
