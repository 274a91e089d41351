// The connection store wires the real ChatSocket (over a fake WebSocket) to the other stores.
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { FakeWebSocket } from '@/api/__tests__/fakeWebSocket'
import { msg } from '@/protocol/__tests__/factories'
import { socketUrl, useConnectionStore } from '../connection'
import { useMessagesStore } from '../messages'
import { usePresenceStore } from '../presence'
import { useRoomsStore } from '../rooms'
import { useSessionStore } from '../session'

beforeEach(() => {
  setActivePinia(createPinia())
  FakeWebSocket.reset()
  sessionStorage.clear()
  localStorage.clear()
  const session = useSessionStore()
  session.userName = 'alice'
})
afterEach(() => {
  vi.unstubAllGlobals()
})

describe('connection store', () => {
  it('builds the socket URL from the page location', () => {
    // No token in the URL: the same-origin upgrade carries the session cookie.
    expect(socketUrl({ protocol: 'https:', host: 'chat.example' })).toBe('wss://chat.example/ws')
    expect(socketUrl({ protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/ws')
  })

  it('routes frames and history to the stores, and sends through the socket', async () => {
    const fetch = vi.fn(async (url: string) => {
      expect(url).toBe('/api/rooms/general/messages?limit=100')
      return new Response(JSON.stringify({ messages: [msg(1), msg(2)], has_more: false }))
    })
    vi.stubGlobal('fetch', fetch)
    const connection = useConnectionStore()
    connection.start({ WebSocket: FakeWebSocket, network: null })
    const ws = FakeWebSocket.last
    expect(ws.url).toBe(`ws://${location.host}/ws`)
    ws.open()
    ws.welcome(['general'], 'alice', ['alice', 'bob'])
    await vi.waitFor(() => expect(connection.status).toBe('online'))

    expect(useRoomsStore().joined).toEqual(['general'])
    expect(usePresenceStore().online).toEqual(['alice', 'bob'])
    const messages = useMessagesStore()
    expect(messages.timeline('general')?.items.map((i) => i.id)).toEqual([1, 2])

    ws.receive({ type: 'typing', room: 'general', user_name: 'bob' })
    expect(usePresenceStore().typingIn('general')).toEqual(['bob'])
    ws.receive({ type: 'message', message: msg(3) })
    expect(messages.timeline('general')?.items.map((i) => i.id)).toEqual([1, 2, 3])
    expect(usePresenceStore().typingIn('general')).toEqual([])

    const cmid = messages.send('general', 'hello')
    expect(ws.frames.at(-1)).toEqual({
      type: 'send',
      room: 'general',
      content: 'hello',
      client_msg_id: cmid,
    })
    connection.typing('general')
    connection.typing('general') // throttled
    expect(ws.frames.filter((f) => f.type === 'typing')).toHaveLength(1)

    // Clearing the draft ends the notice once; the next keystroke announces typing at once.
    connection.stoppedTyping('general')
    connection.stoppedTyping('general')
    connection.stoppedTyping('dev') // nothing was announced there
    expect(ws.frames.filter((f) => f.type === 'typing_stop')).toEqual([
      { type: 'typing_stop', room: 'general' },
    ])
    connection.typing('general')
    expect(ws.frames.filter((f) => f.type === 'typing')).toHaveLength(2)
    // A message ends the notice itself: no stop after it.
    connection.sent('general')
    connection.stoppedTyping('general')
    expect(ws.frames.filter((f) => f.type === 'typing_stop')).toHaveLength(1)

    connection.stop()
    expect(connection.status).toBe('idle')
    expect(ws.closedWith).toBe(1000)
  })

  it('signs out when the server revokes the token (close 1008)', () => {
    const connection = useConnectionStore()
    connection.start({ WebSocket: FakeWebSocket, network: null })
    FakeWebSocket.last.open()
    FakeWebSocket.last.serverClose(1008)
    const session = useSessionStore()
    expect(session.signedIn).toBe(false)
    expect(session.expired).toBe(true)
    expect(connection.status).toBe('closed')
  })
})
