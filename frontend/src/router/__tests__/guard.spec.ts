import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import router from '../index'

function meAnswers(status: number) {
  const fetch = vi.fn(async () =>
    status === 200
      ? new Response(JSON.stringify({ user_name: 'alice', rooms: ['general'] }), { status })
      : new Response(JSON.stringify({ error: { code: 'unauthorized', message: 'no' } }), {
          status,
        }),
  )
  vi.stubGlobal('fetch', fetch)
  return fetch
}

beforeEach(() => {
  setActivePinia(createPinia())
})
afterEach(() => {
  vi.unstubAllGlobals()
})

describe('router guard', () => {
  it('sends a signed-out reader of a link to sign in, remembering the link', async () => {
    meAnswers(401)
    await router.push('/r/design/42?x=1')
    expect(router.currentRoute.value.name).toBe('login')
    expect(router.currentRoute.value.query.redirect).toBe('/r/design/42?x=1')
    await router.push('/dm/bob')
    expect(router.currentRoute.value.query.redirect).toBe('/dm/bob')
  })

  it('keeps the sign-in address plain for /', async () => {
    meAnswers(401)
    await router.push('/')
    expect(router.currentRoute.value.fullPath).toBe('/login')
  })

  it('asks the server once whether the cookie signs in, and then lets the page open', async () => {
    const fetch = meAnswers(200)
    await router.push('/login?redirect=/r/design')
    expect(router.currentRoute.value.fullPath).toBe('/r/design')
    await router.push('/dm/bob')
    expect(router.currentRoute.value.fullPath).toBe('/dm/bob')
    expect(fetch).toHaveBeenCalledTimes(1)
  })
})
