// The rooms this user is in (from `welcome` and `membership` frames), the public room list,
// the open room, and unread counts (messages from others after the last one read here; the
// read marks are kept per user in localStorage).
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { HistoryBatch } from '@/api/chatSocket'
import type { RoomInfo } from '@/api/http'
import { GENERAL_ROOM, directPeer, isDirectRoom, type ServerFrame } from '@/protocol/frames'
import { useMessagesStore } from './messages'
import { useSessionStore } from './session'

export interface UnreadCount {
  count: number
  /** More unread messages exist than are loaded (show "n+"). */
  more: boolean
}

const readKey = (user: string) => `chatd.read.${user}`

export const useRoomsStore = defineStore('rooms', () => {
  const session = useSessionStore()
  const messages = useMessagesStore()

  /** Rooms the user is a member of, as the server lists them. */
  const joined = ref<string[]>([])
  /** `GET /api/rooms` (public rooms), loaded when the browser opens. */
  const publicRooms = ref<RoomInfo[]>([])
  const active = ref<string>(GENERAL_ROOM)
  /** room -> highest id read. */
  const lastRead = ref<Record<string, number>>({})
  /** No read marks were stored for this user: mark the first baseline of each room read. */
  let freshDevice = false
  let initialRooms = new Set<string>()

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

  function loadReadMarks() {
    const user = me.value
    if (!user) return
    try {
      const raw = localStorage.getItem(readKey(user))
      freshDevice = raw === null
      const parsed: unknown = raw ? JSON.parse(raw) : {}
      lastRead.value =
        typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, number>) : {}
    } catch {
      lastRead.value = {}
      freshDevice = true
    }
  }

  function saveReadMarks() {
    try {
      localStorage.setItem(readKey(me.value), JSON.stringify(lastRead.value))
    } catch {
      // storage full or disabled
    }
  }

  function newestId(room: string): number {
    const items = messages.timeline(room)?.items ?? []
    for (let i = items.length - 1; i >= 0; i--) {
      const id = items[i]!.id
      if (id !== null) return id
    }
    return 0
  }

  /** Marks everything loaded in `room` as read. */
  function markRead(room: string) {
    const newest = newestId(room)
    if (newest > (lastRead.value[room] ?? 0)) {
      lastRead.value = { ...lastRead.value, [room]: newest }
      saveReadMarks()
    }
  }

  const unread = computed<Record<string, UnreadCount>>(() => {
    const result: Record<string, UnreadCount> = {}
    for (const room of joined.value) {
      const timeline = messages.timeline(room)
      const read = lastRead.value[room] ?? 0
      let count = 0
      let firstId: number | null = null
      for (const item of timeline?.items ?? []) {
        if (item.id === null) continue
        firstId ??= item.id
        if (item.id > read && item.kind === 'text' && item.user_name !== me.value) count++
      }
      const more = !!timeline?.hasOlder && firstId !== null && firstId > read + 1 && count > 0
      result[room] = { count, more }
    }
    return result
  })

  function applyFrame(frame: ServerFrame) {
    if (frame.type === 'welcome') {
      if (!joined.value.length) loadReadMarks()
      joined.value = [...new Set(frame.rooms)]
      if (initialRooms.size === 0) initialRooms = new Set(frame.rooms)
      if (!joined.value.includes(active.value)) active.value = GENERAL_ROOM
    } else if (frame.type === 'membership' && frame.user_name === me.value) {
      if (frame.joined && !joined.value.includes(frame.room)) {
        joined.value = [...joined.value, frame.room]
      } else if (!frame.joined) {
        joined.value = joined.value.filter((r) => r !== frame.room)
        messages.forgetRoom(frame.room)
        if (active.value === frame.room) active.value = GENERAL_ROOM
      }
    }
  }

  function applyHistory(batch: HistoryBatch) {
    if (batch.mode === 'latest' && freshDevice && initialRooms.has(batch.room)) {
      if (!(batch.room in lastRead.value)) markRead(batch.room)
    }
  }

  async function refreshPublic() {
    publicRooms.value = (await session.api.rooms()).rooms
  }

  function open(room: string) {
    active.value = room
  }

  function addJoined(room: string) {
    if (!joined.value.includes(room)) joined.value = [...joined.value, room]
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
    lastRead.value = {}
    freshDevice = false
    initialRooms = new Set()
  }

  return {
    joined,
    publicRooms,
    active,
    lastRead,
    channels,
    directs,
    unread,
    displayName,
    markRead,
    applyFrame,
    applyHistory,
    refreshPublic,
    open,
    create,
    join,
    leave,
    openDirect,
    reset,
  }
})
