import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { defineComponent, h } from 'vue'
import { RouterView, createMemoryHistory, createRouter, type Router } from 'vue-router'
import { msg } from '@/protocol/__tests__/factories'
import { useMessagesStore } from '@/stores/messages'
import { useRoomsStore } from '@/stores/rooms'
import { useSessionStore } from '@/stores/session'
import { lastRoomKey, useChatRoute } from '../useChatRoute'

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  })
}
const refusal = (status: number, code: string) => json(status, { error: { code, message: code } })

/** The server: public rooms `public`, users alice (signed in), bob and carol. */
function server(messages: Record<string, number[]> = {}) {
  return vi.fn(async (url: string, init?: RequestInit) => {
    const method = init?.method ?? 'GET'
    let m: RegExpExecArray | null
    if (method === 'POST' && (m = /^\/api\/rooms\/([^/]+)\/join$/.exec(url))) {
      const room = decodeURIComponent(m[1]!)
      return room === 'public'
        ? json(200, { name: room, joined: true })
        : refusal(404, 'room_not_found')
    }
    if (method === 'POST' && (m = /^\/api\/dm\/([^/]+)$/.exec(url))) {
      const user = decodeURIComponent(m[1]!)
      if (user === 'alice') return refusal(400, 'bad_request')
      if (!['bob', 'carol'].includes(user)) return refusal(404, 'user_not_found')
      return json(200, { name: `dm:alice:${user}` })
    }
    if (method === 'GET' && (m = /^\/api\/rooms\/([^/]+)\/messages\/(\d+)$/.exec(url))) {
      const room = decodeURIComponent(m[1]!)
      const id = Number(m[2])
      if (!(messages[room] ?? []).includes(id)) return refusal(404, 'message_not_found')
      return json(200, { message: msg(id, { room }), as_of: id })
    }
    throw new Error(`unexpected ${method} ${url}`)
  })
}

const scrolled: number[] = []
let scrollFinds = true
const Chat = defineComponent({
  setup() {
    const { notice } = useChatRoute(async (id) => {
      scrolled.push(id)
      return scrollFinds
    })
    return () => h('p', { 'data-testid': 'notice' }, notice.value)
  },
})

let router: Router

async function mountChat() {
  router = createRouter({
    history: createMemoryHistory(),
    routes: [
      { path: '/', name: 'chat', component: Chat },
      { path: '/r/:room/:id?', name: 'room', component: Chat },
      { path: '/dm/:user/:id?', name: 'dm', component: Chat },
      { path: '/login', name: 'login', component: { render: () => null } },
    ],
  })
  const wrapper = mount(RouterView, { global: { plugins: [router] } })
  await router.isReady()
  await flushPromises()
  return wrapper
}

async function welcome(rooms: string[] = ['general', 'foo', 'dm:alice:bob']) {
  useRoomsStore().applyFrame({ type: 'welcome', user_name: 'alice', rooms, online: [] })
  await flushPromises()
}

/** The room's newest page has arrived (as the socket's baseline would bring it). */
function baseline(room: string, ids: number[]) {
  useMessagesStore().applyHistory({
    room,
    messages: ids.map((id) => msg(id, { room })),
    mode: 'latest',
    hasMore: false,
  })
}

async function visit(path: string) {
  await router.push(path)
  await flushPromises()
}

beforeEach(() => {
  setActivePinia(createPinia())
  localStorage.clear()
  const session = useSessionStore()
  session.userName = 'alice'
  scrolled.length = 0
  scrollFinds = true
})
afterEach(() => {
  vi.unstubAllGlobals()
})

describe('useChatRoute', () => {
  it('opens the room of the URL, and remembers it for / on this device', async () => {
    vi.stubGlobal('fetch', server())
    await mountChat()
    await welcome()
    await visit('/r/foo')
    expect(useRoomsStore().active).toBe('foo')
    expect(localStorage.getItem(lastRoomKey('alice'))).toBe('foo')
    await visit('/')
    expect(router.currentRoute.value.fullPath).toBe('/r/foo')
    expect(useRoomsStore().active).toBe('foo')
  })

  it('sends / to #general when the last room is not one of the user’s any more', async () => {
    vi.stubGlobal('fetch', server())
    localStorage.setItem(lastRoomKey('alice'), 'left-elsewhere')
    await mountChat()
    await welcome()
    await visit('/')
    expect(router.currentRoute.value.fullPath).toBe('/r/general')
    expect(useRoomsStore().active).toBe('general')
  })

  it('shows the room asked for before the welcome frame, and checks it after', async () => {
    vi.stubGlobal('fetch', server())
    await mountChat()
    await visit('/r/foo')
    expect(useRoomsStore().active).toBe('foo')
    await welcome()
    await flushPromises()
    expect(useRoomsStore().active).toBe('foo')
    expect(router.currentRoute.value.fullPath).toBe('/r/foo')
  })

  it('joins a public room the user is not in yet', async () => {
    const fetch = server()
    vi.stubGlobal('fetch', fetch)
    await mountChat()
    await welcome()
    await visit('/r/public')
    expect(fetch).toHaveBeenCalledWith('/api/rooms/public/join', expect.anything())
    expect(useRoomsStore().joined).toContain('public')
    expect(useRoomsStore().active).toBe('public')
    expect(router.currentRoute.value.fullPath).toBe('/r/public')
  })

  it('falls back to #general with a notice for a room that does not exist', async () => {
    vi.stubGlobal('fetch', server())
    const wrapper = await mountChat()
    await welcome()
    await visit('/r/nope')
    expect(router.currentRoute.value.fullPath).toBe('/r/general')
    expect(useRoomsStore().active).toBe('general')
    expect(wrapper.get('[data-testid="notice"]').text()).toBe(
      'There is no room #nope. You are in #general.',
    )
    // the next navigation clears it
    await visit('/r/foo')
    expect(wrapper.get('[data-testid="notice"]').text()).toBe('')
  })

  it('refuses a malformed room name without asking the server', async () => {
    const fetch = server()
    vi.stubGlobal('fetch', fetch)
    const wrapper = await mountChat()
    await welcome()
    await visit('/r/Not%20A%20Room')
    expect(router.currentRoute.value.fullPath).toBe('/r/general')
    expect(wrapper.get('[data-testid="notice"]').text()).toBe(
      'There is no room #Not A Room. You are in #general.',
    )
    expect(fetch).not.toHaveBeenCalled()
  })

  it('opens a direct conversation by the other person’s name, creating it when needed', async () => {
    vi.stubGlobal('fetch', server())
    await mountChat()
    await welcome()
    await visit('/dm/bob')
    expect(useRoomsStore().active).toBe('dm:alice:bob')
    await visit('/dm/carol')
    expect(useRoomsStore().active).toBe('dm:alice:carol')
    expect(useRoomsStore().joined).toContain('dm:alice:carol')
  })

  it('says why a direct conversation cannot be opened', async () => {
    vi.stubGlobal('fetch', server())
    const wrapper = await mountChat()
    await welcome()
    await visit('/dm/zed')
    expect(router.currentRoute.value.fullPath).toBe('/r/general')
    expect(wrapper.get('[data-testid="notice"]').text()).toBe(
      'There is no user named zed. You are in #general.',
    )
    await visit('/dm/alice')
    expect(router.currentRoute.value.fullPath).toBe('/r/general')
    expect(wrapper.get('[data-testid="notice"]').text()).toBe(
      'You cannot send direct messages to yourself. You are in #general.',
    )
  })

  it('reads a shared link to a direct room at the reader’s own /dm/ path', async () => {
    vi.stubGlobal('fetch', server({ 'dm:alice:bob': [7] }))
    const wrapper = await mountChat()
    await welcome()
    baseline('dm:alice:bob', [7])
    await visit('/r/dm:alice:bob/7')
    expect(router.currentRoute.value.fullPath).toBe('/dm/bob/7')
    expect(useRoomsStore().active).toBe('dm:alice:bob')
    expect(scrolled).toEqual([7])
    await visit('/r/dm:bob:carol/7')
    expect(router.currentRoute.value.fullPath).toBe('/r/general')
    expect(wrapper.get('[data-testid="notice"]').text()).toBe(
      'That conversation is not one of yours. You are in #general.',
    )
  })

  it('scrolls to a linked message once the room’s history has arrived', async () => {
    vi.stubGlobal('fetch', server({ foo: [3] }))
    await mountChat()
    await welcome()
    await visit('/r/foo/3')
    expect(scrolled).toEqual([]) // no history yet
    baseline('foo', [10, 11])
    await flushPromises()
    expect(scrolled).toEqual([3])
    expect(router.currentRoute.value.fullPath).toBe('/r/foo/3')
  })

  it('stays in the room with a notice for a message that is not in it', async () => {
    vi.stubGlobal('fetch', server({ general: [3] }))
    const wrapper = await mountChat()
    await welcome()
    baseline('foo', [10])
    await visit('/r/foo/3') // message 3 is in general, not foo
    expect(router.currentRoute.value.fullPath).toBe('/r/foo')
    expect(useRoomsStore().active).toBe('foo')
    expect(scrolled).toEqual([])
    expect(wrapper.get('[data-testid="notice"]').text()).toBe(
      'That message is not in this conversation: the link may be wrong.',
    )
    await visit('/r/foo/abc')
    expect(router.currentRoute.value.fullPath).toBe('/r/foo')
    expect(wrapper.get('[data-testid="notice"]').text()).toContain('not in this conversation')
  })

  it('says so when the message exists but cannot be reached in the history', async () => {
    vi.stubGlobal('fetch', server({ foo: [3] }))
    scrollFinds = false
    const wrapper = await mountChat()
    await welcome()
    baseline('foo', [10])
    await visit('/r/foo/3')
    expect(scrolled).toEqual([3])
    expect(wrapper.get('[data-testid="notice"]').text()).toBe(
      'That message is too far back in the history to scroll to.',
    )
  })

  it('follows the rooms store back to #general when the open room is left', async () => {
    vi.stubGlobal('fetch', server())
    await mountChat()
    await welcome()
    await visit('/r/foo')
    useRoomsStore().applyFrame({
      type: 'membership',
      room: 'foo',
      user_name: 'alice',
      joined: false,
    })
    await flushPromises()
    expect(router.currentRoute.value.fullPath).toBe('/r/general')
  })
})
