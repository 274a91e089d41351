import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'
import router from '../index'

beforeEach(() => {
  setActivePinia(createPinia())
  sessionStorage.clear()
})

describe('router guard', () => {
  it('sends a signed-out reader of a link to sign in, remembering the link', async () => {
    await router.push('/r/design/42?x=1')
    expect(router.currentRoute.value.name).toBe('login')
    expect(router.currentRoute.value.query.redirect).toBe('/r/design/42?x=1')
    await router.push('/dm/bob')
    expect(router.currentRoute.value.query.redirect).toBe('/dm/bob')
  })

  it('keeps the sign-in address plain for /', async () => {
    await router.push('/')
    expect(router.currentRoute.value.fullPath).toBe('/login')
  })
})
