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

describe('messages store: room changes', () => {
  function signedIn() {
    const session = useSessionStore()
    session.userName = 'alice'
    session.token = 't'
    const messages = useMessagesStore()
    const sent: StoredFrame[] = []
    messages.setSender({ send: (f) => (sent.push(f), 'sent') })
    messages.applyHistory({
      room: 'general',
      messages: [msg(1, { user_name: 'alice' }), msg(2)],
      mode: 'latest',
      hasMore: false,
      asOf: 2,
    })
    return { messages, sent }
  }

  it('sends edit, delete, react and unreact frames, each with its own client_msg_id', () => {
    const { messages, sent } = signedIn()
    messages.edit('general', 1, 'fixed')
    messages.remove('general', 1)
    messages.react('general', 2, '👍')
    messages.unreact('general', 2, '👍')
    messages.send('general', 'yes', 2)
    expect(
      sent.map(({ client_msg_id, ...rest }) => (expect(client_msg_id).toBeTruthy(), rest)),
    ).toEqual([
      { type: 'edit', room: 'general', id: 1, content: 'fixed' },
      { type: 'delete', room: 'general', id: 1 },
      { type: 'react', room: 'general', id: 2, emoji: '👍' },
      { type: 'unreact', room: 'general', id: 2, emoji: '👍' },
      { type: 'send', room: 'general', content: 'yes', reply_to: 2 },
    ])
    expect(new Set(sent.map((f) => f.client_msg_id)).size).toBe(5)
    expect(messages.changePending('general', 1)).toBe(true)
  })

  it('toggles a reaction: react when I have not, unreact when I have', () => {
    const { messages, sent } = signedIn()
    messages.toggleReaction('general', 2, '🎉')
    messages.applyFrame({
      type: 'message',
      message: msg(3, { kind: 'react', target_id: 2, content: '🎉', user_name: 'alice' }),
    })
    expect(messages.message('general', 2)?.reactions).toEqual([{ emoji: '🎉', users: ['alice'] }])
    messages.toggleReaction('general', 2, '🎉')
    expect(sent.map((f) => f.type)).toEqual(['react', 'unreact'])
  })

  it('keeps a refusal as an error to show, and clears it on the next change', () => {
    const { messages, sent } = signedIn()
    messages.edit('general', 2, 'not mine')
    messages.applyFrame({
      type: 'error',
      code: 'not_author',
      message: 'no',
      client_msg_id: sent[0]!.client_msg_id,
    })
    expect(messages.changeError).toMatchObject({ kind: 'edit', id: 2, code: 'not_author' })
    expect(messages.changePending('general', 2)).toBe(false)
    messages.react('general', 2, '👍')
    expect(messages.changeError).toBeNull()
  })

  it('finds my last message for Up-arrow editing, skipping deleted ones', () => {
    const { messages } = signedIn()
    expect(messages.lastOwnMessage('general')?.id).toBe(1)
    messages.applyFrame({
      type: 'message',
      message: msg(3, { kind: 'delete', target_id: 1, content: '' }),
    })
    expect(messages.lastOwnMessage('general')).toBeUndefined()
  })

  it('fetches a quoted parent by id once, and remembers one the server does not have', async () => {
    const { messages } = signedIn()
    const fetch = vi.fn(async (url: string) => {
      if (url === '/api/rooms/general/messages/7') {
        return jsonResponse(200, { message: msg(7, { content: 'old' }), as_of: 2 })
      }
      return jsonResponse(404, { error: { code: 'message_not_found', message: 'no' } })
    })
    vi.stubGlobal('fetch', fetch)
    const [a, b] = await Promise.all([
      messages.fetchMessage('general', 7),
      messages.fetchMessage('general', 7),
    ])
    expect(a?.content).toBe('old')
    expect(b).toBe(a)
    expect(await messages.fetchMessage('general', 8)).toBeNull()
    expect(messages.isMissing('general', 8)).toBe(true)
    expect(await messages.fetchMessage('general', 8)).toBeNull()
    expect(fetch).toHaveBeenCalledTimes(2)
    // not a row of the timeline
    expect(messages.timeline('general')?.items.map((i) => i.id)).toEqual([1, 2])
  })

  it('loads older pages until a message is in the timeline', async () => {
    const messages = useMessagesStore()
    messages.applyHistory({ room: 'general', messages: [msg(101)], mode: 'latest', hasMore: true })
    const fetch = vi.fn(async (url: string) => {
      const before = Number(new URL(url, 'http://x').searchParams.get('before'))
      const ids = [before - 2, before - 1].filter((id) => id > 0)
      return jsonResponse(200, { messages: ids.map((id) => msg(id)), has_more: ids[0]! > 1 })
    })
    vi.stubGlobal('fetch', fetch)
    expect(await messages.loadUntil('general', 96)).toBe(true)
    expect(fetch).toHaveBeenCalledTimes(3)
    expect(await messages.loadUntil('general', 95.5)).toBe(false) // not an id there
  })

  it('finds a message while a page started by scrolling is still on its way', async () => {
    const messages = useMessagesStore()
    messages.applyHistory({ room: 'general', messages: [msg(101)], mode: 'latest', hasMore: true })
    const fetch = vi.fn(async (url: string) => {
      const before = Number(new URL(url, 'http://x').searchParams.get('before'))
      return jsonResponse(200, { messages: [msg(before - 2), msg(before - 1)], has_more: true })
    })
    vi.stubGlobal('fetch', fetch)
    const scrolling = messages.loadOlder('general')
    // the same page is not asked twice, and the search counts it
    expect(await messages.loadUntil('general', 97)).toBe(true)
    await scrolling
    expect(fetch.mock.calls.map(([url]) => url)).toEqual([
      '/api/rooms/general/messages?before=101&limit=50',
      '/api/rooms/general/messages?before=99&limit=50',
    ])
  })

  it('opens a thread, loads its replies and replies into it', async () => {
    const { messages, sent } = signedIn()
    const fetch = vi.fn(async (url: string) => {
      expect(url).toBe('/api/rooms/general/messages/2/replies?limit=50')
      return jsonResponse(200, { messages: [msg(5, { reply_to: 2 })], has_more: false, as_of: 6 })
    })
    vi.stubGlobal('fetch', fetch)
    await messages.openThread('general', 2)
    expect(messages.thread?.items.map((i) => i.id)).toEqual([5])
    messages.replyInThread('me too')
    expect(sent.at(-1)).toMatchObject({ type: 'send', content: 'me too', reply_to: 2 })
    messages.closeThread()
    expect(messages.thread).toBeNull()
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
    presence.applyFrame({
      type: 'message',
      message: msg(1, { user_name: 'carol', kind: 'react', target_id: 1, content: '👍' }),
    })
    expect(presence.typingIn('general')).toEqual(['bob', 'carol'])
    presence.applyFrame({ type: 'message', message: msg(2, { user_name: 'bob' }) })
    expect(presence.typingIn('general')).toEqual(['carol'])
    vi.advanceTimersByTime(TYPING_TTL_MS)
    expect(presence.typingIn('general')).toEqual([])
  })

  it('ends a typing line at once on that user’s typing_stop', () => {
    vi.useFakeTimers()
    const presence = usePresenceStore()
    presence.applyFrame({ type: 'typing', room: 'general', user_name: 'bob' })
    presence.applyFrame({ type: 'typing', room: 'general', user_name: 'carol' })
    presence.applyFrame({ type: 'typing', room: 'dev', user_name: 'bob' })
    presence.applyFrame({ type: 'typing_stop', room: 'general', user_name: 'bob' })
    expect(presence.typingIn('general')).toEqual(['carol'])
    expect(presence.typingIn('dev')).toEqual(['bob'])
    // Its timer went with it: a new notice later lasts its full time.
    vi.advanceTimersByTime(TYPING_TTL_MS - 1000)
    presence.applyFrame({ type: 'typing', room: 'general', user_name: 'bob' })
    vi.advanceTimersByTime(1000)
    expect(presence.typingIn('general')).toEqual(['bob'])
  })
})
