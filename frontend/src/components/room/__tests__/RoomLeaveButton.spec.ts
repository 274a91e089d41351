import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import RoomLeaveButton from '../RoomLeaveButton.vue'

describe('RoomLeaveButton', () => {
  it('asks before leaving, and leaves only when confirmed', async () => {
    const wrapper = mount(RoomLeaveButton, {
      props: { room: 'design-team' },
      attachTo: document.body,
    })
    const toggle = wrapper.get('[data-testid="leave-room"]')
    expect(toggle.attributes('aria-label')).toBe('Leave room…')
    await toggle.trigger('click')
    const confirm = wrapper.get('[data-testid="leave-room-confirm"]')
    expect(confirm.text()).toContain('Leave #design-team?')
    expect(toggle.attributes('aria-expanded')).toBe('true')
    expect(wrapper.emitted('leave')).toBeUndefined()
    await wrapper.get('[data-testid="leave-room-yes"]').trigger('click')
    expect(wrapper.emitted('leave')).toEqual([['design-team']])
    expect(wrapper.find('[data-testid="leave-room-confirm"]').exists()).toBe(false)
    wrapper.unmount()
  })

  it('Cancel and Escape close the question without leaving, focus back on the button', async () => {
    const wrapper = mount(RoomLeaveButton, { props: { room: 'dev' }, attachTo: document.body })
    await wrapper.get('[data-testid="leave-room"]').trigger('click')
    await wrapper.get('[data-testid="leave-room-cancel"]').trigger('click')
    expect(wrapper.find('[data-testid="leave-room-confirm"]').exists()).toBe(false)
    await wrapper.get('[data-testid="leave-room"]').trigger('click')
    await wrapper.get('[data-testid="leave-room-cancel"]').trigger('keydown', { key: 'Escape' })
    expect(wrapper.find('[data-testid="leave-room-confirm"]').exists()).toBe(false)
    await new Promise((resolve) => setTimeout(resolve))
    expect(document.activeElement).toBe(wrapper.get('[data-testid="leave-room"]').element)
    expect(wrapper.emitted('leave')).toBeUndefined()
    wrapper.unmount()
  })
})
