// Who is online (and of them, who is away: every connection idle), and who is typing where. Typing entries expire TYPING_TTL_MS after the last
// `typing` frame, or at once when that user's `typing_stop` (the draft was cleared) or message
// arrives.
import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { PresenceStatus, ServerFrame } from '@/protocol/frames'

export const TYPING_TTL_MS = 5000

export const usePresenceStore = defineStore('presence', () => {
  /** Online user names, sorted. */
  const online = ref<string[]>([])
  /** Those of `online` who are away. */
  const away = ref<Set<string>>(new Set())
  /** room -> user names typing there, in the order they started. */
  const typing = ref<Record<string, string[]>>({})
  const timers = new Map<string, ReturnType<typeof setTimeout>>()

  function setOnline(user: string, isOnline: boolean) {
    const set = new Set(online.value)
    if (isOnline) set.add(user)
    else set.delete(user)
    online.value = [...set].sort((a, b) => a.localeCompare(b))
  }

  function setAway(user: string, isAway: boolean) {
    if (away.value.has(user) === isAway) return
    const set = new Set(away.value)
    if (isAway) set.add(user)
    else set.delete(user)
    away.value = set
  }

  function statusOf(user: string): PresenceStatus {
    if (!online.value.includes(user)) return 'offline'
    return away.value.has(user) ? 'away' : 'online'
  }

  function stopTyping(room: string, user: string) {
    const key = `${room}\n${user}`
    const timer = timers.get(key)
    if (timer) clearTimeout(timer)
    timers.delete(key)
    const list = typing.value[room]
    if (list?.includes(user)) {
      typing.value = { ...typing.value, [room]: list.filter((u) => u !== user) }
    }
  }

  function startTyping(room: string, user: string) {
    const key = `${room}\n${user}`
    const timer = timers.get(key)
    if (timer) clearTimeout(timer)
    timers.set(
      key,
      setTimeout(() => stopTyping(room, user), TYPING_TTL_MS),
    )
    const list = typing.value[room] ?? []
    if (!list.includes(user)) typing.value = { ...typing.value, [room]: [...list, user] }
  }

  function applyFrame(frame: ServerFrame) {
    switch (frame.type) {
      case 'welcome':
        online.value = [...new Set(frame.online)].sort((a, b) => a.localeCompare(b))
        away.value = new Set(frame.away ?? [])
        break
      case 'presence':
        setOnline(frame.user_name, frame.online)
        setAway(frame.user_name, frame.status === 'away')
        if (!frame.online) {
          for (const room of Object.keys(typing.value)) stopTyping(room, frame.user_name)
        }
        break
      case 'typing':
        startTyping(frame.room, frame.user_name)
        break
      case 'typing_stop':
        stopTyping(frame.room, frame.user_name)
        break
      case 'message':
        // A reaction or an edit elsewhere does not end what the user is typing.
        if (frame.message.kind === 'text') stopTyping(frame.message.room, frame.message.user_name)
        break
    }
  }

  function typingIn(room: string): string[] {
    return typing.value[room] ?? []
  }

  function reset() {
    for (const timer of timers.values()) clearTimeout(timer)
    timers.clear()
    online.value = []
    away.value = new Set()
    typing.value = {}
  }

  return { online, away, typing, applyFrame, statusOf, typingIn, reset }
})
