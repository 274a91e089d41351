import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import MessageComposer from '../MessageComposer.vue'

// Rows and suggestions read display names from a store.
beforeEach(() => setActivePinia(createPinia()))

function setup() {
  return mount(MessageComposer, {
    props: { room: 'general', placeholder: 'Message #general', maxLength: 10 },
  })
}

describe('MessageComposer', () => {
  it('sends on Enter and clears the draft', async () => {
    const wrapper = setup()
    const input = wrapper.get('textarea')
    await input.setValue('hello')
    await input.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('send')).toEqual([['hello']])
    expect((input.element as HTMLTextAreaElement).value).toBe('')
  })

  it('does not send on Shift+Enter', async () => {
    const wrapper = setup()
    const input = wrapper.get('textarea')
    await input.setValue('line')
    await input.trigger('keydown', { key: 'Enter', shiftKey: true })
    expect(wrapper.emitted('send')).toBeUndefined()
  })

  it('does not send blank or too long drafts', async () => {
    const wrapper = setup()
    const input = wrapper.get('textarea')
    await input.setValue('   ')
    await input.trigger('keydown', { key: 'Enter' })
    await input.setValue('x'.repeat(11))
    await input.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('send')).toBeUndefined()
    expect(wrapper.get('[data-testid="send"]').attributes('disabled')).toBeDefined()
    expect(input.attributes('aria-invalid')).toBe('true')
  })

  it('is labelled, and announces typing on input and its end when the draft is emptied', async () => {
    const wrapper = setup()
    expect(wrapper.get('label').text()).toBe('Message #general')
    expect(wrapper.get('label').attributes('for')).toBe(wrapper.get('textarea').attributes('id'))
    await wrapper.get('textarea').setValue('h')
    expect(wrapper.emitted('typing')).toHaveLength(1)
    expect(wrapper.emitted('typingStop')).toBeUndefined()
    await wrapper.get('textarea').setValue('')
    expect(wrapper.emitted('typingStop')).toHaveLength(1)
  })

  it('names the Send button even where its text is hidden (phones)', () => {
    const wrapper = setup()
    expect(wrapper.get('[data-testid="send"]').attributes('aria-label')).toBe('Send')
  })

  it('says in a live region why a draft cannot be sent, and by how much', async () => {
    const wrapper = mount(MessageComposer, {
      props: { room: 'general', placeholder: 'Message #general', maxLength: 4000 },
    })
    const input = wrapper.get('textarea')
    const status = wrapper.get('[data-testid="too-long"]')
    expect(status.attributes('role')).toBe('status')
    expect(input.attributes('aria-describedby')).toContain(status.attributes('id'))
    // 2,100 emoji are 4,200 UTF-16 units but 2,100 characters, as the server counts: fine.
    await input.setValue('😀'.repeat(2100))
    expect(status.text()).toBe('')
    expect(wrapper.get('[data-testid="send"]').attributes('disabled')).toBeUndefined()
    await input.setValue('😀'.repeat(4000))
    expect(wrapper.get('[data-testid="send"]').attributes('disabled')).toBeUndefined()
    await input.setValue('😀'.repeat(4003))
    expect(status.text()).toBe('The message is 3 characters too long (4003 / 4000).')
    expect(wrapper.get('[data-testid="send"]').attributes('disabled')).toBeDefined()
    await input.setValue('😀'.repeat(4001))
    expect(status.text()).toBe('The message is 1 character too long (4001 / 4000).')
    await input.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('send')).toBeUndefined()
  })

  it('keeps a draft per room', async () => {
    const wrapper = setup()
    await wrapper.get('textarea').setValue('for general')
    await wrapper.setProps({ room: 'dev' })
    expect((wrapper.get('textarea').element as HTMLTextAreaElement).value).toBe('')
    await wrapper.setProps({ room: 'general' })
    expect((wrapper.get('textarea').element as HTMLTextAreaElement).value).toBe('for general')
  })
})

describe('MessageComposer @ autocomplete', () => {
  function withMembers(roomMentionMax = 50) {
    return mount(MessageComposer, {
      attachTo: document.body,
      props: {
        room: 'dev',
        placeholder: 'Message #dev',
        maxLength: 100,
        mentions: {
          members: async () => ['alice', 'bob', 'bobby', 'carol'],
          me: 'alice',
          roomMentionMax,
        },
      },
    })
  }
  async function typeInto(wrapper: ReturnType<typeof withMembers>, text: string) {
    const input = wrapper.get('textarea')
    const el = input.element as HTMLTextAreaElement
    el.value = text
    el.setSelectionRange(text.length, text.length)
    await input.trigger('input')
    await flushPromises()
    return input
  }
  const options = (wrapper: ReturnType<typeof withMembers>) =>
    wrapper.findAll('[role="option"]').map((o) => o.text())

  it('opens on @ with the filtered members and @room, as a combobox', async () => {
    const wrapper = withMembers()
    const input = await typeInto(wrapper, 'hi @')
    expect(options(wrapper)).toEqual(['@bob', '@bobby', '@carol', '@room everyone in this room'])
    const combobox = wrapper.get('[role="combobox"]')
    expect(combobox.attributes('aria-expanded')).toBe('true')
    const list = wrapper.get('[role="listbox"]')
    expect(combobox.attributes('aria-controls')).toBe(list.attributes('id'))
    expect(input.attributes('aria-activedescendant')).toBe(
      wrapper.findAll('[role="option"]')[0]!.attributes('id'),
    )
    await typeInto(wrapper, 'hi @bo')
    expect(options(wrapper)).toEqual(['@bob', '@bobby'])
    wrapper.unmount()
  })

  it('leaves @room out where the room is over the limit', async () => {
    const wrapper = withMembers(3)
    await typeInto(wrapper, '@r')
    expect(options(wrapper)).toEqual([])
    expect(wrapper.get('[role="combobox"]').attributes('aria-expanded')).toBe('false')
    wrapper.unmount()
  })

  it('moves with Up and Down, inserts with Enter or Tab without sending', async () => {
    const wrapper = withMembers()
    const input = await typeInto(wrapper, 'hi @bo')
    await input.trigger('keydown', { key: 'ArrowDown' })
    expect(wrapper.get('[aria-selected="true"]').text()).toBe('@bobby')
    await input.trigger('keydown', { key: 'ArrowDown' })
    expect(wrapper.get('[aria-selected="true"]').text()).toBe('@bob')
    await input.trigger('keydown', { key: 'ArrowUp' })
    await input.trigger('keydown', { key: 'Enter' })
    expect((input.element as HTMLTextAreaElement).value).toBe('hi @bobby ')
    expect(wrapper.emitted('send')).toBeUndefined()
    expect(wrapper.get('[role="combobox"]').attributes('aria-expanded')).toBe('false')

    await typeInto(wrapper, 'and @ca')
    await input.trigger('keydown', { key: 'Tab' })
    expect((input.element as HTMLTextAreaElement).value).toBe('and @carol ')
    wrapper.unmount()
  })

  it('closes on Escape, and Enter then sends', async () => {
    const wrapper = withMembers()
    const input = await typeInto(wrapper, '@bo')
    await input.trigger('keydown', { key: 'Escape' })
    expect(options(wrapper)).toEqual([])
    await input.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('send')).toEqual([['@bo']])
    wrapper.unmount()
  })

  it('inserts the tapped suggestion', async () => {
    const wrapper = withMembers()
    const input = await typeInto(wrapper, '@c')
    await wrapper.get('[role="option"]').trigger('click')
    expect((input.element as HTMLTextAreaElement).value).toBe('@carol ')
    wrapper.unmount()
  })
})
