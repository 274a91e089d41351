// Display names as the chat screen shows them, cached for the session: a name asked for is
// fetched once (`GET /api/people/{name}`, a microtask later so that rendering never writes
// state), and the cache forgets everything when the signed-in user changes. Until the answer
// (or when it fails), the user name stands in.
import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import { shownName, type Person } from '@/api/people'
import { useSessionStore } from './session'

export const useDisplayNamesStore = defineStore('displayNames', () => {
  const session = useSessionStore()
  /** user name -> display name ('' when none is set or the person is unknown). */
  const names = ref<Record<string, string>>({})
  /** Asked for and not answered yet; not reactive: only the answers render. */
  const pending = new Set<string>()
  let generation = 0

  function fetchLater(user: string) {
    if (pending.has(user)) return
    pending.add(user)
    const mine = generation
    queueMicrotask(() => {
      session.api
        .person(user)
        .then((person) => {
          if (mine === generation) remember(person)
        })
        .catch(() => {
          if (mine === generation) names.value[user] = ''
        })
        .finally(() => {
          if (mine === generation) pending.delete(user)
        })
    })
  }

  /** The name to show for `user`: their display name once known, else the user name. */
  function nameOf(user: string): string {
    if (user === '') return user
    const known = names.value[user]
    if (known === undefined) {
      fetchLater(user)
      return user
    }
    return known === '' ? user : known
  }

  /** A person read elsewhere (the directory, a card, a live `profile` frame). */
  function remember(person: Pick<Person, 'user_name' | 'display_name'>) {
    names.value[person.user_name] =
      shownName(person) === person.user_name ? '' : person.display_name
  }

  function reset() {
    generation++
    pending.clear()
    names.value = {}
  }

  watch(() => session.userName, reset)

  return { names, nameOf, remember, reset }
})
