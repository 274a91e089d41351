import { flushPromises, mount } from '@vue/test-utils'
import { createTestingPinia } from '@pinia/testing'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createMemoryHistory, createRouter } from 'vue-router'
import { useSessionStore } from '@/stores/session'
import LoginView from '../LoginView.vue'

afterEach(() => {
  vi.unstubAllGlobals()
})

async function mountLogin(auth: 'open' | 'password', at = '/login') {
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
      { path: '/r/:room/:id?', name: 'room', component: { template: '<p>room</p>' } },
    ],
  })
  await router.push(at)
  const pinia = createTestingPinia({ stubActions: false, createSpy: vi.fn })
  return { wrapper: mount(LoginView, { global: { plugins: [pinia, router] } }), router }
}

/** Signs in as alice through the form, the server accepting. */
async function signIn(wrapper: Awaited<ReturnType<typeof mountLogin>>['wrapper']) {
  vi.stubGlobal(
    'fetch',
    vi.fn(async () => new Response(JSON.stringify({ user_name: 'alice', token: 't' }))),
  )
  await wrapper.get('[data-testid="login-name"]').setValue('alice')
  await wrapper.get('[data-testid="login-password"]').setValue('correct-horse-1')
  await wrapper.get('form').trigger('submit')
  await flushPromises()
}

describe('LoginView', () => {
  it('asks for a name and a password, and switches to sign-up', async () => {
    const { wrapper } = await mountLogin('password')
    await flushPromises()
    expect(wrapper.find('[data-testid="login-password"]').exists()).toBe(true)
    expect(wrapper.get('h1').text()).toBe('Sign in')
    await wrapper.get('[data-testid="login-toggle"]').trigger('click')
    expect(wrapper.get('h1').text()).toBe('Create account')
    expect(wrapper.get('label[for="login-name"]').text()).toBe('User name')
  })

  it('asks for a name only when the server runs --auth open, and says names are not protected', async () => {
    const { wrapper } = await mountLogin('open')
    await flushPromises()
    expect(wrapper.find('[data-testid="login-password"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="login-toggle"]').exists()).toBe(false)
    expect(wrapper.get('h1').text()).toBe('Join the chat')
    expect(wrapper.get('[data-testid="open-mode-warning"]').text()).toContain(
      'whoever joins next with your name sees your direct messages',
    )
  })

  it('has no open-mode warning with passwords', async () => {
    const { wrapper } = await mountLogin('password')
    await flushPromises()
    expect(wrapper.find('[data-testid="open-mode-warning"]').exists()).toBe(false)
  })

  it('describes the password only by a hint that exists', async () => {
    const { wrapper } = await mountLogin('password')
    await flushPromises()
    const password = () => wrapper.get('[data-testid="login-password"]')
    expect(password().attributes('aria-describedby')).toBeUndefined()
    await wrapper.get('[data-testid="login-toggle"]').trigger('click')
    const hint = password().attributes('aria-describedby')
    expect(hint).toBe('login-password-hint')
    expect(wrapper.find(`#${hint}`).exists()).toBe(true)
  })

  it('shows the server’s refusal in words', async () => {
    const { wrapper } = await mountLogin('password')
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

  it('continues to the page first asked for after signing in', async () => {
    const { wrapper, router } = await mountLogin('password', '/login?redirect=/r/design/42')
    await flushPromises()
    await signIn(wrapper)
    expect(router.currentRoute.value.fullPath).toBe('/r/design/42')
  })

  it('never follows a redirect that leaves the site', async () => {
    const { wrapper, router } = await mountLogin(
      'password',
      `/login?redirect=${encodeURIComponent('//evil.example/r/x')}`,
    )
    await flushPromises()
    await signIn(wrapper)
    expect(router.currentRoute.value.fullPath).toBe('/')
  })
})
