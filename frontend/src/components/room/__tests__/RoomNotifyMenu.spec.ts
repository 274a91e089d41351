import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { useSessionStore } from '@/stores/session'
import RoomNotifyMenu from '../RoomNotifyMenu.vue'
import RoomListItem from '../RoomListItem.vue'

beforeEach(() => {
  setActivePinia(createPinia())
  useSessionStore().userName = 'alice'
})
afterEach(() => {
  vi.unstubAllGlobals()
})

describe('RoomNotifyMenu', () => {
  it('names the level on its button, and saves the one chosen from the radio group', async () => {
    const fetch = vi.fn(
      async () =>
        new Response(JSON.stringify({ room: 'design', level: 'muted' }), {
          status: 200,
          headers: { 'content-type': 'application/json' },
        }),
    )
    vi.stubGlobal('fetch', fetch)
    const wrapper = mount(RoomNotifyMenu, { props: { room: 'design' }, attachTo: document.body })
    const toggle = wrapper.get('[data-testid="notify-level"]')
    expect(toggle.attributes('aria-label')).toBe('Notifications: Mentions only')
    await toggle.trigger('click')
    expect(toggle.attributes('aria-expanded')).toBe('true')
    expect(wrapper.get('legend').text()).toBe('Notifications')
    await new Promise((resolve) => setTimeout(resolve))
    // The current level has the focus: arrow keys move through the group from there.
    expect(document.activeElement).toBe(
      wrapper.get('[data-testid="notify-level-mentions"]').element,
    )
    await wrapper.get('[data-testid="notify-level-muted"]').setValue(true)
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(1))
    expect(toggle.attributes('aria-label')).toBe('Notifications: Muted')
    expect(toggle.attributes('data-level')).toBe('muted')
    await wrapper.get('[data-testid="notify-levels"]').trigger('keydown', { key: 'Escape' })
    expect(wrapper.find('[data-testid="notify-levels"]').exists()).toBe(false)
    await new Promise((resolve) => setTimeout(resolve))
    expect(document.activeElement).toBe(toggle.element)
    wrapper.unmount()
  })

  it('says so when the server refuses, and keeps the level it had', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(
        async () =>
          new Response(JSON.stringify({ error: { code: 'not_member', message: 'no' } }), {
            status: 403,
            headers: { 'content-type': 'application/json' },
          }),
      ),
    )
    const wrapper = mount(RoomNotifyMenu, { props: { room: 'dm:alice:bob' } })
    await wrapper.get('[data-testid="notify-level"]').trigger('click')
    await wrapper.get('[data-testid="notify-level-muted"]').setValue(true)
    await vi.waitFor(() => expect(wrapper.find('[role="alert"]').exists()).toBe(true))
    expect(wrapper.get('[data-testid="notify-level"]').attributes('data-level')).toBe('all')
  })
})

describe('RoomListItem, muted', () => {
  it('is dimmed with a muted icon that has an accessible name', () => {
    const wrapper = mount(RoomListItem, {
      props: {
        room: 'design',
        label: 'design',
        direct: false,
        active: false,
        unread: { count: 0, more: false, mentions: 0 },
        muted: true,
      },
    })
    expect(wrapper.get('[data-testid="room-item"]').classes()).toContain('muted')
    const icon = wrapper.get('[data-testid="muted-icon"]')
    expect(icon.attributes('role')).toBe('img')
    expect(icon.attributes('aria-label')).toBe('muted')
    expect(wrapper.get('[data-testid="room-item"]').text()).toBe('#design')
  })
})
