// One chaos client: behaves like the web client's ChatSocket (frontend/src/api/chatSocket.ts) and
// records everything the checker needs.
//
// Like the web client it
// * reconnects after every drop with full-jitter exponential backoff (to either node: the
//   harness hands it the node list, as a load balancer would);
// * keeps every send in an outbox until its ack, and sends the whole outbox again (same
//   client_msg_id) after each welcome; a refused send (store_failed, rate_limited) is retried
//   later with the same client_msg_id, as a user pressing "retry" would;
// * keeps per room as its mark the highest id up to which the room's chain of prev_ids has no
//   hole (frontend/src/api/roomChain.mjs), not the highest id seen: two nodes publish
//   independently, so a newer id can arrive live before an older one;
// * after each welcome, resyncs every room with GET /api/rooms/{room}/messages?after=<mark>
//   until has_more is false; a hole still open after HOLE_REPAIR_DELAY_MS is fetched the same
//   way without waiting for a reconnect;
// * displays a message at most once per id (sorted by id, as messagesReducer does);
// * applies each change (edit, delete, react, unreact) and reply to the messages it holds with
//   the web client's own module (frontend/src/api/roomEvents.mjs): pages with their as_of, live
//   frames as they come, in any order.
//
// Besides messages, the user edits and deletes their own messages, toggles reactions and replies
// (`act`): each a frame with a client_msg_id, kept in the outbox until acked like a send. A
// refusal by a rule (the target was deleted meanwhile, ...) is final: the change is dropped.
//
// It records: every send attempt (first send time, the highest id it displayed in the room at
// that time), every ack (id, duplicate), every message displayed (first time, live or page,
// connection number), every raw live frame that repeated an id already displayed, and the holes
// it repaired by itself. Change rows are recorded like messages (held, not displayed as rows),
// and at the end every held message's folded state.
import { http, WebSocket } from '../integration/lib/chatd.mjs'
import { HOLE_REPAIR_DELAY_MS, RoomChain } from '../../../frontend/src/api/roomChain.mjs'
import { RoomEvents, foldedState } from '../../../frontend/src/api/roomEvents.mjs'

const BACKOFF = { baseMs: 100, capMs: 2000 }
const PAGE = 200
const EMOJI = ['👍', '🎉', '❤️', '😂']
// What a user does besides writing a new message (`act`), by share of all actions: the rest are
// new messages. About the mix of a busy team chat: reactions are common, edits and deletes rare.
export const ACTION_MIX = Object.freeze({ reply: 0.05, react: 0.12, edit: 0.06, delete: 0.03 })
// Refusals by a rule of the room (docs/protocol.md): retrying the same frame cannot succeed, so
// the client drops it, as the web client shows the error and forgets the action. Any other
// refusal (store_failed, rate_limited) is retried later with the same client_msg_id.
const FINAL_REFUSALS = new Set(['message_not_found', 'message_deleted', 'not_author',
  'edit_window_closed', 'too_many_reactions', 'invalid_reaction', 'empty_message'])

export class ChaosClient {
  constructor ({ user, token, nodes, rooms, clock, log }) {
    this.user = user
    this.token = token
    this.nodes = nodes // [{ base, wsBase }] — looked up on each connect (a node may restart)
    this.rooms = rooms // the rooms this user is a member of (set up before the run)
    this.clock = clock
    this.log = log
    this.ws = null
    this.generation = 0
    this.welcomed = false
    this.stopped = false
    this.attempt = 0
    this.node = null
    this.outbox = new Map() // cmid -> the frame to send (without client_msg_id)
    this.retryTimers = new Set()
    this.chains = new Map() // room -> RoomChain (its mark: the resync point)
    this.syncing = new Set() // rooms whose resync is in flight
    this.holeTimers = new Map() // room -> timer that fetches a hole still open
    // Records for the checker.
    this.sends = new Map() // cmid -> { room, content, t, seq, maxDisplayedAtSend, attempts }
    this.acks = new Map() // cmid -> { id, duplicate, t }
    this.errors = [] // { t, code, cmid }
    this.displayed = new Map() // room -> Map(id -> { t, via, conn, user_name, client_msg_id, content, kind, target_id })
    this.events = new Map() // room -> RoomEvents: the held messages' folded state
    this.displayOrder = new Map() // room -> [id] in the order first displayed
    this.liveInversions = 0 // a live frame brought a new id below one already displayed
    this.redeliveries = 0 // live frames repeating an id already displayed
    this.holeRepairs = 0 // holes still open after HOLE_REPAIR_DELAY_MS, fetched without a reconnect
    this.holesRepaired = 0 // of those, fetches that displayed a message the client did not have
    this.connects = 0
    this.drops = 0
    this.sendSeq = 0
    this.deleting = new Set() // ids of the user's messages it asked to delete (not edited again)
    this.maxId = new Map() // room -> highest id displayed
    for (const room of rooms) {
      this.displayed.set(room, new Map())
      this.displayOrder.set(room, [])
      this.events.set(room, new RoomEvents())
      const chain = new RoomChain()
      chain.page(0) // the rooms are empty or new to the run: everything is fetched from 0
      this.chains.set(room, chain)
    }
  }

  maxDisplayed (room) { return this.maxId.get(room) ?? 0 }

  get online () { return this.welcomed && this.syncing.size === 0 }

  start () { this.connect() }

  stop () {
    this.stopped = true
    for (const t of this.retryTimers) clearTimeout(t)
    this.retryTimers.clear()
    this.clearHoleTimers()
    clearTimeout(this.reconnectTimer)
    const ws = this.ws
    this.ws = null
    this.welcomed = false
    if (ws) ws.terminate()
  }

  // --- sending ---------------------------------------------------------------------------------

  // A new message from the user (the load generator). Returns false when the outbox is full.
  send (room, replyTo = 0) {
    const seq = this.sendSeq + 1
    const frame = { type: 'send', room, content: `m ${this.user} ${seq} ${room}` }
    if (replyTo > 0) frame.reply_to = replyTo
    return this.queue(frame)
  }

  // One action of the load's mix (ACTION_MIX): a new message, a reply, a reaction toggled, an
  // edit or a delete of one of the user's own messages. Falls back to a new message when the
  // room holds nothing to act on. Returns false when the outbox is full.
  act (room, mix = ACTION_MIX) {
    let r = Math.random()
    const pick = list => list[Math.floor(Math.random() * list.length)]
    const live = this.events.get(room).messages().filter(m => m.kind === 'text' && !m.deleted)
    const recent = live.slice(-30)
    const mine = recent.filter(m => m.user_name === this.user && !this.deleting.has(m.id))
    if ((r -= mix.reply) < 0 && recent.length) return this.send(room, pick(recent).id)
    if ((r -= mix.react) < 0 && recent.length) {
      const target = pick(recent)
      const emoji = pick(EMOJI)
      const held = target.reactions?.find(x => x.emoji === emoji)?.users.includes(this.user)
      return this.queue({ type: held ? 'unreact' : 'react', room, id: target.id, emoji })
    }
    if ((r -= mix.edit) < 0 && mine.length) {
      return this.queue({ type: 'edit', room, id: pick(mine).id, content: `e ${this.user} ${this.sendSeq + 1} ${room}` })
    }
    if ((r -= mix.delete) < 0 && mine.length) {
      const target = pick(mine)
      this.deleting.add(target.id)
      return this.queue({ type: 'delete', room, id: target.id })
    }
    return this.send(room)
  }

  // Records a frame as sent by the user and keeps it in the outbox until its ack.
  queue (frame) {
    if (this.outbox.size >= 50) return false
    const seq = ++this.sendSeq
    const cmid = `${this.user}-${seq}`
    const kind = frame.type === 'send' ? 'text' : frame.type
    const content = frame.content ?? frame.emoji ?? ''
    this.sends.set(cmid, {
      room: frame.room, content, kind, target: frame.id ?? 0, replyTo: frame.reply_to ?? 0,
      t: this.clock(), seq, maxDisplayedAtSend: this.maxDisplayed(frame.room), attempts: 0
    })
    this.outbox.set(cmid, frame)
    if (this.welcomed) this.transmit(cmid)
    return true
  }

  // Sends a message and drops the connection right after it left (the "drop mid-send" fault).
  sendAndDrop (room) {
    if (!this.send(room)) return false
    if (this.ws) this.ws.terminate()
    return true
  }

  transmit (cmid) {
    const entry = this.outbox.get(cmid)
    const ws = this.ws
    if (!entry || !ws || ws.readyState !== WebSocket.OPEN) return false
    this.sends.get(cmid).attempts += 1
    ws.send(JSON.stringify({ ...entry, client_msg_id: cmid }))
    return true
  }

  // --- connection ------------------------------------------------------------------------------

  connect () {
    if (this.stopped) return
    const generation = ++this.generation
    this.welcomed = false
    // The first connection goes to the home node; reconnects go to either, as through a
    // balancer.
    const index = this.connects === 0 ? this.homeIndex ?? 0 : Math.floor(Math.random() * this.nodes.length)
    const node = this.nodes[index]
    this.node = node
    this.connects += 1
    const ws = new WebSocket(`${node.wsBase}/ws?token=${encodeURIComponent(this.token)}`,
      { perMessageDeflate: false, handshakeTimeout: 5000 })
    this.ws = ws
    const current = () => this.ws === ws && this.generation === generation
    ws.on('message', data => {
      if (!current()) return
      let frame
      try { frame = JSON.parse(data.toString('utf8')) } catch { return }
      this.onFrame(frame, generation)
    })
    ws.on('error', () => {})
    ws.on('close', () => {
      if (!current()) return
      this.ws = null
      this.welcomed = false
      this.syncing.clear()
      this.clearHoleTimers()
      this.drops += 1
      this.scheduleReconnect()
    })
  }

  scheduleReconnect () {
    if (this.stopped) return
    const cap = Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** this.attempt)
    this.attempt = Math.min(this.attempt + 1, 10)
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = setTimeout(() => this.connect(), Math.random() * cap)
  }

  onFrame (frame, generation) {
    switch (frame.type) {
      case 'welcome':
        this.welcomed = true
        this.attempt = 0
        for (const cmid of [...this.outbox.keys()]) if (!this.transmit(cmid)) break
        for (const room of frame.rooms) if (this.displayed.has(room)) this.syncRoom(room, generation)
        return
      case 'message':
        this.onLive(frame.message, generation)
        return
      case 'ack':
        if (!this.acks.has(frame.client_msg_id)) {
          this.acks.set(frame.client_msg_id, { id: frame.id, duplicate: !!frame.duplicate, t: this.clock() })
        } else if (this.acks.get(frame.client_msg_id).id !== frame.id) {
          // Two acks with different ids for one client_msg_id: the checker reports it.
          this.acks.get(frame.client_msg_id).conflict = frame.id
        }
        this.outbox.delete(frame.client_msg_id)
        return
      case 'error':
        this.errors.push({ t: this.clock(), code: frame.code, cmid: frame.client_msg_id })
        if (frame.client_msg_id && FINAL_REFUSALS.has(frame.code)) {
          this.outbox.delete(frame.client_msg_id)
        } else if (frame.client_msg_id && this.outbox.has(frame.client_msg_id)) {
          // Retried later with the same client_msg_id (the user presses "retry").
          const cmid = frame.client_msg_id
          const timer = setTimeout(() => {
            this.retryTimers.delete(timer)
            if (this.welcomed) this.transmit(cmid)
          }, 500 + Math.random() * 1000)
          this.retryTimers.add(timer)
        }
    }
  }

  onLive (message, generation) {
    const { room, id } = message
    if (!this.displayed.has(room)) return
    const chain = this.chains.get(room)
    chain.live(id, message.prev_id)
    if (!this.syncing.has(room)) {
      chain.settle()
      this.watchHole(room, generation)
    }
    if (this.displayed.get(room).has(id)) {
      this.redeliveries += 1
      return
    }
    if (id < this.maxDisplayed(room)) this.liveInversions += 1
    this.display(message, 'live', generation)
    this.events.get(room).live(message)
  }

  display (message, via, generation) {
    const shown = this.displayed.get(message.room)
    if (shown.has(message.id)) return
    shown.set(message.id, {
      t: this.clock(),
      via,
      conn: generation,
      user_name: message.user_name,
      client_msg_id: message.client_msg_id,
      content: message.content,
      kind: message.kind,
      target_id: message.target_id ?? 0,
      // A page, or a row the outbox republishes after an outage, brings a message in its current
      // state: its content is then the last edit's, or empty once deleted (checked against the
      // store's folded state, not against what was sent).
      changed: Boolean(message.deleted || message.edited_ts)
    })
    this.displayOrder.get(message.room).push(message.id)
    if (message.id > this.maxDisplayed(message.room)) this.maxId.set(message.room, message.id)
  }

  syncRoom (room, generation, repair = null) {
    this.syncing.add(room)
    this.clearHoleTimer(room)
    this.runSync(room, generation, 0, repair)
  }

  // A hole in a room's chain still open after HOLE_REPAIR_DELAY_MS (with the same mark) is
  // fetched, as the web client does; one that closes meanwhile costs nothing.
  watchHole (room, generation) {
    const chain = this.chains.get(room)
    if (!chain.hasHole || this.holeTimers.has(room) || this.syncing.has(room)) return
    const markAtStart = chain.mark
    const timer = setTimeout(() => {
      this.holeTimers.delete(room)
      if (this.generation !== generation || !this.welcomed || this.syncing.has(room) || !chain.hasHole) return
      if (chain.mark !== markAtStart) {
        this.watchHole(room, generation)
        return
      }
      this.holeRepairs += 1
      this.syncRoom(room, generation, { found: false })
    }, HOLE_REPAIR_DELAY_MS)
    this.holeTimers.set(room, timer)
  }

  clearHoleTimer (room) {
    clearTimeout(this.holeTimers.get(room))
    this.holeTimers.delete(room)
  }

  clearHoleTimers () {
    for (const t of this.holeTimers.values()) clearTimeout(t)
    this.holeTimers.clear()
  }

  async runSync (room, generation, failures, repair) {
    const alive = () => this.generation === generation && this.welcomed && this.syncing.has(room)
    const node = this.node
    const chain = this.chains.get(room)
    try {
      let after = chain.mark
      for (;;) {
        const res = await http(node.base, 'GET', `/api/rooms/${encodeURIComponent(room)}/messages?after=${after}&limit=${PAGE}`,
          undefined, this.token, { timeoutMs: 5000 })
        if (!alive()) return
        if (res.status !== 200) throw new Error(`history ${room}: ${res.status}`)
        for (const m of res.json.messages) {
          if (repair && !this.displayed.get(room).has(m.id)) repair.found = true
          this.display(m, 'page', generation)
          if (m.id > after) after = m.id
        }
        this.events.get(room).page(res.json.messages, res.json.as_of)
        chain.page(after)
        if (!res.json.has_more || res.json.messages.length === 0) break
      }
      chain.settle()
      this.syncing.delete(room)
      if (repair?.found) this.holesRepaired += 1
      this.watchHole(room, generation)
    } catch {
      if (!alive()) return
      const cap = Math.min(BACKOFF.capMs, BACKOFF.baseMs * 2 ** (failures + 1))
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer)
        if (alive()) this.runSync(room, generation, failures + 1, repair)
      }, Math.random() * cap)
      this.retryTimers.add(timer)
    }
  }

  // --- end of the run --------------------------------------------------------------------------

  // Everything the checker needs, as plain JSON.
  record () {
    const rooms = {}
    for (const [room, shown] of this.displayed) {
      rooms[room] = {
        order: this.displayOrder.get(room),
        messages: Object.fromEntries([...shown].map(([id, m]) => [id, m])),
        // The folded state of every visible message held, to compare with the store's.
        state: Object.fromEntries(this.events.get(room).messages().map(m => [m.id, foldedState(m)]))
      }
    }
    return {
      user: this.user,
      rooms,
      sends: Object.fromEntries(this.sends),
      acks: Object.fromEntries(this.acks),
      unacked: [...this.outbox.keys()],
      errors: this.errors,
      redeliveries: this.redeliveries,
      holeRepairs: this.holeRepairs,
      holesRepaired: this.holesRepaired,
      liveInversions: this.liveInversions,
      connects: this.connects,
      drops: this.drops
    }
  }
}
