// Keeps Tab and Shift+Tab inside `container` while `active` (the phone drawer, which covers the
// page: the rest is `inert` meanwhile), and moves focus into it when it becomes active. Giving
// focus back when it closes is the caller's (it knows which button opened it).
import { nextTick, watch, type Ref } from 'vue'

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])'

/** The elements Tab can reach in `root`, in document order (hidden ones left out). */
export function focusables(root: HTMLElement | null): HTMLElement[] {
  if (!root) return []
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
    (el) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden',
  )
}

export function useFocusTrap(container: Ref<HTMLElement | null>, active: Ref<boolean>) {
  watch(active, (on) => {
    if (on) void nextTick(() => focusables(container.value)[0]?.focus())
  })

  function onKeydown(event: KeyboardEvent) {
    if (!active.value || event.key !== 'Tab') return
    const items = focusables(container.value)
    const first = items[0]
    const last = items[items.length - 1]
    if (!first || !last) return
    const current = document.activeElement
    const inside = current instanceof Node && container.value?.contains(current)
    if (event.shiftKey && (current === first || !inside)) {
      event.preventDefault()
      last.focus()
    } else if (!event.shiftKey && (current === last || !inside)) {
      event.preventDefault()
      first.focus()
    }
  }

  return { onKeydown }
}
