import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { StoredFrame } from '@/protocol/frames'
import { msg } from '@/protocol/__tests__/factories'
import { useMessagesStore } from '../messages'
import { usePresenceStore, TYPING_TTL_MS } from '../presence'
import { useRoomsStore } from '../rooms'
import { useSessionStore } from '../session'

function jsonResponse(status: number, body: unknown) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  })
}

beforeEach(() => {
  setActivePinia(createPinia())
  sessionStorage.clear()
  localStorage.clear()
})
afterEach(() => {
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

describe('session store', () => {
  it('signs up, keeps the token in sessionStorage, and signs out', async () => {
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === '/api/register') {
        expect(JSON.parse(String(init?.body))).toEqual({ user_name: 'alice', password: 'pw123456' })
        return jsonResponse(201, { user_name: 'alice', token: 'tok', expires_ms: Date.now() + 1e6 })
      }
      if (url === '/api/logout') {
        expect((init?.headers as Record<string, string>).authorization).toBe('Bearer tok')
        return new Response(null, { status: 204 })
      }
      throw new Error(url)
    })
    vi.stubGlobal('fetch', fetch)
    const session = useSessionStore()
    await session.signUp('alice', 'pw123456')
    expect(session.signedIn).toBe(true)
    expect(JSON.parse(sessionStorage.getItem('chatd.session') ?? '{}').token).toBe('tok')
    await session.signOut()
    expect(session.signedIn).toBe(false)
    expect(sessionStorage.getItem('chatd.session')).toBeNull()
  })

  it('signs out everywhere through /api/logout-all, and keeps the session if that fails', async () => {
    let fail = true
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === '/api/login') {
        return jsonResponse(200, { user_name: 'alice', token: 'tok', expires_ms: Date.now() + 1e6 })
      }
      if (url === '/api/logout-all') {
        expect(init?.method).toBe('POST')
        expect((init?.headers as Record<string, string>).authorization).toBe('Bearer tok')
        if (fail) return jsonResponse(503, { error: { code: 'unavailable', message: 'later' } })
        return jsonResponse(200, { signed_out_sessions: 3 })
      }
      throw new Error(url)
    })
    vi.stubGlobal('fetch', fetch)
    const session = useSessionStore()
    await session.signIn('alice', 'a long passphrase')
    await expect(session.signOutEverywhere()).rejects.toBeTruthy()
    expect(session.signedIn).toBe(true)
    fail = false
    await session.signOutEverywhere()
    expect(session.signedIn).toBe(false)
    expect(sessionStorage.getItem('chatd.session')).toBeNull()
    expect(fetch.mock.calls.filter(([url]) => url === '/api/logout-all')).toHaveLength(2)
  })

  it('signs in with a name only in open mode', async () => {
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === '/api/config')
        return jsonResponse(200, { auth: 'open', version: '1', limits: {} })
      expect(JSON.parse(String(init?.body))).toEqual({ user_name: 'bob' })
      return jsonResponse(200, { user_name: 'bob', token: 't', expires_ms: 0 })
    })
    vi.stubGlobal('fetch', fetch)
    const session = useSessionStore()
    await session.loadConfig()
    expect(session.authMode).toBe('open')
    await session.signIn('bob', 'ignored')
    expect(session.userName).toBe('bob')
  })

  it('reports the server error code, and expires on a 401', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        jsonResponse(401, { error: { code: 'invalid_credentials', message: 'no' } }),
      ),
    )
    const session = useSessionStore()
    await expect(session.signIn('a', 'b')).rejects.toMatchObject({ code: 'invalid_credentials' })
    sessionStorage.setItem(
      'chatd.session',
      JSON.stringify({ token: 'old', user_name: 'a', expires_ms: 0 }),
    )
    setActivePinia(createPinia())
    const restored = useSessionStore()
    expect(restored.signedIn).toBe(true)
    await expect(restored.api.me()).rejects.toMatchObject({ status: 401 })
    expect(restored.signedIn).toBe(false)
    expect(restored.expired).toBe(true)
  })
})

describe('messages store', () => {
  function signedIn() {
    const session = useSessionStore()
    session.userName = 'alice'
    session.token = 't'
    return useMessagesStore()
  }

  it('sends optimistically and reconciles with the ack', () => {
    const messages = signedIn()
    const sent: StoredFrame[] = []
    messages.setSender({ send: (f) => (sent.push(f), 'sent') })
    const cmid = messages.send('general', 'hi')
    expect(sent).toEqual([{ type: 'send', room: 'general', content: 'hi', client_msg_id: cmid }])
    expect(messages.pendingCount).toBe(1)
    messages.applyFrame({
      type: 'ack',
      client_msg_id: cmid,
      id: 9,
      room: 'general',
      ts: 5,
      sent_at: '',
      duplicate: false,
    })
    expect(messages.pendingCount).toBe(0)
    expect(messages.timeline('general')?.items[0]).toMatchObject({ id: 9, status: 'sent' })
  })

  it('fails when the buffer is full, and a retry reuses the client_msg_id', () => {
    const messages = signedIn()
    const sent: StoredFrame[] = []
    let result: 'full' | 'queued' = 'full'
    messages.setSender({ send: (f) => (sent.push(f), result) })
    const cmid = messages.send('general', 'hi')
    expect(messages.timeline('general')?.items[0]).toMatchObject({
      status: 'failed',
      error: 'buffer_full',
    })
    result = 'queued'
    messages.retry(cmid)
    expect(messages.timeline('general')?.items[0]?.status).toBe('sending')
    expect(sent.map((f) => f.client_msg_id)).toEqual([cmid, cmid])
  })

  it('loads older pages before the oldest message', async () => {
    const messages = signedIn()
    messages.applyHistory({
      room: 'general',
      messages: [msg(51), msg(52)],
      mode: 'latest',
      hasMore: true,
    })
    const fetch = vi.fn(async (url: string) => {
      expect(url).toBe('/api/rooms/general/messages?before=51&limit=50')
      return jsonResponse(200, { messages: [msg(49), msg(50)], has_more: false })
    })
    vi.stubGlobal('fetch', fetch)
    await messages.loadOlder('general')
    expect(messages.timeline('general')?.items.map((i) => i.id)).toEqual([49, 50, 51, 52])
    expect(messages.timeline('general')?.hasOlder).toBe(false)
    await messages.loadOlder('general') // nothing older: no request
    expect(fetch).toHaveBeenCalledOnce()
  })
})

describe('rooms store', () => {
  it('tracks joined rooms and counts unread messages from others', () => {
    const session = useSessionStore()
    session.userName = 'alice'
    localStorage.setItem('chatd.read.alice', JSON.stringify({ general: 2 }))
    const rooms = useRoomsStore()
    const messages = useMessagesStore()
    rooms.applyFrame({
      type: 'welcome',
      user_name: 'alice',
      rooms: ['general', 'dm:alice:bob'],
      online: [],
    })
    expect(rooms.channels).toEqual(['general'])
    expect(rooms.directs).toEqual(['dm:alice:bob'])
    expect(rooms.displayName('dm:alice:bob')).toBe('bob')
    messages.applyHistory({
      room: 'general',
      messages: [msg(1), msg(2), msg(3), msg(4, { user_name: 'alice' }), msg(5)],
      mode: 'latest',
      hasMore: false,
    })
    expect(rooms.unread.general).toEqual({ count: 2, more: false })
    rooms.markRead('general')
    expect(rooms.unread.general?.count).toBe(0)
    expect(JSON.parse(localStorage.getItem('chatd.read.alice') ?? '{}')).toEqual({ general: 5 })
  })

  it('adds and removes rooms on our own membership frames', () => {
    useSessionStore().userName = 'alice'
    const rooms = useRoomsStore()
    rooms.applyFrame({ type: 'welcome', user_name: 'alice', rooms: ['general'], online: [] })
    rooms.applyFrame({ type: 'membership', room: 'dev', user_name: 'alice', joined: true })
    rooms.applyFrame({ type: 'membership', room: 'ops', user_name: 'bob', joined: true })
    expect(rooms.joined).toEqual(['general', 'dev'])
    rooms.open('dev')
    rooms.applyFrame({ type: 'membership', room: 'dev', user_name: 'alice', joined: false })
    expect(rooms.joined).toEqual(['general'])
    expect(rooms.active).toBe('general')
  })
})

describe('presence store', () => {
  it('tracks who is online', () => {
    const presence = usePresenceStore()
    presence.applyFrame({ type: 'welcome', user_name: 'a', rooms: [], online: ['carol', 'alice'] })
    presence.applyFrame({ type: 'presence', user_name: 'bob', online: true })
    presence.applyFrame({ type: 'presence', user_name: 'carol', online: false })
    expect(presence.online).toEqual(['alice', 'bob'])
  })

  it('shows typing for a few seconds, or until that user’s message', () => {
    vi.useFakeTimers()
    const presence = usePresenceStore()
    presence.applyFrame({ type: 'typing', room: 'general', user_name: 'bob' })
    presence.applyFrame({ type: 'typing', room: 'general', user_name: 'carol' })
    expect(presence.typingIn('general')).toEqual(['bob', 'carol'])
    presence.applyFrame({ type: 'message', message: msg(1, { user_name: 'bob' }) })
    expect(presence.typingIn('general')).toEqual(['carol'])
    vi.advanceTimersByTime(TYPING_TTL_MS)
    expect(presence.typingIn('general')).toEqual([])
  })
})
