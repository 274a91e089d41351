// The people directory as the People view shows it: one search at a time (a newer search makes
// the answers of older ones stale: they are dropped), paged by name ("Show more").
import { defineStore } from 'pinia'
import { ref } from 'vue'
import type { Person } from '@/api/people'
import type { ServerFrame } from '@/protocol/frames'
import { useSessionStore } from './session'

export const PEOPLE_PAGE = 50

export const usePeopleStore = defineStore('people', () => {
  const query = ref('')
  const people = ref<Person[]>([])
  const hasMore = ref(false)
  const loading = ref(false)
  /** The error code of the last failed request, or null. */
  const error = ref<string | null>(null)
  let generation = 0

  async function load(q: string, after: string | undefined) {
    const session = useSessionStore()
    const mine = ++generation
    loading.value = true
    error.value = null
    try {
      const page = await session.api.people({ q: q.trim(), after, limit: PEOPLE_PAGE })
      if (mine !== generation) return
      people.value = after === undefined ? page.people : [...people.value, ...page.people]
      hasMore.value = page.has_more
    } catch (e) {
      if (mine !== generation) return
      error.value = (e as { code?: string }).code ?? 'unknown'
    } finally {
      if (mine === generation) loading.value = false
    }
  }

  /** The first page of people whose name or display name starts with `q` (any case). */
  function search(q: string) {
    query.value = q
    return load(q, undefined)
  }

  /** The next page of the current search. */
  function loadMore() {
    const last = people.value.at(-1)
    if (!hasMore.value || !last) return Promise.resolve()
    return load(query.value, last.user_name)
  }

  /** Sets your display name; the listed row of yours follows. Rejects with the server's error. */
  async function setDisplayName(name: string) {
    const session = useSessionStore()
    const mine = await session.api.setDisplayName(name)
    people.value = people.value.map((p) => (p.user_name === mine.user_name ? mine : p))
    return mine
  }

  /** Live presence: a listed person's status follows the socket's presence frames. */
  function applyFrame(frame: ServerFrame) {
    if (frame.type !== 'presence') return
    const { user_name: user, status } = frame
    if (!people.value.some((p) => p.user_name === user && p.status !== status)) return
    people.value = people.value.map((p) =>
      p.user_name === user
        ? { ...p, status, last_seen_ms: status === 'offline' ? Date.now() : p.last_seen_ms }
        : p,
    )
  }

  return { query, people, hasMore, loading, error, search, loadMore, setDisplayName, applyFrame }
})
