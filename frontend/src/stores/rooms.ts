// The rooms this user is in (from `welcome` and `membership` frames), the public room list,
// the open room, and unread counts. Read marks live on the server (docs/protocol.md "Read
// state"): the welcome brings each room's mark and count, `read_state` frames bring a mark moved
// from another tab or device, and this client adds the messages from others that arrive after
// the count. Reading a room marks it read on the server, at most once a second per room.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { RoomInfo } from '@/api/http'
import {
  GENERAL_ROOM,
  directPeer,
  isDirectRoom,
  type ReadState,
  type ServerFrame,
} from '@/protocol/frames'
import { mentionsUser } from '@/utils/mentions'
import { useMessagesStore } from './messages'
import { useSessionStore } from './session'

export interface UnreadCount {
  count: number
  /** More unread messages exist than the server counts (show "n+"). */
  more: boolean
  /** Of those, the ones that mention this user (by name or `@room`). */
  mentions: number
}

/** Where a `read` frame goes (the connection's socket); null while there is none. */
export interface ReadSender {
  sendRead(room: string, id: number): void
  sendReadAll(marks: ReadonlyArray<readonly [string, number]>): void
}

/** A room's read mark goes to the server at most this often while the reader reads on. */
export const READ_THROTTLE_MS = 1000

export const useRoomsStore = defineStore('rooms', () => {
  const session = useSessionStore()
  const messages = useMessagesStore()

  /** Rooms the user is a member of, as the server lists them. */
  const joined = ref<string[]>([])
  /** `GET /api/rooms` (public rooms), loaded when the browser opens. */
  const publicRooms = ref<RoomInfo[]>([])
  const active = ref<string>(GENERAL_ROOM)
  /** room -> the server's read state, moved forward by this client as it reads. */
  const readStates = ref<Record<string, ReadState>>({})
  /**
   * room -> the mark when the room was opened with unread messages: the "New messages" line
   * sits above the first message from others after it, until the room is opened again.
   */
  const newLineAfter = ref<Record<string, number>>({})
  let sender: ReadSender | null = null
  /** room -> when its last `read` frame went, and the newest id waiting to go after it. */
  const throttle = new Map<
    string,
    { sentAt: number; waiting?: number; timer?: ReturnType<typeof setTimeout> }
  >()

  const me = computed(() => session.userName ?? '')
  const channels = computed(() => joined.value.filter((r) => !isDirectRoom(r)).sort(compareRooms))
  const directs = computed(() =>
    joined.value.filter(isDirectRoom).sort((a, b) => displayName(a).localeCompare(displayName(b))),
  )

  function compareRooms(a: string, b: string) {
    if (a === GENERAL_ROOM) return -1
    if (b === GENERAL_ROOM) return 1
    return a.localeCompare(b)
  }

  /** '#room' for rooms, the other user's name for direct conversations. */
  function displayName(room: string): string {
    return directPeer(room, me.value) ?? room
  }

  function setReadSender(next: ReadSender | null) {
    sender = next
  }

  /** Keeps the state with the furthest mark: marks only move forward. */
  function applyReadState(state: ReadState) {
    const held = readStates.value[state.room]
    if (held && held.last_read_id > state.last_read_id) return
    readStates.value = { ...readStates.value, [state.room]: state }
  }

  function newestId(room: string): number {
    const items = messages.timeline(room)?.items ?? []
    for (let i = items.length - 1; i >= 0; i--) {
      const id = items[i]!.id
      if (id !== null) return id
    }
    return 0
  }

  function sendRead(room: string, id: number) {
    const now = Date.now()
    const slot = throttle.get(room) ?? { sentAt: -Infinity }
    throttle.set(room, slot)
    if (now - slot.sentAt >= READ_THROTTLE_MS) {
      slot.sentAt = now
      slot.waiting = undefined
      sender?.sendRead(room, id)
      return
    }
    slot.waiting = Math.max(slot.waiting ?? 0, id)
    slot.timer ??= setTimeout(
      () => {
        slot.timer = undefined
        const waiting = slot.waiting
        if (waiting !== undefined) sendRead(room, waiting)
      },
      READ_THROTTLE_MS - (now - slot.sentAt),
    )
  }

  /** Marks everything loaded in `room` as read, here at once and on the server (throttled). */
  function markRead(room: string) {
    const newest = newestId(room)
    const held = readStates.value[room]
    if (newest === 0 || (held && newest <= held.last_read_id)) return
    applyReadState({ room, last_read_id: newest, unread: 0, as_of: newest, mentions: 0 })
    sendRead(room, newest)
  }

  /** "Mark all as read": every room, in one frame. */
  function markAllRead() {
    const marks: Array<[string, number]> = []
    for (const room of joined.value) {
      const held = readStates.value[room]
      const newest = Math.max(newestId(room), held?.as_of ?? 0, held?.last_read_id ?? 0)
      applyReadState({ room, last_read_id: newest, unread: 0, as_of: newest, mentions: 0 })
      marks.push([room, newest])
    }
    newLineAfter.value = {}
    sender?.sendReadAll(marks)
  }

  /**
   * The server's count, plus the messages from others this client holds that arrived after it
   * was made (above both its as_of and the mark).
   */
  const unread = computed<Record<string, UnreadCount>>(() => {
    const result: Record<string, UnreadCount> = {}
    for (const room of joined.value) {
      const state = readStates.value[room]
      if (!state) {
        result[room] = { count: 0, more: false, mentions: 0 }
        continue
      }
      const counted = Math.max(state.as_of, state.last_read_id)
      let count = state.unread
      let mentions = state.mentions ?? 0
      for (const item of messages.timeline(room)?.items ?? []) {
        if (item.id === null || item.id <= counted) continue
        if (item.kind === 'text' && item.user_name !== me.value && !item.deleted) count++
        if (mentionsUser(item, me.value)) mentions++
      }
      result[room] = { count, more: state.unread_capped === true, mentions }
    }
    return result
  })

  /** A room joined since the welcome: its mark (set by the server at the join) and count. */
  async function fetchReadStates() {
    try {
      for (const state of await session.api.readStates()) {
        if (!(state.room in readStates.value)) applyReadState(state)
      }
    } catch {
      // The next welcome brings them.
    }
  }

  /** Remembers where the "New messages" line goes in `room`, when it has unread messages. */
  function placeNewLine(room: string) {
    const state = readStates.value[room]
    const rest = { ...newLineAfter.value }
    delete rest[room]
    newLineAfter.value =
      state && (unread.value[room]?.count ?? 0) > 0 ? { ...rest, [room]: state.last_read_id } : rest
  }

  function applyFrame(frame: ServerFrame) {
    if (frame.type === 'welcome') {
      const first = joined.value.length === 0
      joined.value = [...new Set(frame.rooms)]
      // The server's marks replace this client's, except where this client read further while
      // offline: marks only move forward, and that read goes to the server right after the
      // welcome (ChatSocket keeps it), so its read_ack will agree.
      if (frame.read) {
        const states: Record<string, ReadState> = {}
        for (const state of frame.read) {
          const held = readStates.value[state.room]
          states[state.room] = held && held.last_read_id > state.last_read_id ? held : state
        }
        readStates.value = states
      }
      if (!joined.value.includes(active.value)) active.value = GENERAL_ROOM
      if (first) placeNewLine(active.value)
    } else if (frame.type === 'read_state') {
      const state: ReadState = {
        room: frame.room,
        last_read_id: frame.last_read_id,
        unread: frame.unread,
        as_of: frame.as_of,
      }
      if (frame.unread_capped) state.unread_capped = true
      if (frame.mentions !== undefined) state.mentions = frame.mentions
      applyReadState(state)
    } else if (frame.type === 'read_ack') {
      for (const state of frame.rooms) applyReadState(state)
    } else if (frame.type === 'membership' && frame.user_name === me.value) {
      if (frame.joined && !joined.value.includes(frame.room)) {
        joined.value = [...joined.value, frame.room]
        void fetchReadStates()
      } else if (!frame.joined) {
        joined.value = joined.value.filter((r) => r !== frame.room)
        messages.forgetRoom(frame.room)
        if (active.value === frame.room) active.value = GENERAL_ROOM
      }
    }
  }

  async function refreshPublic() {
    publicRooms.value = (await session.api.rooms()).rooms
  }

  function open(room: string) {
    active.value = room
    placeNewLine(room)
  }

  function addJoined(room: string) {
    if (joined.value.includes(room)) return
    joined.value = [...joined.value, room]
    void fetchReadStates()
  }

  async function create(name: string) {
    const room = await session.api.createRoom(name)
    addJoined(room.name)
    active.value = room.name
    void refreshPublic().catch(() => undefined)
  }

  async function join(name: string) {
    const room = await session.api.joinRoom(name)
    addJoined(room.name)
    active.value = room.name
    void refreshPublic().catch(() => undefined)
  }

  async function leave(name: string) {
    await session.api.leaveRoom(name)
    joined.value = joined.value.filter((r) => r !== name)
    messages.forgetRoom(name)
    if (active.value === name) active.value = GENERAL_ROOM
    void refreshPublic().catch(() => undefined)
  }

  /** Opens (creating if needed) the direct conversation with `user`; its room's name. */
  async function openDirect(user: string): Promise<string> {
    const { name } = await session.api.openDirect(user)
    addJoined(name)
    active.value = name
    return name
  }

  function reset() {
    joined.value = []
    publicRooms.value = []
    active.value = GENERAL_ROOM
    readStates.value = {}
    newLineAfter.value = {}
    for (const slot of throttle.values()) if (slot.timer) clearTimeout(slot.timer)
    throttle.clear()
  }

  return {
    joined,
    publicRooms,
    active,
    readStates,
    newLineAfter,
    channels,
    directs,
    unread,
    displayName,
    setReadSender,
    markRead,
    markAllRead,
    applyFrame,
    refreshPublic,
    open,
    create,
    join,
    leave,
    openDirect,
    reset,
  }
})
