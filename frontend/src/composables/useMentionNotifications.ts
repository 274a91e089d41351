// Desktop notifications (Notification API) for new messages while the tab is hidden, as each
// room's notification level lets through (utils/notifyLevels.ts: all, mentions only, muted). Permission is asked only from a click ("Enable desktop notifications"), never on
// page load; the browser remembers the answer, and "Not now" is remembered here.
import { onBeforeUnmount, ref, watch } from 'vue'
import { useMessagesStore } from '@/stores/messages'
import { useNotifyLevelsStore } from '@/stores/notifyLevels'
import { useRoomsStore } from '@/stores/rooms'
import { useSessionStore } from '@/stores/session'
import { mentionsUser } from '@/utils/mentions'
import { notifies } from '@/utils/notifyLevels'
import { isDirectRoom } from '@/protocol/frames'
import { t } from '@/i18n'

export const NOTIFY_PROMPT_DISMISSED_KEY = 'chatd.notifications.dismissed'

export type NotifyPermission = NotificationPermission | 'unsupported'

function currentPermission(): NotifyPermission {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission
}

export function useMentionNotifications() {
  const rooms = useRoomsStore()
  const messages = useMessagesStore()
  const session = useSessionStore()
  const levels = useNotifyLevelsStore()
  const permission = ref<NotifyPermission>(currentPermission())
  const promptDismissed = ref(localStorage.getItem(NOTIFY_PROMPT_DISMISSED_KEY) === '1')

  async function enable() {
    if (typeof Notification === 'undefined') return
    permission.value = await Notification.requestPermission()
  }

  function dismissPrompt() {
    localStorage.setItem(NOTIFY_PROMPT_DISMISSED_KEY, '1')
    promptDismissed.value = true
  }

  /** room -> the newest id looked at for notifications: older mentions never notify. */
  const seen = new Map<string, number>()

  function newestId(room: string): number {
    const items = messages.timeline(room)?.items ?? []
    for (let i = items.length - 1; i >= 0; i--) if (items[i]!.id !== null) return items[i]!.id!
    return 0
  }

  function notifyNew(room: string) {
    const me = session.userName ?? ''
    const from = seen.get(room)
    const items = messages.timeline(room)?.items ?? []
    seen.set(room, Math.max(from ?? 0, newestId(room)))
    // The first look at a room only sets where new messages start.
    if (from === undefined) return
    if (document.visibilityState !== 'hidden' || permission.value !== 'granted') return
    const level = levels.levelOf(room)
    for (const item of items) {
      if (item.id === null || item.id <= from || !notifies(item, me, level)) continue
      const names = { user: item.user_name, room: rooms.displayName(room) }
      const notification = new Notification(
        mentionsUser(item, me)
          ? t('notifications.mentioned', names)
          : isDirectRoom(room)
            ? t('notifications.direct', names)
            : t('notifications.message', names),
        { body: item.content, tag: `chatd-${item.id}` },
      )
      notification.onclick = () => {
        window.focus()
        rooms.open(room)
      }
    }
  }

  const stop = watch(
    () =>
      rooms.joined.map(
        (room) =>
          [room, rooms.unread[room]?.count ?? 0, rooms.unread[room]?.mentions ?? 0] as const,
      ),
    (counts) => {
      for (const [room] of counts) notifyNew(room)
    },
    { immediate: true },
  )
  onBeforeUnmount(stop)

  return { permission, promptDismissed, enable, dismissPrompt }
}
