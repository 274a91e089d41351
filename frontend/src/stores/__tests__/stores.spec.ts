import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ReadState, StoredFrame } from '@/protocol/frames'
import { msg } from '@/protocol/__tests__/factories'
import { useMessagesStore } from '../messages'
import { usePresenceStore, TYPING_TTL_MS } from '../presence'
import { READ_THROTTLE_MS, useRoomsStore } from '../rooms'
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
  function withCsrf(response: Response, csrf: string) {
    response.headers.set('x-csrf-token', csrf)
    return response
  }

  it('signs up, keeps no token in script storage, sends the CSRF token, and signs out', async () => {
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      expect(init?.credentials).toBe('same-origin')
      if (url === '/api/register') {
        expect(JSON.parse(String(init?.body))).toEqual({ user_name: 'alice', password: 'pw123456' })
        return withCsrf(
          jsonResponse(201, { user_name: 'alice', token: 'tok', expires_ms: Date.now() + 1e6 }),
          'csrf1',
        )
      }
      if (url === '/api/logout') {
        const headers = init?.headers as Record<string, string>
        expect(headers.authorization).toBeUndefined()
        expect(headers['x-csrf-token']).toBe('csrf1')
        return new Response(null, { status: 204 })
      }
      throw new Error(url)
    })
    vi.stubGlobal('fetch', fetch)
    const session = useSessionStore()
    await session.signUp('alice', 'pw123456')
    expect(session.signedIn).toBe(true)
    expect(session.csrfToken).toBe('csrf1')
    expect(sessionStorage.length).toBe(0)
    expect(localStorage.length).toBe(0)
    await session.signOut()
    expect(session.signedIn).toBe(false)
    expect(session.csrfToken).toBeNull()
  })

  it('restores a cookie session from GET /api/me once, without a CSRF header on GET', async () => {
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      expect(url).toBe('/api/me')
      expect((init?.headers as Record<string, string>)['x-csrf-token']).toBeUndefined()
      return withCsrf(jsonResponse(200, { user_name: 'alice', rooms: ['general'] }), 'csrf2')
    })
    vi.stubGlobal('fetch', fetch)
    const session = useSessionStore()
    await session.restore()
    await session.restore()
    expect(session.userName).toBe('alice')
    expect(session.csrfToken).toBe('csrf2')
    expect(fetch).toHaveBeenCalledTimes(1)
  })

  it('starts signed out, not expired, when the cookie signs nobody in', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => jsonResponse(401, { error: { code: 'unauthorized', message: 'no' } })),
    )
    const session = useSessionStore()
    await session.restore()
    expect(session.signedIn).toBe(false)
    expect(session.expired).toBe(false)
  })

  it('signs out everywhere through /api/logout-all, and keeps the session if that fails', async () => {
    let fail = true
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === '/api/login') {
        return withCsrf(
          jsonResponse(200, { user_name: 'alice', token: 'tok', expires_ms: Date.now() + 1e6 }),
          'c',
        )
      }
      if (url === '/api/logout-all') {
        expect(init?.method).toBe('POST')
        expect((init?.headers as Record<string, string>)['x-csrf-token']).toBe('c')
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

  it('reports the server error code, and expires on a 401 once signed in', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () =>
        jsonResponse(401, { error: { code: 'invalid_credentials', message: 'no' } }),
      ),
    )
    const session = useSessionStore()
    await expect(session.signIn('a', 'b')).rejects.toMatchObject({ code: 'invalid_credentials' })
    expect(session.expired).toBe(false)
    session.userName = 'a'
    await expect(session.api.me()).rejects.toMatchObject({ status: 401 })
    expect(session.signedIn).toBe(false)
    expect(session.expired).toBe(true)
  })
})

describe('messages store', () => {
  function signedIn() {
    const session = useSessionStore()
    session.userName = 'alice'
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
  function welcomed(read: ReadState[] = []) {
    useSessionStore().userName = 'alice'
    const rooms = useRoomsStore()
    const sent: Array<[string, number] | ['all', Array<readonly [string, number]>]> = []
    rooms.setReadSender({
      sendRead: (room, id) => sent.push([room, id]),
      sendReadAll: (marks) => sent.push(['all', [...marks]]),
    })
    rooms.applyFrame({
      type: 'welcome',
      user_name: 'alice',
      rooms: ['general', 'dm:alice:bob'],
      online: [],
      read,
    })
    return { rooms, messages: useMessagesStore(), sent }
  }

  it('counts unread from the server and adds the messages from others that came after', () => {
    const { rooms, messages } = welcomed([
      { room: 'general', last_read_id: 2, unread: 1, as_of: 3 },
      { room: 'dm:alice:bob', last_read_id: 0, unread: 999, unread_capped: true, as_of: 5000 },
    ])
    expect(rooms.channels).toEqual(['general'])
    expect(rooms.directs).toEqual(['dm:alice:bob'])
    expect(rooms.displayName('dm:alice:bob')).toBe('bob')
    expect(rooms.unread.general).toEqual({ count: 1, more: false, mentions: 0 })
    expect(rooms.unread['dm:alice:bob']).toEqual({ count: 999, more: true, mentions: 0 })
    // 1-3 are in the server's count; 4 is mine, 6 deleted: 5 and 7 are new.
    messages.applyHistory({
      room: 'general',
      messages: [
        msg(1),
        msg(2),
        msg(3),
        msg(4, { user_name: 'alice' }),
        msg(5),
        msg(6, { deleted: true, content: '' }),
        msg(7),
      ],
      mode: 'latest',
      hasMore: false,
    })
    expect(rooms.unread.general).toEqual({ count: 3, more: false, mentions: 0 })
  })

  it('counts mentions from the server and adds the held ones that came after', () => {
    const { rooms, messages } = welcomed([
      { room: 'general', last_read_id: 2, unread: 1, as_of: 3, mentions: 1 },
    ])
    expect(rooms.unread.general).toEqual({ count: 1, more: false, mentions: 1 })
    messages.applyHistory({
      room: 'general',
      messages: [
        msg(3, { mentions: ['alice'] }), // in the server's count already
        msg(4, { mentions: ['alice'] }),
        msg(5, { mentions_room: true }),
        msg(6, { mentions: ['bob'] }),
        msg(7, { user_name: 'alice', mentions_room: true }), // her own
        msg(8, { deleted: true, content: '' }),
      ],
      mode: 'latest',
      hasMore: false,
    })
    expect(rooms.unread.general?.mentions).toBe(3)
    rooms.applyFrame({
      type: 'read_state',
      room: 'general',
      last_read_id: 8,
      unread: 0,
      as_of: 8,
      mentions: 0,
    })
    expect(rooms.unread.general?.mentions).toBe(0)
    expect(rooms.readStates.general?.mentions).toBe(0)
  })

  it('keeps a mark made offline over an older one in the next welcome', () => {
    const { rooms, messages } = welcomed([
      { room: 'general', last_read_id: 2, unread: 3, as_of: 5 },
      { room: 'dm:alice:bob', last_read_id: 1, unread: 1, as_of: 2 },
    ])
    messages.applyHistory({
      room: 'general',
      messages: [msg(3), msg(4), msg(5)],
      mode: 'latest',
      hasMore: false,
    })
    rooms.markRead('general') // offline: the socket keeps it for the next welcome
    rooms.applyFrame({
      type: 'welcome',
      user_name: 'alice',
      rooms: ['general', 'dm:alice:bob'],
      online: [],
      read: [
        { room: 'general', last_read_id: 2, unread: 3, as_of: 5 },
        { room: 'dm:alice:bob', last_read_id: 2, unread: 0, as_of: 2 },
      ],
    })
    expect(rooms.readStates.general?.last_read_id).toBe(5)
    expect(rooms.unread.general?.count).toBe(0)
    // Read on another device meanwhile: the server's mark wins.
    expect(rooms.readStates['dm:alice:bob']?.last_read_id).toBe(2)
  })

  it('marks read at once here and on the server at most once a second per room', () => {
    vi.useFakeTimers()
    const { rooms, messages, sent } = welcomed([
      { room: 'general', last_read_id: 0, unread: 0, as_of: 0 },
    ])
    messages.applyHistory({
      room: 'general',
      messages: [msg(1), msg(2)],
      mode: 'latest',
      hasMore: false,
    })
    expect(rooms.unread.general?.count).toBe(2)
    rooms.markRead('general')
    expect(rooms.unread.general?.count).toBe(0)
    expect(sent).toEqual([['general', 2]])
    rooms.markRead('general') // nothing new: nothing sent
    messages.applyFrame({ type: 'message', message: msg(3, { prev_id: 2 }) })
    rooms.markRead('general')
    messages.applyFrame({ type: 'message', message: msg(4, { prev_id: 3 }) })
    rooms.markRead('general')
    expect(sent).toEqual([['general', 2]]) // within the second: waits
    vi.advanceTimersByTime(READ_THROTTLE_MS)
    expect(sent).toEqual([
      ['general', 2],
      ['general', 4],
    ])
  })

  it('takes marks moved in another tab, never moving one back', () => {
    const { rooms } = welcomed([{ room: 'general', last_read_id: 5, unread: 3, as_of: 8 }])
    rooms.applyFrame({ type: 'read_state', room: 'general', last_read_id: 8, unread: 0, as_of: 8 })
    expect(rooms.unread.general?.count).toBe(0)
    rooms.applyFrame({
      type: 'read_ack',
      client_msg_id: 'r-1',
      rooms: [{ room: 'general', last_read_id: 6, unread: 2, as_of: 8 }],
    })
    expect(rooms.readStates.general?.last_read_id).toBe(8)
  })

  it('places the "New messages" line where an opened room was read up to', () => {
    const { rooms } = welcomed([
      { room: 'general', last_read_id: 4, unread: 2, as_of: 9 },
      { room: 'dm:alice:bob', last_read_id: 7, unread: 0, as_of: 7 },
    ])
    expect(rooms.newLineAfter).toEqual({ general: 4 }) // the room open at the welcome
    rooms.open('dm:alice:bob')
    expect(rooms.newLineAfter).toEqual({ general: 4 }) // nothing unread there: no line
    rooms.markRead('general')
    rooms.open('general')
    expect(rooms.newLineAfter).toEqual({ general: 4 })
  })

  it('asks the server for the read state of a room joined since the welcome', async () => {
    const { rooms } = welcomed([{ room: 'general', last_read_id: 1, unread: 0, as_of: 1 }])
    const fetch = vi.fn(async (url: string) => {
      if (url !== '/api/read') throw new Error(url)
      return jsonResponse(200, {
        rooms: [
          { room: 'dev', last_read_id: 7, unread: 0, as_of: 7 },
          { room: 'general', last_read_id: 0, unread: 5, as_of: 9 },
        ],
      })
    })
    vi.stubGlobal('fetch', fetch)
    rooms.applyFrame({ type: 'membership', room: 'dev', user_name: 'alice', joined: true })
    await vi.waitFor(() => expect(rooms.readStates.dev?.last_read_id).toBe(7))
    expect(rooms.readStates.general?.last_read_id).toBe(1) // what it holds stays
  })

  it('marks every room read in one frame', () => {
    const { rooms, sent } = welcomed([
      { room: 'general', last_read_id: 1, unread: 4, as_of: 9 },
      { room: 'dm:alice:bob', last_read_id: 2, unread: 1, as_of: 3 },
    ])
    rooms.markAllRead()
    // With each room's newest id, for the socket to send as reads if it is offline.
    expect(sent).toEqual([
      [
        'all',
        [
          ['general', 9],
          ['dm:alice:bob', 3],
        ],
      ],
    ])
    expect(rooms.unread.general?.count).toBe(0)
    expect(rooms.unread['dm:alice:bob']?.count).toBe(0)
    expect(rooms.newLineAfter).toEqual({})
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
    presence.applyFrame({ type: 'presence', user_name: 'bob', online: true, status: 'online' })
    presence.applyFrame({ type: 'presence', user_name: 'carol', online: false, status: 'offline' })
    expect(presence.online).toEqual(['alice', 'bob'])
  })

  it('knows who is away, from the welcome and from presence frames', () => {
    const presence = usePresenceStore()
    presence.applyFrame({
      type: 'welcome',
      user_name: 'a',
      rooms: [],
      online: ['alice', 'bob'],
      away: ['bob'],
    })
    expect(presence.statusOf('bob')).toBe('away')
    expect(presence.statusOf('alice')).toBe('online')
    expect(presence.statusOf('zed')).toBe('offline')
    presence.applyFrame({ type: 'presence', user_name: 'bob', online: true, status: 'online' })
    expect(presence.statusOf('bob')).toBe('online')
    presence.applyFrame({ type: 'presence', user_name: 'alice', online: true, status: 'away' })
    expect(presence.statusOf('alice')).toBe('away')
    // Offline ends away: coming back online is active unless said otherwise.
    presence.applyFrame({ type: 'presence', user_name: 'alice', online: false, status: 'offline' })
    expect(presence.statusOf('alice')).toBe('offline')
    presence.applyFrame({ type: 'presence', user_name: 'alice', online: true, status: 'online' })
    expect(presence.statusOf('alice')).toBe('online')
    // An older server's welcome has no `away`: nobody is.
    presence.applyFrame({ type: 'welcome', user_name: 'a', rooms: [], online: ['bob'] })
    expect(presence.statusOf('bob')).toBe('online')
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
