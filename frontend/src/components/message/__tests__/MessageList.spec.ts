import { mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import { msg } from '@/protocol/__tests__/factories'
import { useMessagesStore } from '@/stores/messages'
import { useSessionStore } from '@/stores/session'
import MessageList from '../MessageList.vue'
import { buildRows } from '../messageRows'

const DAY = 24 * 3600 * 1000

beforeEach(() => {
  setActivePinia(createPinia())
  useSessionStore().userName = 'alice'
})

describe('MessageList', () => {
  it('groups consecutive messages and separates days', () => {
    const day1 = new Date(2026, 10, 26, 10, 0).getTime()
    const messages = useMessagesStore()
    messages.applyHistory({
      room: 'general',
      messages: [
        msg(1, { ts: day1 }),
        msg(2, { ts: day1 + 60_000 }), // bob again, a minute later: grouped
        msg(3, { ts: day1 + 120_000, user_name: 'carol' }),
        msg(4, { ts: day1 + 30 * 60_000, user_name: 'carol' }), // 28 min later: not grouped
        msg(5, { ts: day1 + DAY, user_name: 'carol' }), // next day: separator, not grouped
      ],
      mode: 'latest',
      hasMore: false,
    })
    const wrapper = mount(MessageList, { props: { room: 'general', label: 'general' } })
    const rows = wrapper.findAll('li')
    expect(
      rows.map((r) =>
        r.classes().includes('day') ? 'day' : r.classes().includes('grouped') ? 'g' : 'm',
      ),
    ).toEqual(['day', 'm', 'g', 'm', 'm', 'day', 'm'])
    // A live region around a real list: the <ol> keeps its list semantics, every child an <li>.
    const log = wrapper.get('[role="log"]')
    expect(log.attributes('aria-live')).toBe('polite')
    const list = log.get('ol')
    expect(list.attributes('role')).toBeUndefined()
    expect([...list.element.children].every((child) => child.tagName === 'LI')).toBe(true)
    expect(list.findAll('li').every((li) => li.attributes('role') === undefined)).toBe(true)
    expect(wrapper.get('[data-testid="room-beginning"]').text()).toContain('#general')
  })

  it('offers older messages when there are some', () => {
    useMessagesStore().applyHistory({
      room: 'general',
      messages: [msg(60)],
      mode: 'latest',
      hasMore: true,
    })
    const wrapper = mount(MessageList, { props: { room: 'general', label: 'general' } })
    expect(wrapper.get('[data-testid="load-older"]').text()).toBe('Load older messages')
  })

  it('does not group across a failed message', () => {
    const rows = buildRows([{ ...baseItem(1), status: 'failed' }, { ...baseItem(2) }])
    expect(
      rows.filter((r) => r.type === 'item').map((r) => r.type === 'item' && r.grouped),
    ).toEqual([false, false])
  })
})

function baseItem(id: number) {
  return {
    key: `k${id}`,
    id,
    room: 'general',
    user_name: 'bob',
    content: 'x',
    ts: 1000 + id,
    sent_at: '',
    client_msg_id: '',
    kind: 'text' as const,
    status: 'sent' as const,
    as_of: id,
  }
}
