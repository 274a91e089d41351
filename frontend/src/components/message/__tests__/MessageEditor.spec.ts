import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import MessageEditor from '../MessageEditor.vue'

describe('MessageEditor', () => {
  it('counts length as the server does and says by how much an edit is too long', async () => {
    const wrapper = mount(MessageEditor, { props: { content: 'hi', maxLength: 4000 } })
    const input = wrapper.get('textarea')
    const hint = wrapper.get('[data-testid="message-editor-hint"]')
    expect(input.attributes('aria-describedby')).toBe(hint.attributes('id'))
    await input.setValue('😀'.repeat(2100))
    expect(wrapper.get('[data-testid="edit-save"]').attributes('disabled')).toBeUndefined()
    expect(hint.text()).toBe('Enter saves, Escape cancels.')
    await input.setValue('😀'.repeat(4002))
    expect(wrapper.get('[data-testid="edit-save"]').attributes('disabled')).toBeDefined()
    expect(input.attributes('aria-invalid')).toBe('true')
    expect(hint.text()).toBe('The message is 2 characters too long (4002 / 4000).')
    await input.trigger('keydown', { key: 'Enter' })
    expect(wrapper.emitted('save')).toBeUndefined()
  })
})
