import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { useDisplayNamesStore } from '../displayNames'
import { useRoomsStore } from '../rooms'
import { useSessionStore } from '../session'

function jsonResponse(status: number, body: unknown) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json' },
  })
}

const DISPLAY: Record<string, string> = { bob: 'Bob Brown', carol: 'Zoé Carol' }

let asked: string[] = []
beforeEach(() => {
  setActivePinia(createPinia())
  asked = []
  vi.stubGlobal(
    'fetch',
    vi.fn(async (url: string) => {
      asked.push(url)
      const name = decodeURIComponent(url.split('/').at(-1) ?? '')
      if (name === 'ghost') return jsonResponse(404, { error: { code: 'user_not_found' } })
      return jsonResponse(200, {
        user_name: name,
        display_name: DISPLAY[name] ?? '',
        status: 'offline',
        last_seen_ms: 0,
      })
    }),
  )
  useSessionStore().userName = 'alice'
})
afterEach(() => vi.unstubAllGlobals())

describe('display names', () => {
  it('shows the user name until the card answers, asks once per name, then shows the display name', async () => {
    const names = useDisplayNamesStore()
    expect(names.nameOf('bob')).toBe('bob')
    expect(names.nameOf('bob')).toBe('bob')
    await vi.waitFor(() => expect(names.nameOf('bob')).toBe('Bob Brown'))
    expect(asked).toEqual(['/api/people/bob'])
  })

  it('keeps the user name for someone without a display name or unknown, without asking again', async () => {
    const names = useDisplayNamesStore()
    names.nameOf('dave')
    names.nameOf('ghost')
    await vi.waitFor(() => expect(names.names).toEqual({ dave: '', ghost: '' }))
    expect(names.nameOf('dave')).toBe('dave')
    expect(names.nameOf('ghost')).toBe('ghost')
    expect(asked).toHaveLength(2)
  })

  it('takes what the directory or a live change says, and forgets everything at sign-out', async () => {
    const names = useDisplayNamesStore()
    names.remember({ user_name: 'erin', display_name: 'Erin E' })
    expect(names.nameOf('erin')).toBe('Erin E')
    names.remember({ user_name: 'erin', display_name: '' })
    expect(names.nameOf('erin')).toBe('erin')
    useSessionStore().userName = null
    await vi.waitFor(() => expect(names.names).toEqual({}))
    expect(asked).toEqual([])
  })

  it('titles a group conversation by the others’ display names, sorted', async () => {
    const rooms = useRoomsStore()
    const names = useDisplayNamesStore()
    expect(rooms.displayName('dm:alice:bob:carol')).toBe('bob, carol')
    await vi.waitFor(() => expect(Object.keys(names.names)).toHaveLength(2))
    expect(rooms.displayName('dm:alice:bob:carol')).toBe('Bob Brown, Zoé Carol')
    expect(rooms.displayName('dm:alice:bob')).toBe('Bob Brown')
    expect(rooms.displayName('design')).toBe('design')
  })
})
