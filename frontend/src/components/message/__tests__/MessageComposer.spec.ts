import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import MessageComposer from '../MessageComposer.vue'

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

  it('is labelled, and announces typing on input', async () => {
    const wrapper = setup()
    expect(wrapper.get('label').text()).toBe('Message #general')
    expect(wrapper.get('label').attributes('for')).toBe(wrapper.get('textarea').attributes('id'))
    await wrapper.get('textarea').setValue('h')
    expect(wrapper.emitted('typing')).toHaveLength(1)
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
