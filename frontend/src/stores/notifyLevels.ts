// The user's notification level in each room (docs/protocol.md "Notification levels"). The
// server keeps them, so they follow the user to every tab and device: the welcome lists the rooms
// whose level is not the default, and a `notify` frame brings each change, this tab's included.
// A muted room shows no unread or mention badge and leaves the tab title's count.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import type { NotifyLevel, ServerFrame } from '@/protocol/frames'
import { defaultNotifyLevel } from '@/utils/notifyLevels'
import { useRoomsStore, type UnreadCount } from './rooms'
import { useSessionStore } from './session'

const silent: UnreadCount = { count: 0, more: false, mentions: 0 }

export const useNotifyLevelsStore = defineStore('notifyLevels', () => {
  const session = useSessionStore()
  const rooms = useRoomsStore()
  /** room -> the level, only where it differs from the room's default. */
  const chosen = ref<Record<string, NotifyLevel>>({})

  function levelOf(room: string): NotifyLevel {
    return chosen.value[room] ?? defaultNotifyLevel(room)
  }

  function isMuted(room: string): boolean {
    return levelOf(room) === 'muted'
  }

  function remember(room: string, level: NotifyLevel) {
    const rest = { ...chosen.value }
    delete rest[room]
    chosen.value = level === defaultNotifyLevel(room) ? rest : { ...rest, [room]: level }
  }

  /** The unread counts the badges and the title show: none for a muted room. */
  const badges = computed<Record<string, UnreadCount>>(() => {
    const result: Record<string, UnreadCount> = {}
    for (const [room, count] of Object.entries(rooms.unread)) {
      result[room] = isMuted(room) ? silent : count
    }
    return result
  })

  function applyFrame(frame: ServerFrame) {
    if (frame.type === 'welcome') {
      chosen.value = { ...(frame.notify ?? {}) }
    } else if (frame.type === 'notify') {
      remember(frame.room, frame.level)
    } else if (
      frame.type === 'membership' &&
      !frame.joined &&
      frame.user_name === session.userName
    ) {
      // Leaving a room forgets its level on the server too.
      remember(frame.room, defaultNotifyLevel(frame.room))
    }
  }

  /** Sets the level on the server; shown here at once, and in other tabs by their frame. */
  async function set(room: string, level: NotifyLevel) {
    const before = levelOf(room)
    remember(room, level)
    try {
      const answer = await session.api.setNotifyLevel(room, level)
      remember(answer.room, answer.level)
    } catch (error) {
      remember(room, before)
      throw error
    }
  }

  function reset() {
    chosen.value = {}
  }

  return { chosen, levelOf, isMuted, badges, applyFrame, set, reset }
})
