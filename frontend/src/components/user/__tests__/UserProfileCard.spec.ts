import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { parseServerFrame } from '@/protocol/frames'
import { useConnectionStore } from '@/stores/connection'
import { useDisplayNamesStore } from '@/stores/displayNames'
import { useProfileCardStore } from '@/stores/profileCard'
import { useSessionStore } from '@/stores/session'
import UserProfileCard from '../UserProfileCard.vue'

beforeEach(() => {
  setActivePinia(createPinia())
  useSessionStore().userName = 'alice'
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      expect(url).toBe('/api/people/bob')
      return new Response(
        JSON.stringify({
          user_name: 'bob',
          display_name: 'Bob Brown',
          status: 'offline',
          last_seen_ms: 0,
        }),
      )
    }),
  )
})
afterEach(() => {
  vi.unstubAllGlobals()
  document.body.innerHTML = ''
})

describe('UserProfileCard', () => {
  it('shows the display name, the user name and the status, follows a live rename, and gives the focus back when closed', async () => {
    const opener = document.createElement('button')
    document.body.append(opener)
    const card = useProfileCardStore()
    card.open('bob', opener)
    const wrapper = mount(UserProfileCard, {
      props: { user: 'bob' },
      attachTo: document.body,
      global: { stubs: { RouterLink: { template: '<a><slot /></a>' } } },
    })
    await flushPromises()
    expect(wrapper.get('[data-testid="profile-card-name"]').text()).toBe('Bob Brown')
    expect(wrapper.get('[data-testid="profile-card-user"]').text()).toBe('@bob')
    expect(wrapper.get('[data-testid="profile-card-status"]').text()).toBe('Not seen yet')
    expect(wrapper.get('[data-testid="profile-card-message"]').attributes('aria-label')).toBe(
      'Send a direct message to Bob Brown',
    )

    // A `profile` frame, as the socket hands it on, renames the card at once.
    const frame = parseServerFrame({
      type: 'profile',
      person: { user_name: 'bob', display_name: 'Robert' },
    })
    expect(frame?.type).toBe('profile')
    if (frame?.type === 'profile') useDisplayNamesStore().remember(frame.person)
    await flushPromises()
    expect(wrapper.get('[data-testid="profile-card-name"]').text()).toBe('Robert')

    await wrapper.get('[data-testid="profile-card-close"]').trigger('click')
    expect(card.user).toBeNull()
    await flushPromises()
    expect(document.activeElement).toBe(opener)
    wrapper.unmount()
  })

  it('a profile frame reaching the connection store updates the cached display name', () => {
    const names = useDisplayNamesStore()
    const connection = useConnectionStore()
    expect(connection).toBeDefined()
    names.remember({ user_name: 'carol', display_name: '' })
    expect(names.nameOf('carol')).toBe('carol')
    expect(
      parseServerFrame({ type: 'profile', person: { display_name: 'no user name' } }),
    ).toBeNull()
  })
})
