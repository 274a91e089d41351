import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it } from 'vitest'
import { setLocale } from '@/i18n'
import PresenceIndicator from '../PresenceIndicator.vue'

afterEach(() => setLocale('en'))

describe('PresenceIndicator', () => {
  it('draws each status as its own shape, named in its tooltip', () => {
    const shapes = (['online', 'away', 'offline'] as const).map((status) => {
      const wrapper = mount(PresenceIndicator, { props: { status } })
      expect(wrapper.attributes('data-status')).toBe(status)
      expect(wrapper.attributes('title')).toBe(
        { online: 'Online', away: 'Away', offline: 'Offline' }[status],
      )
      return wrapper.get('svg').html()
    })
    // Not colour alone: the three drawings differ.
    expect(new Set(shapes).size).toBe(3)
    expect(shapes[1]).toContain('<path')
  })

  it('is read out only when asked, in the page language', () => {
    expect(
      mount(PresenceIndicator, { props: { status: 'away' } })
        .find('.sr-only')
        .exists(),
    ).toBe(false)
    setLocale('fr')
    const wrapper = mount(PresenceIndicator, { props: { status: 'away', announce: true } })
    expect(wrapper.get('.sr-only').text()).toBe('Absent')
    expect(wrapper.attributes('title')).toBe('Absent')
  })
})
