import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import RoomListItem from '../RoomListItem.vue'

function mountItem(href?: string, unread = { count: 0, more: false, mentions: 0 }) {
  return mount(RoomListItem, {
    props: {
      room: 'design',
      label: 'design',
      direct: false,
      active: true,
      unread,
      ...(href ? { href } : {}),
    },
    attachTo: document.body,
  })
}

describe('RoomListItem', () => {
  it('is a link to the room: a plain click opens it here, a modified one is the browser’s', async () => {
    const wrapper = mountItem('/r/design')
    const link = wrapper.get('a[data-testid="room-item"]')
    expect(link.attributes('href')).toBe('/r/design')
    expect(link.attributes('aria-current')).toBe('page')
    const plain = new MouseEvent('click', { bubbles: true, cancelable: true, button: 0 })
    link.element.dispatchEvent(plain)
    expect(plain.defaultPrevented).toBe(true)
    expect(wrapper.emitted('open')).toEqual([['design']])
    // Seen after the row's handler; then stopped, as jsdom cannot open tabs.
    let leftToBrowser = false
    const browser = (event: Event) => {
      leftToBrowser = !event.defaultPrevented
      event.preventDefault()
    }
    window.addEventListener('click', browser)
    link.element.dispatchEvent(
      new MouseEvent('click', { bubbles: true, cancelable: true, ctrlKey: true }),
    )
    window.removeEventListener('click', browser)
    expect(leftToBrowser).toBe(true)
    expect(wrapper.emitted('open')).toHaveLength(1)
    wrapper.unmount()
  })

  it('shows mentions of the reader in their own badge beside the unread count', () => {
    const wrapper = mountItem(undefined, { count: 4, more: false, mentions: 2 })
    const row = wrapper.get('[data-testid="room-item"]')
    expect(row.classes()).toContain('mentioned')
    expect(wrapper.get('[data-testid="mention-badge"]').text()).toContain('@2')
    expect(wrapper.get('[data-testid="mention-badge"]').text()).toContain('2 mentions of you')
    expect(wrapper.get('[data-testid="unread-badge"]').text()).toContain('4')
    const quiet = mountItem(undefined, { count: 4, more: false, mentions: 0 })
    expect(quiet.find('[data-testid="mention-badge"]').exists()).toBe(false)
    expect(quiet.get('[data-testid="room-item"]').classes()).not.toContain('mentioned')
  })

  it('is a button without an address', async () => {
    const wrapper = mountItem()
    await wrapper.get('button[data-testid="room-item"]').trigger('click')
    expect(wrapper.emitted('open')).toEqual([['design']])
  })
})
