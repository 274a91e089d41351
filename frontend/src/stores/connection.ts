// Owns the ChatSocket and routes what it reports to the other stores. The only place where the
// framework-free socket meets Pinia.
import { defineStore } from 'pinia'
import { ref, shallowRef } from 'vue'
import {
  ChatSocket,
  type ChatSocketOptions,
  type ConnectionStatus,
  type StatusDetail,
} from '@/api/chatSocket'
import { ApiError } from '@/api/http'
import { refreshMembersOn } from '@/composables/useMentionSource'
import type { ServerFrame } from '@/protocol/frames'
import { useDisplayNamesStore } from './displayNames'
import { useMessagesStore } from './messages'
import { useNotifyLevelsStore } from './notifyLevels'
import { usePeopleStore } from './people'
import { usePresenceStore } from './presence'
import { useRoomsStore } from './rooms'
import { useSessionStore } from './session'

/** `ws(s)://<this host>/ws`: same origin, so the upgrade carries the session cookie. */
export function socketUrl(loc: Pick<Location, 'protocol' | 'host'> = location) {
  const scheme = loc.protocol === 'https:' ? 'wss' : 'ws'
  return `${scheme}://${loc.host}/ws`
}

/** Typing frames are sent at most this often while the user types. */
export const TYPING_THROTTLE_MS = 3000

export const useConnectionStore = defineStore('connection', () => {
  const session = useSessionStore()
  const messages = useMessagesStore()
  const rooms = useRoomsStore()
  const presence = usePresenceStore()
  const displayNames = useDisplayNamesStore()
  const notifyLevels = useNotifyLevelsStore()
  const people = usePeopleStore()

  const status = ref<ConnectionStatus>('idle')
  const detail = ref<StatusDetail>({ attempt: 0, retryAt: null })
  const socket = shallowRef<ChatSocket | null>(null)
  const lastTyping = new Map<string, number>()
  /** Rooms where a typing notice went out that no stop or message has ended yet. */
  const announced = new Set<string>()

  function dispatch(frame: ServerFrame) {
    rooms.applyFrame(frame)
    presence.applyFrame(frame)
    notifyLevels.applyFrame(frame)
    people.applyFrame(frame)
    messages.applyFrame(frame)
    refreshMembersOn(frame)
    if (frame.type === 'profile') displayNames.remember(frame.person)
  }

  /** After a few failed attempts, check whether the session itself is the problem. */
  async function checkToken() {
    try {
      await session.api.me()
    } catch (error) {
      // A 401 calls session.expire() through the API client; the view then stops us.
      if (!(error instanceof ApiError)) throw error
    }
  }

  /** Opens the socket for the signed-in user. `overrides` are for tests. */
  function start(overrides: Partial<ChatSocketOptions> = {}) {
    if (socket.value || !session.signedIn) return
    const next = new ChatSocket({
      url: () => socketUrl(),
      fetchMessages: (room, query) =>
        session.api.messages(
          room,
          query.after === undefined
            ? { limit: query.limit }
            : { after: query.after, limit: query.limit },
        ),
      onFrame: dispatch,
      onHistory: (batch) => messages.applyHistory(batch),
      onStatus: (next, info) => {
        status.value = next
        detail.value = info
        if (next === 'waiting' && info.attempt >= 3 && info.attempt % 3 === 0) void checkToken()
      },
      onAuthRevoked: () => session.expire(),
      network: typeof window === 'undefined' ? null : window,
      visibility: typeof document === 'undefined' ? null : document,
      ...overrides,
    })
    socket.value = next
    messages.setSender(next)
    rooms.setReadSender(next)
    next.start()
  }

  function stop() {
    socket.value?.stop()
    socket.value = null
    messages.setSender(null)
    rooms.setReadSender(null)
    status.value = 'idle'
    detail.value = { attempt: 0, retryAt: null }
    lastTyping.clear()
    announced.clear()
  }

  function reconnectNow() {
    socket.value?.reconnectNow()
  }

  /** Call on each keystroke in the composer; throttled. */
  function typing(room: string) {
    const now = Date.now()
    if (now - (lastTyping.get(room) ?? 0) < TYPING_THROTTLE_MS) return
    lastTyping.set(room, now)
    announced.add(room)
    socket.value?.sendTyping(room)
  }

  /** The draft was emptied: end the typing line on the other screens now, if one is showing. */
  function stoppedTyping(room: string) {
    if (!announced.delete(room)) return
    lastTyping.delete(room)
    socket.value?.sendTypingStop(room)
  }

  /** The message was sent (it ends the typing line by itself): the next keystroke may announce
   * typing again at once. */
  function sent(room: string) {
    lastTyping.delete(room)
    announced.delete(room)
  }

  return { status, detail, socket, start, stop, reconnectNow, typing, stoppedTyping, sent }
})
