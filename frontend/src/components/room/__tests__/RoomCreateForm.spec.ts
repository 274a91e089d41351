import { flushPromises, mount } from '@vue/test-utils'
import { createTestingPinia } from '@pinia/testing'
import { describe, expect, it, vi } from 'vitest'
import { useRoomsStore } from '@/stores/rooms'
import RoomCreateForm from '../RoomCreateForm.vue'

function setup() {
  const pinia = createTestingPinia({ createSpy: vi.fn })
  const wrapper = mount(RoomCreateForm, { global: { plugins: [pinia] } })
  const rooms = useRoomsStore()
  vi.mocked(rooms.create).mockResolvedValue(undefined)
  return { wrapper, rooms }
}

describe('RoomCreateForm', () => {
  it('shows the name it will create for a title, and creates that', async () => {
    const { wrapper, rooms } = setup()
    await wrapper.get('[data-testid="room-create-name"]').setValue('Design Team')
    const result = wrapper.get('[data-testid="room-create-result"]')
    expect(result.attributes('role')).toBe('status')
    expect(result.text()).toBe('Will be created as #design-team.')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(rooms.create).toHaveBeenCalledWith('design-team')
    expect(wrapper.emitted('done')).toHaveLength(1)
  })

  it('says nothing more for a name that is already valid', async () => {
    const { wrapper, rooms } = setup()
    await wrapper.get('[data-testid="room-create-name"]').setValue('rust')
    expect(wrapper.get('[data-testid="room-create-result"]').text()).toBe('')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(rooms.create).toHaveBeenCalledWith('rust')
  })

  it('refuses, in words, a name with nothing usable', async () => {
    const { wrapper, rooms } = setup()
    await wrapper.get('[data-testid="room-create-name"]').setValue('!!!')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(rooms.create).not.toHaveBeenCalled()
    expect(wrapper.get('[role="alert"]').text()).toBe(
      'Room names use a-z, 0-9, _ and - (up to 48).',
    )
  })
})
