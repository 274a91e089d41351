import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import TheDrawerToggle from '../TheDrawerToggle.vue'
import { setLocale } from '@/i18n'

describe('TheDrawerToggle', () => {
  afterEach(() => setLocale('en'))

  it('names the menu alone when nothing is unread, and shows no badge', () => {
    const wrapper = mount(TheDrawerToggle, { props: { expanded: false, unread: 0 } })
    const button = wrapper.get('button')
    expect(button.attributes('aria-label')).toBe('Open rooms menu')
    expect(button.attributes('aria-expanded')).toBe('false')
    expect(button.attributes('aria-controls')).toBe('sidebar')
    expect(wrapper.find('.badge').exists()).toBe(false)
  })

  it('carries the unread count in its badge and its name, in English and French', async () => {
    const wrapper = mount(TheDrawerToggle, { props: { expanded: true, unread: 3 } })
    expect(wrapper.get('.badge').text()).toBe('3')
    expect(wrapper.get('button').attributes('aria-label')).toBe(
      'Open rooms menu, 3 unread messages',
    )
    expect(wrapper.get('button').attributes('aria-expanded')).toBe('true')
    setLocale('fr')
    await wrapper.setProps({ unread: 1 })
    expect(wrapper.get('button').attributes('aria-label')).toBe(
      'Ouvrir le menu des salons, 1 message non lu',
    )
  })

  it('asks to open the drawer when clicked', async () => {
    const wrapper = mount(TheDrawerToggle, { props: { expanded: false, unread: 0 } })
    await wrapper.get('button').trigger('click')
    expect(wrapper.emitted('open')).toHaveLength(1)
  })
})
