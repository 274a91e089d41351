import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { parsePeoplePage, parsePerson, shownName } from '@/api/people'
import { timeAgo } from '@/utils/lastSeen'
import { usePeopleStore } from '../people'

function jsonResponse(status: number, body: unknown) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  })
}

const person = (user_name: string, extra: Record<string, unknown> = {}) => ({
  user_name,
  display_name: '',
  status: 'offline',
  last_seen_ms: 0,
  ...extra,
})

beforeEach(() => {
  setActivePinia(createPinia())
  sessionStorage.clear()
  sessionStorage.setItem(
    'chatd.session',
    JSON.stringify({ user_name: 'alice', token: 'tok', expires_ms: Date.now() + 1e6 }),
  )
})
afterEach(() => vi.unstubAllGlobals())

describe('people answers', () => {
  it('parse a person, defaulting what is missing and refusing what has no name', () => {
    expect(parsePerson({ user_name: 'bob', status: 'online', last_seen_ms: 5 })).toEqual({
      user_name: 'bob',
      display_name: '',
      status: 'online',
      last_seen_ms: 5,
    })
    expect(parsePerson({ user_name: 'bob', status: 'dancing' })?.status).toBe('offline')
    expect(parsePerson({ display_name: 'x' })).toBeNull()
    expect(parsePeoplePage({ people: [person('a'), { nope: 1 }], has_more: false })).toBeNull()
    expect(parsePeoplePage({ people: [person('a')], has_more: true })?.has_more).toBe(true)
  })

  it('show the display name, else the user name', () => {
    expect(shownName({ user_name: 'bob', display_name: 'Bob B' })).toBe('Bob B')
    expect(shownName({ user_name: 'bob', display_name: '  ' })).toBe('bob')
  })

  it('say how long ago someone was seen in the current language', () => {
    const now = Date.UTC(2026, 11, 7, 12, 0, 0)
    expect(timeAgo(now - 20_000, 'en', now)).toBe('now')
    expect(timeAgo(now - 5 * 60_000, 'en', now)).toBe('5 minutes ago')
    expect(timeAgo(now - 3 * 3_600_000, 'fr', now)).toBe('il y a 3 heures')
    expect(timeAgo(now - 86_400_000, 'en', now)).toBe('yesterday')
  })
})

describe('people store', () => {
  it('searches, pages after the last name, and drops the answer of a stale search', async () => {
    const asked: string[] = []
    let releaseSlow: (() => void) | undefined
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => {
        asked.push(url)
        if (url.includes('q=slow')) {
          await new Promise<void>((resolve) => (releaseSlow = resolve))
          return jsonResponse(200, { people: [person('slowpoke')], has_more: false })
        }
        if (url.includes('after=bob')) {
          return jsonResponse(200, { people: [person('carol')], has_more: false })
        }
        return jsonResponse(200, { people: [person('alice'), person('bob')], has_more: true })
      }),
    )
    const people = usePeopleStore()
    await people.search(' b ')
    expect(asked.at(-1)).toBe('/api/people?q=b&limit=50')
    expect(people.people.map((p) => p.user_name)).toEqual(['alice', 'bob'])
    await people.loadMore()
    expect(asked.at(-1)).toBe('/api/people?q=b&after=bob&limit=50')
    expect(people.people.map((p) => p.user_name)).toEqual(['alice', 'bob', 'carol'])
    expect(people.hasMore).toBe(false)

    const slow = people.search('slow')
    await vi.waitFor(() => expect(releaseSlow).toBeDefined())
    await people.search('')
    releaseSlow?.()
    await slow
    expect(people.people.map((p) => p.user_name)).toEqual(['alice', 'bob'])
    expect(people.loading).toBe(false)
  })

  it('keeps the error code of a refused search', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        jsonResponse(400, { error: { code: 'page_too_large', message: 'limit is 1 to 3' } }),
      ),
    )
    const people = usePeopleStore()
    await people.search('')
    expect(people.error).toBe('page_too_large')
  })

  it('sets the display name with PUT /api/me/profile and updates the listed row', async () => {
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === '/api/me/profile') {
        expect(init?.method).toBe('PUT')
        expect(JSON.parse(String(init?.body))).toEqual({ display_name: ' Alice A ' })
        return jsonResponse(200, person('alice', { display_name: 'Alice A', status: 'online' }))
      }
      return jsonResponse(200, { people: [person('alice'), person('bob')], has_more: false })
    })
    vi.stubGlobal('fetch', fetch)
    const people = usePeopleStore()
    await people.search('')
    await people.setDisplayName(' Alice A ')
    expect(people.people.map((p) => p.display_name)).toEqual(['Alice A', ''])
  })

  it('follows presence frames live: a listed person turns away, online, offline', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        jsonResponse(200, {
          people: [person('bob', { status: 'online' }), person('carol')],
          has_more: false,
        }),
      ),
    )
    const people = usePeopleStore()
    await people.search('')
    const before = people.people
    people.applyFrame({ type: 'presence', user_name: 'bob', online: true, status: 'away' })
    expect(people.people.map((p) => p.status)).toEqual(['away', 'offline'])
    people.applyFrame({ type: 'presence', user_name: 'bob', online: true, status: 'online' })
    expect(people.people[0]?.status).toBe('online')
    people.applyFrame({ type: 'presence', user_name: 'bob', online: false, status: 'offline' })
    expect(people.people[0]?.status).toBe('offline')
    expect(people.people[0]?.last_seen_ms).toBeGreaterThan(0)
    // Someone not listed, or no change: the list is left as it is.
    const list = people.people
    people.applyFrame({ type: 'presence', user_name: 'zed', online: true, status: 'away' })
    people.applyFrame({ type: 'presence', user_name: 'carol', online: false, status: 'offline' })
    expect(people.people).toBe(list)
    expect(before).not.toBe(list)
  })
})
