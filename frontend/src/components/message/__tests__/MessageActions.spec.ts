import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { setLocale } from '@/i18n'
import { msg } from '@/protocol/__tests__/factories'
import { applyFrame, emptyTimelineState, type TimelineItem } from '@/stores/messagesReducer'
import MessageComposer from '../MessageComposer.vue'
import MessageListItem from '../MessageListItem.vue'

// Rows and suggestions read display names from a store.
beforeEach(() => setActivePinia(createPinia()))

// emoji-picker-element needs IndexedDB and layout: a stand-in records its options.
const pickerOptions: Record<string, unknown>[] = []
vi.mock('emoji-picker-element', () => {
  if (!customElements.get('fake-emoji-picker')) {
    customElements.define('fake-emoji-picker', class extends HTMLElement {})
  }
  return {
    Picker: function (options: Record<string, unknown>) {
      pickerOptions.push(options)
      return document.createElement('fake-emoji-picker')
    },
  }
})

function item(overrides: Partial<TimelineItem> = {}): TimelineItem {
  const state = applyFrame(emptyTimelineState(), { type: 'message', message: msg(1) }, 'me')
  return { ...state.rooms.general!.items[0]!, ...overrides }
}

function mountItem(overrides: Partial<TimelineItem> = {}, props: Record<string, unknown> = {}) {
  return mount(MessageListItem, {
    props: { item: item(overrides), grouped: false, me: 'alice', ...props },
    attachTo: document.body,
  })
}

afterEach(() => {
  setLocale('en')
  vi.useRealTimers()
  document.body.innerHTML = ''
})

describe('MessageListItem: room changes', () => {
  it('says "(edited)" with the edit time in a tooltip', () => {
    const edited_ts = new Date(2026, 10, 27, 9, 30).getTime()
    const wrapper = mountItem({ content: 'fixed', edited_ts })
    const mark = wrapper.get('[data-testid="message-edited"]')
    expect(mark.text()).toBe('(edited)')
    expect(mark.attributes('title')).toMatch(/^Edited .*9:30/)
    // the text itself is unchanged by the mark
    expect(wrapper.get('[data-testid="message-text"]').text()).toBe('fixed')
    setLocale('fr')
  })

  it('shows a tombstone in place of a deleted message, with no actions or reactions', () => {
    const wrapper = mountItem({
      deleted: true,
      content: '',
      user_name: 'alice',
      reactions: [{ emoji: '👍', users: ['bob'] }],
    })
    expect(wrapper.get('[data-testid="message-deleted"]').text()).toBe('message deleted')
    expect(wrapper.find('[data-testid="message-text"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="reactions"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="message-actions"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="action-more"]').exists()).toBe(false)
  })

  it('shows reactions as chips with counts, names in the tooltip, mine highlighted', async () => {
    const wrapper = mountItem({
      reactions: [
        { emoji: '👍', users: ['bob', 'alice'] },
        { emoji: '🎉', users: ['carol'] },
      ],
    })
    const chips = wrapper.findAll('[data-testid="reaction"]')
    expect(chips.map((c) => c.text())).toEqual(['👍2', '🎉1'])
    expect(chips[0]!.attributes('title')).toBe('bob, you reacted with 👍')
    expect(chips[0]!.classes()).toContain('own')
    expect(chips[0]!.attributes('aria-pressed')).toBe('true')
    expect(chips[1]!.classes()).not.toContain('own')
    await chips[1]!.trigger('click')
    expect(wrapper.emitted('toggleReaction')).toEqual([['🎉']])
  })

  it('offers edit and delete only on my own messages', () => {
    const others = mountItem({ user_name: 'bob' })
    expect(others.find('[data-testid="action-reply"]').exists()).toBe(true)
    expect(others.find('[data-testid="action-edit"]').exists()).toBe(false)
    expect(others.find('[data-testid="action-delete"]').exists()).toBe(false)
    const mine = mountItem({ user_name: 'alice' })
    expect(mine.find('[data-testid="action-edit"]').exists()).toBe(true)
    expect(mine.find('[data-testid="action-delete"]').exists()).toBe(true)
    // nothing to act on before the server stored it
    const pending = mountItem({ user_name: 'alice', id: null, status: 'sending' })
    expect(pending.find('[data-testid="message-actions"]').exists()).toBe(false)
  })

  it('asks before deleting', async () => {
    const wrapper = mountItem({ user_name: 'alice' })
    await wrapper.get('[data-testid="action-delete"]').trigger('click')
    expect(wrapper.emitted('delete')).toBeUndefined()
    expect(wrapper.get('[data-testid="delete-confirm"]').text()).toContain('cannot be undone')
    await wrapper.get('[data-testid="delete-confirm-no"]').trigger('click')
    expect(wrapper.find('[data-testid="delete-confirm"]').exists()).toBe(false)
    await wrapper.get('[data-testid="action-delete"]').trigger('click')
    await wrapper.get('[data-testid="delete-confirm-yes"]').trigger('click')
    expect(wrapper.emitted('delete')).toHaveLength(1)
  })

  it('reacts from the emoji picker, whose data comes from our own origin', async () => {
    const wrapper = mountItem()
    await wrapper.get('[data-testid="action-react"]').trigger('click')
    const host = wrapper.get('[data-testid="emoji-picker"]').element
    // the component is loaded on first use
    await vi.waitFor(() => expect(host.firstElementChild?.tagName).toBe('FAKE-EMOJI-PICKER'))
    const picker = host.firstElementChild
    expect(pickerOptions.at(-1)).toMatchObject({ dataSource: '/emoji/en.json', locale: 'en' })
    picker!.dispatchEvent(new CustomEvent('emoji-click', { detail: { unicode: '🚀' } }))
    await flushPromises()
    expect(wrapper.emitted('toggleReaction')).toEqual([['🚀']])
    expect(wrapper.find('[data-testid="emoji-picker"]').exists()).toBe(false)
  })

  it('opens the same actions as a menu from "more" or a long press', async () => {
    vi.useFakeTimers()
    const wrapper = mountItem({ user_name: 'alice' })
    await wrapper.get('[data-testid="action-more"]').trigger('click')
    const menu = wrapper.get('[data-testid="message-menu"]')
    expect(menu.findAll('[role="menuitem"]').map((b) => b.attributes('data-testid'))).toEqual([
      ...Array(6).fill('menu-quick-reaction'),
      'menu-react',
      'menu-reply',
      'menu-thread',
      'menu-copy-link',
      'menu-edit',
      'menu-delete',
    ])
    await wrapper.get('[data-testid="menu-edit"]').trigger('click')
    expect(wrapper.emitted('edit')).toHaveLength(1)
    expect(wrapper.find('[data-testid="message-menu"]').exists()).toBe(false)

    await wrapper.get('[data-testid="message"]').trigger('touchstart')
    vi.advanceTimersByTime(300)
    await wrapper.get('[data-testid="message"]').trigger('touchend') // too short: nothing
    vi.advanceTimersByTime(500)
    await wrapper.vm.$nextTick()
    expect(wrapper.find('[data-testid="message-menu"]').exists()).toBe(false)
    await wrapper.get('[data-testid="message"]').trigger('touchstart')
    vi.advanceTimersByTime(500)
    await wrapper.vm.$nextTick()
    await wrapper.get('[data-testid="menu-reply"]').trigger('click')
    expect(wrapper.emitted('reply')).toHaveLength(1)
  })

  it('edits in place: Enter saves, Escape cancels, an unchanged text just closes', async () => {
    const wrapper = mountItem({ user_name: 'alice', content: 'helo' }, { editing: true })
    const input = wrapper.get('[data-testid="message-editor-input"]')
    expect(document.activeElement).toBe(input.element)
    await input.trigger('keydown', { key: 'Escape' })
    expect(wrapper.emitted('cancelEdit')).toHaveLength(1)
    await input.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('cancelEdit')).toHaveLength(2) // unchanged
    await input.setValue('hello')
    await input.trigger('keydown', { key: 'Enter', shiftKey: true })
    expect(wrapper.emitted('saveEdit')).toBeUndefined()
    await input.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('saveEdit')).toEqual([['hello']])
    await input.setValue('   ')
    expect(wrapper.get('[data-testid="edit-save"]').attributes('disabled')).toBeDefined()
  })

  it('quotes a reply’s parent and reports a click on the quote', async () => {
    const parent = item({ id: 1, content: 'the question', user_name: 'bob' })
    const wrapper = mountItem({ id: 2, reply_to: 1 }, { parent })
    expect(wrapper.get('[data-testid="reply-quote"]').text()).toContain('bob')
    expect(wrapper.get('[data-testid="reply-quote-text"]').text()).toBe('the question')
    await wrapper.get('[data-testid="reply-quote"]').trigger('click')
    expect(wrapper.emitted('jump')).toHaveLength(1)
    const gone = mountItem({ id: 2, reply_to: 1 }, { parent: { ...parent, deleted: true } })
    expect(gone.get('[data-testid="reply-quote"]').text()).toContain('message deleted')
    const missing = mountItem({ id: 2, reply_to: 1 }, { parent: 'missing' })
    expect(missing.get('[data-testid="reply-quote"]').attributes('disabled')).toBeDefined()
  })

  it('shows a root’s reply count and last reply time in the room, not in the thread', async () => {
    const last = new Date(2026, 10, 27, 14, 5).getTime()
    const wrapper = mountItem({ reply_count: 3, last_reply_ts: last })
    const summary = wrapper.get('[data-testid="thread-summary"]')
    expect(summary.text()).toMatch(/^3 replies · last reply .*14:05|2:05/)
    await summary.trigger('click')
    expect(wrapper.emitted('openThread')).toHaveLength(1)
    const inThread = mountItem({ reply_count: 3 }, { place: 'thread' })
    expect(inThread.find('[data-testid="thread-summary"]').exists()).toBe(false)
    setLocale('fr')
    const fr = mountItem({ reply_count: 1, deleted: true, content: '' })
    expect(fr.get('[data-testid="thread-summary"]').text()).toMatch(/^1 réponse/)
    expect(fr.get('[data-testid="message-deleted"]').text()).toBe('message supprimé')
  })
})

describe('MessageComposer: replies and editing', () => {
  it('Up in an empty composer asks to edit the last message; not with a draft', async () => {
    const wrapper = mount(MessageComposer, {
      props: { room: 'general', placeholder: 'p', maxLength: 100 },
    })
    const input = wrapper.get('textarea')
    await input.trigger('keydown', { key: 'ArrowUp' })
    expect(wrapper.emitted('editLast')).toHaveLength(1)
    await input.setValue('draft')
    await input.trigger('keydown', { key: 'ArrowUp' })
    expect(wrapper.emitted('editLast')).toHaveLength(1)
  })

  it('shows whom it replies to; Escape or the button cancels', async () => {
    const wrapper = mount(MessageComposer, {
      props: {
        room: 'general',
        placeholder: 'p',
        maxLength: 100,
        replyingTo: { id: 4, name: 'bob' },
      },
    })
    expect(wrapper.get('[data-testid="replying-to"]').text()).toContain('Replying to bob')
    await wrapper.get('textarea').trigger('keydown', { key: 'Escape' })
    await wrapper.get('[data-testid="cancel-reply"]').trigger('click')
    expect(wrapper.emitted('cancelReply')).toHaveLength(2)
  })

  it('the thread composer has its own ids', () => {
    const wrapper = mount(MessageComposer, {
      props: { room: 'general#4', placeholder: 'p', maxLength: 100, place: 'thread' },
    })
    expect(wrapper.get('textarea').attributes('id')).toBe('thread-composer-input')
    expect(wrapper.find('[data-testid="thread-composer-input"]').exists()).toBe(true)
    expect(wrapper.find('[data-testid="composer-input"]').exists()).toBe(false)
  })
})
