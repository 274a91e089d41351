import { mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import TheConnectionStatus from '../TheConnectionStatus.vue'

afterEach(() => {
  vi.useRealTimers()
})

describe('TheConnectionStatus', () => {
  it('says connected', () => {
    const wrapper = mount(TheConnectionStatus, {
      props: { status: 'online', detail: { attempt: 0, retryAt: null }, pending: 0 },
    })
    expect(wrapper.get('[role="status"]').text()).toBe('Connected')
    expect(wrapper.attributes('data-status')).toBe('online')
  })

  it('counts down to the next attempt, shows queued messages, and offers a retry', async () => {
    vi.useFakeTimers()
    vi.setSystemTime(0)
    const wrapper = mount(TheConnectionStatus, {
      props: { status: 'waiting', detail: { attempt: 2, retryAt: 3000 }, pending: 2 },
    })
    expect(wrapper.text()).toContain('reconnecting in 3 s')
    expect(wrapper.text()).toContain('2 messages waiting to be sent')
    await vi.advanceTimersByTimeAsync(1000)
    expect(wrapper.text()).toContain('reconnecting in 2 s')
    await wrapper.get('[data-testid="reconnect"]').trigger('click')
    expect(wrapper.emitted('retry')).toHaveLength(1)
    wrapper.unmount()
  })
})
