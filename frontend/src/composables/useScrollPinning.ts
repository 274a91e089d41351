// Keeps a scrolling list where its reader left it while its rows change, as chat logs do:
// pinned to the bottom when the reader was there (or when the newest row is their own), at the
// same place when older rows are prepended above, and otherwise still, with `unseenBelow` set
// until the reader comes back down.
import { nextTick, onMounted, ref, toValue, watch, type Ref, type WatchSource } from 'vue'

/** Closer than this to the bottom counts as "at the bottom". */
export const NEAR_BOTTOM_PX = 80

/** What the pinning needs to know of the rows, after each change. */
export interface PinnedRows {
  /** Key of the first row: a different one means rows were prepended. */
  firstKey: string | undefined
  /** The newest row is one the reader just sent: scroll to it wherever they were. */
  ownNewest: boolean
  /**
   * Key of the last row: when it is the same, nothing arrived below (a row above changed, say a
   * reaction), so a reader scrolled up is not told of new rows. Absent: any change counts.
   */
  lastKey?: string | undefined
}

export function distanceToBottom(el: HTMLElement): number {
  return el.scrollHeight - el.scrollTop - el.clientHeight
}

/**
 * Watches `rows` (before the DOM updates), which `describe` reads; `afterMove` runs once the view
 * is back in place (on mount, after each change, after `reset`).
 */
export function useScrollPinning<Rows>(
  scroller: Readonly<Ref<HTMLElement | null>>,
  rows: WatchSource<Rows>,
  describe: (rows: Rows) => PinnedRows,
  afterMove: () => void = () => {},
) {
  /** Rows arrived below while the reader was scrolled up. */
  const unseenBelow = ref(false)
  let pinned = true
  let firstKey: string | undefined
  let lastKey: string | undefined
  /** scrollHeight - scrollTop before the update: unchanged by rows added above. */
  let fromBottomEdge = 0

  function scrollToBottom() {
    const el = scroller.value
    if (el) el.scrollTop = el.scrollHeight
    unseenBelow.value = false
  }

  // Before the DOM changes, remember where the reader is; after, restore it.
  watch(
    rows,
    async (nextRows) => {
      const next = describe(nextRows)
      const before = scroller.value
      if (before) {
        pinned = distanceToBottom(before) < NEAR_BOTTOM_PX
        fromBottomEdge = before.scrollHeight - before.scrollTop
      }
      const prepended = firstKey !== undefined && next.firstKey !== firstKey
      const appended = !('lastKey' in next) || next.lastKey !== lastKey
      firstKey = next.firstKey
      lastKey = next.lastKey
      await nextTick()
      const el = scroller.value
      if (!el) return
      if (pinned || next.ownNewest) scrollToBottom()
      else if (prepended) el.scrollTop = el.scrollHeight - fromBottomEdge
      else if (appended) unseenBelow.value = true
      afterMove()
    },
    { flush: 'pre' },
  )

  /** The list now shows other rows altogether (another room): start again at the bottom. */
  async function reset() {
    firstKey = undefined
    lastKey = undefined
    pinned = true
    await nextTick()
    scrollToBottom()
    afterMove()
  }

  /** Call from the scroller's scroll event. */
  function onScroll() {
    const el = scroller.value
    if (el && distanceToBottom(el) < NEAR_BOTTOM_PX) unseenBelow.value = false
  }

  onMounted(() => {
    const initial = describe(toValue(rows))
    firstKey = initial.firstKey
    lastKey = initial.lastKey
    scrollToBottom()
    afterMove()
  })

  return { unseenBelow, scrollToBottom, reset, onScroll }
}
