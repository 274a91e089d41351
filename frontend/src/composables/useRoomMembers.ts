// The member names of rooms, for the composer's `@` autocomplete: fetched per room (every page
// of GET /api/rooms/{room}/members) and kept until a `membership` frame says the room changed,
// a new `welcome` (memberships may have changed while offline), or `maxAgeMs` passed (no frame
// announces a newcomer to `general`). A failed fetch is forgotten, so the next `@` tries again.
import type { ApiClient } from '@/api/http'

/** Pages followed at most: past it the names seen so far are offered. */
const MAX_PAGES = 100
/** How long a room's names are offered before they are fetched again. */
export const MEMBERS_MAX_AGE_MS = 60_000

export function createMemberCache(
  api: Pick<ApiClient, 'members'>,
  { maxAgeMs = MEMBERS_MAX_AGE_MS, now = () => Date.now() } = {},
) {
  const cache = new Map<string, { names: Promise<string[]>; fetchedAt: number }>()

  async function fetchAll(room: string): Promise<string[]> {
    const names: string[] = []
    let after = ''
    for (let page = 0; page < MAX_PAGES; page++) {
      const { members, has_more } = await api.members(room, after)
      names.push(...members)
      if (!has_more || members.length === 0) break
      after = members[members.length - 1]!
    }
    return names
  }

  return {
    members(room: string): Promise<string[]> {
      const held = cache.get(room)
      if (held && now() - held.fetchedAt < maxAgeMs) return held.names
      const entry = { names: fetchAll(room), fetchedAt: now() }
      cache.set(room, entry)
      entry.names.catch(() => {
        if (cache.get(room) === entry) cache.delete(room)
      })
      return entry.names
    },
    forget: (room: string) => cache.delete(room),
    clear: () => cache.clear(),
  }
}

export type MemberCache = ReturnType<typeof createMemberCache>
