// The member names of rooms, for the composer's `@` autocomplete: fetched once per room (every
// page of GET /api/rooms/{room}/members) and kept for the rest of the session. A failed fetch
// is forgotten, so the next `@` tries again.
import type { ApiClient } from '@/api/http'

/** Pages followed at most: past it the names seen so far are offered. */
const MAX_PAGES = 100

export function createMemberCache(api: Pick<ApiClient, 'members'>) {
  const cache = new Map<string, Promise<string[]>>()

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
      let names = cache.get(room)
      if (!names) {
        names = fetchAll(room)
        cache.set(room, names)
        names.catch(() => cache.delete(room))
      }
      return names
    },
    clear: () => cache.clear(),
  }
}

export type MemberCache = ReturnType<typeof createMemberCache>
