import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ReadState } from '@/protocol/frames'
import { useNotifyLevelsStore } from '../notifyLevels'
import { useRoomsStore } from '../rooms'
import { useSessionStore } from '../session'

function jsonResponse(status: number, body: unknown) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  })
}

const unreadIn = (room: string, unread: number, mentions: number): ReadState => ({
  room,
  last_read_id: 1,
  unread,
  as_of: 10,
  mentions,
})

function welcomed(notify?: Record<string, 'all' | 'mentions' | 'muted'>) {
  useSessionStore().userName = 'alice'
  const rooms = useRoomsStore()
  const levels = useNotifyLevelsStore()
  const welcome = {
    type: 'welcome' as const,
    user_name: 'alice',
    rooms: ['general', 'design', 'dm:alice:bob'],
    online: [],
    read: [unreadIn('general', 3, 1), unreadIn('design', 2, 0), unreadIn('dm:alice:bob', 1, 0)],
    ...(notify ? { notify } : {}),
  }
  rooms.applyFrame(welcome)
  levels.applyFrame(welcome)
  return { rooms, levels }
}

beforeEach(() => {
  setActivePinia(createPinia())
  localStorage.clear()
})
afterEach(() => {
  vi.unstubAllGlobals()
})

describe('notification levels store', () => {
  it('takes the welcome’s levels, defaults elsewhere, and mutes badges, not counts', () => {
    const { rooms, levels } = welcomed({ general: 'muted', 'dm:alice:bob': 'mentions' })
    expect(levels.levelOf('general')).toBe('muted')
    expect(levels.levelOf('design')).toBe('mentions')
    expect(levels.levelOf('dm:alice:bob')).toBe('mentions')
    expect(levels.levelOf('dm:alice:carol')).toBe('all')
    expect(levels.isMuted('general')).toBe(true)
    expect(levels.badges.general).toEqual({ count: 0, more: false, mentions: 0 })
    expect(levels.badges.design).toEqual({ count: 2, more: false, mentions: 0 })
    // The counts themselves stay: the "New messages" line still knows where reading stopped.
    expect(rooms.unread.general).toEqual({ count: 3, more: false, mentions: 1 })
  })

  it('an older server’s welcome (no notify) means every room at its default', () => {
    const { levels } = welcomed()
    expect(levels.chosen).toEqual({})
    expect(levels.badges.general?.count).toBe(3)
  })

  it('follows notify frames from any tab, keeping only levels that are not the default', () => {
    const { levels } = welcomed()
    levels.applyFrame({ type: 'notify', room: 'design', level: 'muted' })
    expect(levels.badges.design?.count).toBe(0)
    levels.applyFrame({ type: 'notify', room: 'design', level: 'mentions' })
    expect(levels.chosen).toEqual({})
    expect(levels.badges.design?.count).toBe(2)
    levels.applyFrame({ type: 'notify', room: 'dm:alice:bob', level: 'muted' })
    // Leaving a room forgets its level, as the server does.
    levels.applyFrame({
      type: 'membership',
      room: 'dm:alice:bob',
      user_name: 'alice',
      joined: false,
    })
    expect(levels.levelOf('dm:alice:bob')).toBe('all')
  })

  it('sets a level with PUT …/notify, shown at once, and takes it back when refused', async () => {
    const { levels } = welcomed()
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      expect(url).toBe('/api/rooms/design/notify')
      expect(init?.method).toBe('PUT')
      const { level } = JSON.parse(String(init?.body)) as { level: string }
      return level === 'muted'
        ? jsonResponse(200, { room: 'design', level })
        : jsonResponse(403, { error: { code: 'not_member', message: 'join the room' } })
    })
    vi.stubGlobal('fetch', fetch)
    const saving = levels.set('design', 'muted')
    expect(levels.isMuted('design')).toBe(true)
    await saving
    expect(levels.levelOf('design')).toBe('muted')
    await expect(levels.set('design', 'all')).rejects.toThrow()
    expect(levels.levelOf('design')).toBe('muted')
    expect(fetch).toHaveBeenCalledTimes(2)
  })
})
