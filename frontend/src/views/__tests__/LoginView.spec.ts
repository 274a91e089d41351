import { flushPromises, mount } from '@vue/test-utils'
import { createTestingPinia } from '@pinia/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'
import { useSessionStore } from '@/stores/session'
import LoginView from '../LoginView.vue'

afterEach(() => {
  vi.unstubAllGlobals()
})

function mountLogin(auth: 'open' | 'password') {
  vi.stubGlobal(
    'fetch',
    vi.fn(
      async () => new Response(JSON.stringify({ auth, version: '1', limits: {} }), { status: 200 }),
    ),
  )
  const router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/login', name: 'login', component: LoginView },
      { path: '/', name: 'chat', component: { template: '<p>chat</p>' } },
    ],
  })
  const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
  return mount(LoginView, { global: { plugins: [pinia, router] } })
}

describe('LoginView', () => {
  it('asks for a name and a password, and switches to sign-up', async () => {
    const wrapper = mountLogin('password')
    await flushPromises()
    expect(wrapper.find('[data-testid="login-password"]').exists()).toBe(true)
    expect(wrapper.get('h1').text()).toBe('Sign in')
    await wrapper.get('[data-testid="login-toggle"]').trigger('click')
    expect(wrapper.get('h1').text()).toBe('Create account')
    expect(wrapper.get('label[for="login-name"]').text()).toBe('User name')
  })

  it('asks for a name only when the server runs --auth open', async () => {
    const wrapper = mountLogin('open')
    await flushPromises()
    expect(wrapper.find('[data-testid="login-password"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="login-toggle"]').exists()).toBe(false)
    expect(wrapper.get('h1').text()).toBe('Join the chat')
  })

  it('shows the server’s refusal in words', async () => {
    const wrapper = mountLogin('password')
    await flushPromises()
    const session = useSessionStore()
    vi.stubGlobal(
      'fetch',
      vi.fn(
        async () =>
          new Response(JSON.stringify({ error: { code: 'invalid_credentials', message: 'no' } }), {
            status: 401,
          }),
      ),
    )
    await wrapper.get('[data-testid="login-name"]').setValue('alice')
    await wrapper.get('[data-testid="login-password"]').setValue('wrong-password')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.get('[role="alert"]').text()).toBe('Wrong user name or password.')
    expect(session.signedIn).toBe(false)
  })
})
