// The people picked on the People pane for one conversation: at most `maxOthers` (the server's
// `max_group_dm_members` less oneself), kept across searches, in the order picked.
import { computed, ref, type Ref } from 'vue'

export function usePeopleSelection(maxOthers: Ref<number>) {
  const selected = ref<string[]>([])
  const full = computed(() => selected.value.length >= maxOthers.value)

  function isSelected(user: string): boolean {
    return selected.value.includes(user)
  }

  /** Picks or unpicks `user`; a pick past the limit is ignored (its box is disabled anyway). */
  function toggle(user: string) {
    if (isSelected(user)) selected.value = selected.value.filter((u) => u !== user)
    else if (!full.value) selected.value = [...selected.value, user]
  }

  function clear() {
    selected.value = []
  }

  return { selected, full, isSelected, toggle, clear }
}
