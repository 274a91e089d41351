// Keeps the open room and the URL in step, the URL deciding. Each navigation (a click in the
// sidebar, back and forward, a reload, a new tab, a pasted link) is resolved to a room the user
// is in: a public room is joined, a direct conversation opened, when needed. A message link then
// scrolls to its message, loading older history as needed. A room or person that cannot be
// opened leaves a notice and goes to #general; a message that is not there leaves a notice and
// stays in its room.
import { computed, nextTick, onBeforeUnmount, ref, watch } from 'vue'
import { useRoute, useRouter } from 'vue-router'
import { ApiError } from '@/api/http'
import { t, type MessageKey, type Params } from '@/i18n'
import { GENERAL_ROOM, ROOM_NAME_PATTERN, directRoomOf, isDirectRoom } from '@/protocol/frames'
import { chatPath, chatTarget, messageIdOf, type ChatTarget } from '@/router/links'
import { useMessagesStore } from '@/stores/messages'
import { useRoomsStore } from '@/stores/rooms'
import { useSessionStore } from '@/stores/session'

/** The room `/` opens on this device, per user (localStorage). */
export const lastRoomKey = (user: string) => `chatd.lastRoom.${user}`

/** Why a link could not be followed, in the reader's words. */
class LinkError extends Error {
  constructor(
    readonly key: MessageKey,
    readonly params: Params = {},
  ) {
    super(key)
  }
}

function failure(target: ChatTarget, error: unknown): LinkError {
  if (error instanceof LinkError) return error
  const code = error instanceof ApiError ? error.code : 'network'
  if (target.kind === 'room') {
    if (code === 'room_not_found' || code === 'invalid_room' || code === 'not_found')
      return new LinkError('links.roomNotFound', { room: target.room })
    if (code === 'forbidden') return new LinkError('links.roomForbidden', { room: target.room })
  } else if (target.kind === 'dm') {
    if (code === 'user_not_found' || code === 'invalid_name')
      return new LinkError('links.userNotFound', { name: target.user })
    if (code === 'bad_request') return new LinkError('links.dmSelf')
    if (code === 'group_dm_too_large') return new LinkError('links.groupTooLarge')
  }
  return new LinkError('links.openFailed', { code })
}

/**
 * `scrollToMessage` brings a message of the open room into view (loading older pages), and says
 * whether it could.
 */
export function useChatRoute(scrollToMessage: (id: number) => Promise<boolean>) {
  const route = useRoute()
  const router = useRouter()
  const session = useSessionStore()
  const rooms = useRoomsStore()
  const messages = useMessagesStore()

  const me = computed(() => session.userName ?? '')
  /** The welcome frame has listed the user's rooms (#general is always one of them). */
  const ready = computed(() => rooms.joined.length > 0)
  const notice = ref<{ key: MessageKey; params: Params } | null>(null)
  /** The next navigation is our own fall-back, which shows the notice just set. */
  let keepNotice = false
  /** Bumped by each resolution: an older one still running stops at its next step. */
  const generation = ref(0)
  /** The route last resolved, and the room it opened. */
  let settled: { path: string; room: string } | null = null

  const noticeText = computed(() => (notice.value ? t(notice.value.key, notice.value.params) : ''))

  function storedRoom(): string | null {
    try {
      return localStorage.getItem(lastRoomKey(me.value))
    } catch {
      return null
    }
  }

  function remember(room: string) {
    try {
      localStorage.setItem(lastRoomKey(me.value), room)
    } catch {
      // storage disabled: `/` opens #general
    }
  }

  /** Resolves true once `condition` holds, false if another navigation came first. */
  function until(condition: () => boolean, cancelled: () => boolean): Promise<boolean> {
    if (cancelled()) return Promise.resolve(false)
    if (condition()) return Promise.resolve(true)
    return new Promise((resolve) => {
      const stop = watch([condition, generation], () => {
        if (cancelled() || condition()) {
          stop()
          resolve(!cancelled())
        }
      })
    })
  }

  async function fallBack(error: LinkError, room = GENERAL_ROOM) {
    notice.value = { key: error.key, params: error.params }
    keepNotice = true
    const failed = await router.replace(chatPath(room, me.value))
    if (failed) keepNotice = false
  }

  /** The room a target opens, after joining or opening it; null when it went elsewhere. */
  async function roomOf(target: Exclude<ChatTarget, { kind: 'home' }>): Promise<string | null> {
    if (target.kind === 'dm') {
      // `/dm/bob` or, for a group, `/dm/bob,carol` (any order; repeats and oneself count once).
      const others = [...new Set(target.user.split(','))].filter((u) => u !== '' && u !== me.value)
      if (others.length === 0) throw new LinkError('links.dmSelf')
      const room = directRoomOf(me.value, others)
      if (rooms.joined.includes(room)) return room
      return others.length === 1
        ? await rooms.openDirect(others[0] as string)
        : await rooms.openGroup(others)
    }
    const room = target.room
    if (isDirectRoom(room)) {
      // A shared message link names the direct room itself; its two members read it at
      // /dm/<the other one>.
      if (!rooms.joined.includes(room)) throw new LinkError('links.conversationForbidden')
      await router.replace(chatPath(room, me.value, target.messageId))
      return null
    }
    if (!ROOM_NAME_PATTERN.test(room)) throw new LinkError('links.roomNotFound', { room })
    if (!rooms.joined.includes(room)) await rooms.join(room)
    return room
  }

  async function showMessage(room: string, raw: string, cancelled: () => boolean) {
    const id = messageIdOf(raw)
    if (id === null) return fallBack(new LinkError('links.messageNotFound'), room)
    // Older pages load from the room's newest page, which arrives after the welcome.
    if (!(await until(() => messages.timeline(room)?.loaded === true, cancelled))) return
    const held = await messages.fetchMessage(room, id)
    if (cancelled()) return
    if (!held) {
      const key = messages.isMissing(room, id)
        ? 'links.messageNotFound'
        : 'links.messageUnavailable'
      return fallBack(new LinkError(key), room)
    }
    await nextTick()
    if (!(await scrollToMessage(id)) && !cancelled()) {
      notice.value = { key: 'links.messageTooOld', params: {} }
    }
  }

  async function resolve() {
    const target = chatTarget(route)
    if (!target) return
    const mine = ++generation.value
    const cancelled = () => mine !== generation.value
    if (!ready.value) {
      // Before the welcome frame lists the rooms, show the room asked for at once; it is checked
      // (and joined) when the list arrives.
      const early = target.kind === 'room' ? target.room : storedRoom()
      if (target.kind !== 'dm' && early && ROOM_NAME_PATTERN.test(early)) rooms.open(early)
      return
    }
    if (target.kind === 'home') {
      const last = storedRoom()
      const room = last && rooms.joined.includes(last) ? last : GENERAL_ROOM
      await router.replace(chatPath(room, me.value))
      return
    }
    let room: string | null
    try {
      room = await roomOf(target)
    } catch (error) {
      if (!cancelled()) await fallBack(failure(target, error))
      return
    }
    if (cancelled()) {
      // Joining moved the open room; the navigation that came since decides.
      if (settled) rooms.open(settled.room)
      return
    }
    if (room === null) return
    rooms.open(room)
    remember(room)
    settled = { path: route.fullPath, room }
    if (target.messageId !== undefined) await showMessage(room, target.messageId, cancelled)
  }

  watch(
    () => route.fullPath,
    () => {
      if (keepNotice) keepNotice = false
      else notice.value = null
      void resolve()
    },
    { immediate: true },
  )
  watch(ready, (isReady) => {
    if (isReady) void resolve()
  })
  // The rooms store goes back to #general by itself when the open room is left, here or on
  // another device: the URL follows.
  watch(
    () => rooms.active,
    (active) => {
      if (active !== GENERAL_ROOM || !settled || settled.room === GENERAL_ROOM) return
      if (settled.path !== route.fullPath) return
      void router.replace(chatPath(GENERAL_ROOM, me.value))
    },
  )
  onBeforeUnmount(() => {
    generation.value++
  })

  /** Opens a room from the UI: a new history entry. */
  function open(room: string) {
    return router.push(chatPath(room, me.value))
  }

  function dismissNotice() {
    notice.value = null
  }

  return { notice: noticeText, dismissNotice, open }
}
