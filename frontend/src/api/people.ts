// The people directory's answers (docs/protocol.md "People"): parsed, never trusted as typed.

export type PersonStatus = 'online' | 'away' | 'offline'

export interface Person {
  user_name: string
  /** Empty when the person set none. */
  display_name: string
  status: PersonStatus
  /** When a connection of theirs last closed (ms since the epoch); 0: never yet. */
  last_seen_ms: number
}

export interface PeoplePage {
  people: Person[]
  has_more: boolean
}

const STATUSES: readonly string[] = ['online', 'away', 'offline']

export function parsePerson(raw: unknown): Person | null {
  if (typeof raw !== 'object' || raw === null) return null
  const r = raw as Record<string, unknown>
  if (typeof r.user_name !== 'string' || r.user_name === '') return null
  const status = typeof r.status === 'string' && STATUSES.includes(r.status) ? r.status : 'offline'
  return {
    user_name: r.user_name,
    display_name: typeof r.display_name === 'string' ? r.display_name : '',
    status: status as PersonStatus,
    last_seen_ms: typeof r.last_seen_ms === 'number' && r.last_seen_ms > 0 ? r.last_seen_ms : 0,
  }
}

export function parsePeoplePage(raw: unknown): PeoplePage | null {
  if (typeof raw !== 'object' || raw === null) return null
  const r = raw as Record<string, unknown>
  if (!Array.isArray(r.people)) return null
  const people = r.people.map(parsePerson)
  if (people.some((p) => p === null)) return null
  return { people: people as Person[], has_more: r.has_more === true }
}

/** The name to show for a person: their display name, else their user name. */
export function shownName(person: Pick<Person, 'user_name' | 'display_name'>): string {
  return person.display_name.trim() !== '' ? person.display_name : person.user_name
}
