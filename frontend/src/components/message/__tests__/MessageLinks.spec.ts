import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { msg } from '@/protocol/__tests__/factories'
import { useMessagesStore } from '@/stores/messages'
import { useSessionStore } from '@/stores/session'
import { applyFrame, emptyTimelineState } from '@/stores/messagesReducer'
import MessageList from '../MessageList.vue'
import MessageListItem from '../MessageListItem.vue'

beforeEach(() => {
  setActivePinia(createPinia())
  useSessionStore().userName = 'alice'
})
function stubClipboard(writeText: (text: string) => Promise<void>) {
  Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true })
}

afterEach(() => {
  Reflect.deleteProperty(navigator, 'clipboard')
  vi.useRealTimers()
  document.body.innerHTML = ''
})

function mountList(room: string, ids: number[]) {
  useMessagesStore().applyHistory({
    room,
    messages: ids.map((id) => msg(id, { room })),
    mode: 'latest',
    hasMore: false,
  })
  return mount(MessageList, { props: { room, label: room }, attachTo: document.body })
}

describe('Copy link', () => {
  it('copies the message’s absolute address from the toolbar and says so', async () => {
    vi.useFakeTimers()
    const writeText = vi.fn<(text: string) => Promise<void>>(async () => undefined)
    stubClipboard(writeText)
    const wrapper = mountList('design', [41, 42])
    const status = wrapper.get('[data-testid="link-copied"]')
    expect(status.attributes('role')).toBe('status')
    expect(status.text()).toBe('')
    await wrapper.get('[data-id="42"] [data-testid="action-copy-link"]').trigger('click')
    await flushPromises()
    expect(writeText).toHaveBeenCalledWith(`${location.origin}/r/design/42`)
    expect(status.text()).toBe('Link copied')
    vi.advanceTimersByTime(4000)
    await flushPromises()
    expect(status.text()).toBe('')
  })

  it('is in the phone menu too, and a direct message’s link names its room', async () => {
    const writeText = vi.fn<(text: string) => Promise<void>>(async () => undefined)
    stubClipboard(writeText)
    const wrapper = mountList('dm:alice:bob', [7])
    await wrapper.get('[data-id="7"] [data-testid="action-more"]').trigger('click')
    await wrapper.get('[data-testid="menu-copy-link"]').trigger('click')
    await flushPromises()
    expect(writeText).toHaveBeenCalledWith(`${location.origin}/r/dm:alice:bob/7`)
    expect(wrapper.find('[data-testid="message-menu"]').exists()).toBe(false)
  })

  it('shows the link to copy by hand when the clipboard refuses', async () => {
    stubClipboard(async () => Promise.reject(new Error('denied')))
    document.execCommand = vi.fn(() => false)
    const wrapper = mountList('design', [42])
    await wrapper.get('[data-id="42"] [data-testid="action-copy-link"]').trigger('click')
    await flushPromises()
    expect(wrapper.get('[data-testid="link-copied"]').text()).toBe(
      `The link could not be copied. Here it is: ${location.origin}/r/design/42`,
    )
  })

  it('is offered on a thread’s messages too', async () => {
    const state = applyFrame(emptyTimelineState(), { type: 'message', message: msg(9) }, 'alice')
    const wrapper = mount(MessageListItem, {
      props: { item: state.rooms.general!.items[0]!, grouped: false, me: 'alice', place: 'thread' },
    })
    await wrapper.get('[data-testid="action-copy-link"]').trigger('click')
    expect(wrapper.emitted('copyLink')).toHaveLength(1)
    await wrapper.get('[data-testid="action-more"]').trigger('click')
    expect(wrapper.find('[data-testid="menu-copy-link"]').exists()).toBe(true)
  })
})

describe('scrolling to a linked id', () => {
  it('finds a join notice as it finds a message, and highlights it', async () => {
    const scrolled: Element[] = []
    Element.prototype.scrollIntoView = function (this: Element) {
      scrolled.push(this)
    }
    useMessagesStore().applyHistory({
      room: 'design',
      messages: [
        msg(41, { room: 'design' }),
        msg(42, { room: 'design', kind: 'join', user_name: 'carol' }),
      ],
      mode: 'latest',
      hasMore: false,
    })
    const wrapper = mount(MessageList, {
      props: { room: 'design', label: 'design' },
      attachTo: document.body,
    })
    const list = wrapper.vm as unknown as { scrollToMessage: (id: number) => Promise<boolean> }
    expect(await list.scrollToMessage(42)).toBe(true)
    await flushPromises()
    const notice = wrapper.get('[data-testid="notice"][data-id="42"]')
    expect(scrolled).toEqual([notice.element])
    expect(notice.classes()).toContain('highlighted')
    expect(await list.scrollToMessage(40)).toBe(false)
  })
})
