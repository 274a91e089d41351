import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { nextTick } from 'vue'
import TheNotificationPrompt from '../TheNotificationPrompt.vue'
import { NOTIFY_PROMPT_DISMISSED_KEY } from '@/composables/useMentionNotifications'
import { msg } from '@/protocol/__tests__/factories'
import { useMessagesStore } from '@/stores/messages'
import { useNotifyLevelsStore } from '@/stores/notifyLevels'
import { useRoomsStore } from '@/stores/rooms'
import { useSessionStore } from '@/stores/session'

/** A stand-in for the browser's Notification: records what was shown. */
class FakeNotification {
  static permission: NotificationPermission = 'default'
  static shown: Array<{ title: string; body?: string }> = []
  static requestPermission = vi.fn(async () => {
    FakeNotification.permission = 'granted'
    return FakeNotification.permission
  })
  onclick: (() => void) | null = null
  constructor(title: string, options?: NotificationOptions) {
    FakeNotification.shown.push({ title, body: options?.body })
  }
}

function setVisibility(state: DocumentVisibilityState) {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state })
}

describe('TheNotificationPrompt and mention notifications', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    localStorage.clear()
    FakeNotification.permission = 'default'
    FakeNotification.shown = []
    FakeNotification.requestPermission.mockClear()
    vi.stubGlobal('Notification', FakeNotification)
    useSessionStore().userName = 'alice'
    useRoomsStore().applyFrame({
      type: 'welcome',
      user_name: 'alice',
      rooms: ['general'],
      online: [],
      read: [{ room: 'general', last_read_id: 0, unread: 0, as_of: 0, mentions: 0 }],
    })
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    setVisibility('visible')
  })

  it('asks for permission only when clicked, and "Not now" is remembered', async () => {
    const wrapper = mount(TheNotificationPrompt)
    expect(FakeNotification.requestPermission).not.toHaveBeenCalled()
    await wrapper.get('[data-testid="notify-enable"]').trigger('click')
    await flushPromises()
    expect(FakeNotification.requestPermission).toHaveBeenCalledOnce()
    expect(wrapper.find('[data-testid="notify-prompt"]').exists()).toBe(false)

    FakeNotification.permission = 'default'
    const again = mount(TheNotificationPrompt)
    await again.get('[data-testid="notify-not-now"]').trigger('click')
    expect(localStorage.getItem(NOTIFY_PROMPT_DISMISSED_KEY)).toBe('1')
    expect(again.find('[data-testid="notify-prompt"]').exists()).toBe(false)
    expect(mount(TheNotificationPrompt).find('[data-testid="notify-prompt"]').exists()).toBe(false)
  })

  it('notifies a new mention while the tab is hidden, and nothing else', async () => {
    FakeNotification.permission = 'granted'
    mount(TheNotificationPrompt)
    const messages = useMessagesStore()
    setVisibility('hidden')
    messages.applyFrame({ type: 'message', message: msg(1, { content: 'no mention' }) })
    messages.applyFrame({
      type: 'message',
      message: msg(2, { prev_id: 1, content: '@alice look', mentions: ['alice'] }),
    })
    await nextTick()
    expect(FakeNotification.shown).toEqual([
      { title: 'bob mentioned you in general', body: '@alice look' },
    ])
    // Visible: the reader sees it in the page instead.
    setVisibility('visible')
    messages.applyFrame({
      type: 'message',
      message: msg(3, { prev_id: 2, content: '@room hi', mentions_room: true }),
    })
    await nextTick()
    expect(FakeNotification.shown).toHaveLength(1)
  })

  it('follows the room’s level: all notifies every message, muted nothing, mentions only those', async () => {
    FakeNotification.permission = 'granted'
    mount(TheNotificationPrompt)
    const messages = useMessagesStore()
    const levels = useNotifyLevelsStore()
    setVisibility('hidden')
    levels.applyFrame({ type: 'notify', room: 'general', level: 'all' })
    messages.applyFrame({ type: 'message', message: msg(1, { content: 'plain' }) })
    await nextTick()
    expect(FakeNotification.shown).toEqual([{ title: 'bob in #general', body: 'plain' }])

    levels.applyFrame({ type: 'notify', room: 'general', level: 'muted' })
    messages.applyFrame({
      type: 'message',
      message: msg(2, { prev_id: 1, content: '@alice muted', mentions: ['alice'] }),
    })
    await nextTick()
    expect(FakeNotification.shown).toHaveLength(1)

    levels.applyFrame({ type: 'notify', room: 'general', level: 'mentions' })
    messages.applyFrame({
      type: 'message',
      message: msg(3, { prev_id: 2, content: 'plain again' }),
    })
    messages.applyFrame({
      type: 'message',
      message: msg(4, { prev_id: 3, content: '@alice here', mentions: ['alice'] }),
    })
    await nextTick()
    expect(FakeNotification.shown.slice(1)).toEqual([
      { title: 'bob mentioned you in general', body: '@alice here' },
    ])
  })
})
