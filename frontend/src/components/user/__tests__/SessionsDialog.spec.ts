import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import SessionsDialog from '../SessionsDialog.vue'

const CHROME_LINUX =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'
const FIREFOX_WINDOWS =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0'

function entry(id: string, userAgent: string, current = false) {
  return {
    id,
    created_ms: 1_700_000_000_000,
    last_used_ms: 1_700_000_100_000,
    expires_ms: 1_800_000_000_000,
    user_agent: userAgent,
    address: '192.0.2.7',
    current,
  }
}

beforeEach(() => {
  setActivePinia(createPinia())
})
afterEach(() => {
  vi.unstubAllGlobals()
})

describe('SessionsDialog', () => {
  it('lists devices, marks this one, and signs another out', async () => {
    let listed = [entry('a', CHROME_LINUX, true), entry('b', FIREFOX_WINDOWS)]
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === '/api/sessions') return new Response(JSON.stringify({ sessions: listed }))
      expect(url).toBe('/api/sessions/b')
      expect(init?.method).toBe('DELETE')
      listed = listed.filter((s) => s.id !== 'b')
      return new Response(null, { status: 204 })
    })
    vi.stubGlobal('fetch', fetch)
    const wrapper = mount(SessionsDialog, { attachTo: document.body })
    await flushPromises()
    const rows = wrapper.findAll('[data-testid="session"]')
    expect(rows).toHaveLength(2)
    expect(rows[0]!.text()).toContain('Chrome on Linux')
    expect(rows[0]!.text()).toContain('This device')
    expect(rows[0]!.find('[data-testid="session-sign-out"]').exists()).toBe(false)
    expect(rows[1]!.text()).toContain('Firefox on Windows')
    expect(rows[1]!.text()).toContain('192.0.2.7')
    const signOut = rows[1]!.get('[data-testid="session-sign-out"]')
    expect(signOut.attributes('aria-label')).toBe('Sign out Firefox on Windows')
    await signOut.trigger('click')
    await flushPromises()
    expect(wrapper.findAll('[data-testid="session"]')).toHaveLength(1)
    wrapper.unmount()
  })

  it('asks to sign out everywhere and to close', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify({ sessions: [] }))),
    )
    const wrapper = mount(SessionsDialog, { attachTo: document.body })
    await flushPromises()
    await wrapper.get('[data-testid="sessions-sign-out-everywhere"]').trigger('click')
    await wrapper.get('[data-testid="sessions-close"]').trigger('click')
    expect(wrapper.emitted('signOutEverywhere')).toHaveLength(1)
    expect(wrapper.emitted('close')).toHaveLength(1)
    wrapper.unmount()
  })
})
