import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { applyFrame, emptyTimelineState, type TimelineItem } from '@/stores/messagesReducer'
import { msg } from '@/protocol/__tests__/factories'
import MessageListItem from '../MessageListItem.vue'

// Rows and suggestions read display names from a store.
beforeEach(() => setActivePinia(createPinia()))

function item(overrides: Partial<TimelineItem> = {}): TimelineItem {
  const state = applyFrame(emptyTimelineState(), { type: 'message', message: msg(1) }, 'me')
  return { ...state.rooms.general!.items[0]!, ...overrides }
}

describe('MessageListItem', () => {
  it('shows HTML in a message as text', () => {
    const content = '<img src=x onerror="alert(1)"><script>alert(2)</script><b>bold</b>'
    const wrapper = mount(MessageListItem, {
      props: { item: item({ content }), grouped: false, me: 'me' },
    })
    expect(wrapper.find('img').exists()).toBe(false)
    expect(wrapper.find('script').exists()).toBe(false)
    expect(wrapper.find('b').exists()).toBe(false)
    expect(wrapper.get('[data-testid="message-text"]').text()).toBe(content)
  })

  it('makes http(s) links clickable in a new tab, and nothing else', () => {
    const content = 'docs: https://example.com/x?y=1. Not javascript:alert(1) nor ftp://a.b'
    const wrapper = mount(MessageListItem, {
      props: { item: item({ content }), grouped: false, me: 'me' },
    })
    const links = wrapper.findAll('a')
    expect(links).toHaveLength(1)
    expect(links[0]!.attributes()).toMatchObject({
      href: 'https://example.com/x?y=1',
      target: '_blank',
      rel: 'noopener noreferrer nofollow ugc',
    })
    expect(wrapper.get('[data-testid="message-text"]').text()).toBe(content)
  })

  it('shows the time in the reader’s zone with a machine-readable datetime', () => {
    const wrapper = mount(MessageListItem, { props: { item: item(), grouped: false, me: 'me' } })
    const time = wrapper.get('time')
    expect(time.attributes('datetime')).toBe(new Date(msg(1).ts).toISOString())
    expect(time.text()).toMatch(/\d{1,2}:\d{2}/)
  })

  it('hides the author of a grouped message (but not from screen readers)', () => {
    const wrapper = mount(MessageListItem, { props: { item: item(), grouped: true, me: 'me' } })
    expect(wrapper.find('[data-testid="message-author"]').exists()).toBe(false)
    expect(wrapper.get('.sr-only').text()).toContain('bob')
  })

  it('shows sending, and failed with a retry button that emits the client_msg_id', async () => {
    const sending = mount(MessageListItem, {
      props: {
        item: item({ id: null, status: 'sending', client_msg_id: 'c-9' }),
        grouped: false,
        me: 'me',
      },
    })
    expect(sending.text()).toContain('Sending…')
    const failed = mount(MessageListItem, {
      props: {
        item: item({ id: null, status: 'failed', error: 'rate_limited', client_msg_id: 'c-9' }),
        grouped: false,
        me: 'me',
      },
    })
    expect(failed.get('[role="alert"]').text()).toContain('You are sending too fast.')
    await failed.get('[data-testid="retry"]').trigger('click')
    expect(failed.emitted('retry')).toEqual([['c-9']])
  })

  it('renders join and leave messages as notices', () => {
    const wrapper = mount(MessageListItem, {
      props: {
        item: item({ kind: 'leave', content: 'DISCONNECTION_MESSAGE' }),
        grouped: false,
        me: 'me',
      },
    })
    expect(wrapper.get('[data-testid="notice"]').text()).toContain('bob left')
  })
})
