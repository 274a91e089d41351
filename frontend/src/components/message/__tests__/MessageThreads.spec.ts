import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { StoredFrame } from '@/protocol/frames'
import { msg } from '@/protocol/__tests__/factories'
import { useMessagesStore } from '@/stores/messages'
import { useSessionStore } from '@/stores/session'
import MessageList from '../MessageList.vue'
import MessageThreadPanel from '../MessageThreadPanel.vue'

function jsonResponse(status: number, body: unknown) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  })
}

const scrolled: Element[] = []
beforeEach(() => {
  setActivePinia(createPinia())
  const session = useSessionStore()
  session.userName = 'alice'
  scrolled.length = 0
  Element.prototype.scrollIntoView = function (this: Element) {
    scrolled.push(this)
  }
})
afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

describe('MessageList: replies', () => {
  it('fetches a quoted parent that is not loaded, and scrolls to it through older pages', async () => {
    const messages = useMessagesStore()
    messages.applyHistory({
      room: 'general',
      messages: [msg(50), msg(51, { reply_to: 10, content: 'answer' })],
      mode: 'latest',
      hasMore: true,
      asOf: 51,
    })
    const fetch = vi.fn(async (url: string) => {
      if (url === '/api/rooms/general/messages/10') {
        return jsonResponse(200, { message: msg(10, { content: 'the question' }), as_of: 51 })
      }
      const before = Number(new URL(url, 'http://x').searchParams.get('before'))
      const ids = Array.from({ length: 20 }, (_, i) => before - 20 + i).filter((id) => id > 0)
      const page = ids.map((id) => msg(id, id === 10 ? { content: 'the question' } : {}))
      return jsonResponse(200, { messages: page, has_more: ids[0]! > 1 })
    })
    vi.stubGlobal('fetch', fetch)
    const wrapper = mount(MessageList, {
      props: { room: 'general', label: 'general' },
      attachTo: document.body,
    })
    await flushPromises()
    expect(wrapper.get('[data-testid="reply-quote-text"]').text()).toBe('the question')
    await wrapper.get('[data-testid="reply-quote"]').trigger('click')
    await flushPromises()
    const target = wrapper.get('[data-testid="message"][data-id="10"]')
    expect(scrolled).toEqual([target.element])
    expect(target.classes()).toContain('highlighted')
  })
})

describe('MessageThreadPanel', () => {
  it('shows the root and its replies, pages older ones, and replies into the thread', async () => {
    const messages = useMessagesStore()
    const sent: StoredFrame[] = []
    messages.setSender({ send: (f) => (sent.push(f), 'sent') })
    messages.applyHistory({
      room: 'general',
      messages: [msg(1, { content: 'root', reply_count: 3 })],
      mode: 'latest',
      hasMore: false,
      asOf: 4,
    })
    const fetch = vi.fn(async (url: string) => {
      if (url.endsWith('/replies?limit=50')) {
        return jsonResponse(200, {
          messages: [msg(3, { reply_to: 1 }), msg(4, { reply_to: 1 })],
          has_more: true,
          as_of: 4,
        })
      }
      expect(url).toBe('/api/rooms/general/messages/1/replies?before=3&limit=50')
      return jsonResponse(200, { messages: [msg(2, { reply_to: 1 })], has_more: false, as_of: 4 })
    })
    vi.stubGlobal('fetch', fetch)
    await messages.openThread('general', 1)
    const wrapper = mount(MessageThreadPanel, { attachTo: document.body })
    await flushPromises()
    expect(wrapper.get('[data-testid="thread-root"]').text()).toContain('root')
    const replies = () =>
      wrapper.get('[data-testid="thread-messages"]').findAll('[data-testid="message"]')
    expect(replies().map((r) => r.attributes('data-id'))).toEqual(['3', '4'])
    await wrapper.get('[data-testid="thread-load-older"]').trigger('click')
    await flushPromises()
    expect(replies().map((r) => r.attributes('data-id'))).toEqual(['2', '3', '4'])
    expect(wrapper.find('[data-testid="thread-load-older"]').exists()).toBe(false)
    // a live reply and a live edit of a reply
    messages.applyFrame({ type: 'message', message: msg(5, { reply_to: 1, content: 'live' }) })
    messages.applyFrame({
      type: 'message',
      message: msg(6, { kind: 'edit', target_id: 3, content: 'edited', reply_to: 1 }),
    })
    await flushPromises()
    expect(replies().map((r) => r.attributes('data-id'))).toEqual(['2', '3', '4', '5'])
    expect(replies()[1]!.text()).toContain('edited')
    expect(wrapper.text()).toContain('4 replies')
    // the thread's composer sends a reply to the root
    const input = wrapper.get('[data-testid="thread-composer-input"]')
    await input.setValue('me too')
    await input.trigger('keydown', { key: 'Enter' })
    expect(sent.at(-1)).toMatchObject({ type: 'send', content: 'me too', reply_to: 1 })
    // it shows at once, as sending
    expect(replies().at(-1)?.attributes('data-status')).toBe('sending')
    // Escape closes the panel
    await wrapper.get('[data-testid="thread-panel"]').trigger('keydown', { key: 'Escape' })
    expect(messages.thread).toBeNull()
  })
})
