// Which profile card is open (one at a time), and the element that opened it, which gets the
// focus back when the card closes.
import { defineStore } from 'pinia'
import { nextTick, ref, shallowRef } from 'vue'

export const useProfileCardStore = defineStore('profileCard', () => {
  /** The user whose card is open, or null. */
  const user = ref<string | null>(null)
  const opener = shallowRef<HTMLElement | null>(null)

  function open(name: string, from: EventTarget | null = null) {
    user.value = name
    opener.value = from instanceof HTMLElement ? from : null
  }

  /**
   * Closes the card; unless it leads elsewhere (`giveFocusBack` false), focus goes back to what opened it, if it is still on the page, once the
   * modal dialog is gone (while it is open, the rest of the page cannot take the focus).
   */
  function close(giveFocusBack = true) {
    const back = giveFocusBack ? opener.value : null
    user.value = null
    opener.value = null
    return nextTick(() => {
      if (back?.isConnected) back.focus()
    })
  }

  return { user, opener, open, close }
})
