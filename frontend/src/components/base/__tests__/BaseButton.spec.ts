import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import BaseButton from '../BaseButton.vue'

describe('BaseButton', () => {
  it('is a plain button (not a submit) by default, with the primary look', () => {
    const button = mount(BaseButton, { slots: { default: 'Send' } }).get('button')
    expect(button.attributes('type')).toBe('button')
    expect(button.classes()).toEqual(['btn'])
    expect(button.text()).toBe('Send')
  })

  it.each([
    ['ghost', ['btn', 'btn-ghost']],
    ['link', ['btn-link']],
    ['icon', ['icon-btn']],
  ] as const)('%s variant', (variant, classes) => {
    const button = mount(BaseButton, { props: { variant } }).get('button')
    expect(button.classes()).toEqual(classes)
  })

  it('passes attributes, classes and listeners to the button', async () => {
    let clicks = 0
    const wrapper = mount(BaseButton, {
      props: { variant: 'icon', type: 'submit' },
      attrs: {
        class: 'menu',
        'aria-label': 'Open menu',
        'data-testid': 'menu',
        disabled: false,
        onClick: () => clicks++,
      },
    })
    const button = wrapper.get('button')
    expect(button.attributes('type')).toBe('submit')
    expect(button.classes()).toEqual(['icon-btn', 'menu'])
    expect(button.attributes('aria-label')).toBe('Open menu')
    await button.trigger('click')
    expect(clicks).toBe(1)
  })

  it('can be focused by its parent', () => {
    const wrapper = mount(BaseButton, { attachTo: document.body })
    wrapper.vm.focus()
    expect(document.activeElement).toBe(wrapper.element)
    wrapper.unmount()
  })
})
