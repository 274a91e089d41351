// The away status (docs/web-client.md "Away"): after a while without input on this page
// (utils/idle.ts) the socket tells the server this device is away; the next input makes it
// active again. Others see the user away once every device of theirs is.
import { onBeforeUnmount, onMounted, watch } from 'vue'
import { useConnectionStore } from '@/stores/connection'
import { idleMsFromStorage, startIdleDetector, type IdleDetector } from '@/utils/idle'

export function useAwayStatus(): void {
  const connection = useConnectionStore()
  let detector: IdleDetector | null = null

  onMounted(() => {
    detector = startIdleDetector({
      idleMs: idleMsFromStorage(typeof localStorage === 'undefined' ? null : localStorage),
      onChange: (idle) => connection.socket?.setAway(idle),
      target: window,
      doc: document,
    })
  })
  // A new socket starts active: tell it what this page is now.
  watch(
    () => connection.socket,
    (socket) => socket?.setAway(detector?.idle ?? false),
  )
  onBeforeUnmount(() => {
    detector?.stop()
    detector = null
  })
}
