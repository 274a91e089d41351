// Idle detection for the away status (docs/web-client.md "Away"): the user is idle after
// `idleMs` without pointer, keyboard, touch or wheel input and without the page coming into view
// or focus; any of those makes them active again at once.

/** The default time without input after which the user shows as away: 10 minutes. */
export const DEFAULT_IDLE_MS = 10 * 60 * 1000
/** localStorage key that shortens (or lengthens) it, in ms, read when the chat screen opens. */
export const IDLE_MS_KEY = 'chatd.awayAfterMs'

const INPUT_EVENTS = ['pointerdown', 'pointermove', 'keydown', 'touchstart', 'wheel'] as const

export interface IdleOptions {
  idleMs: number
  /** Called with true when the user becomes idle, false when active again. */
  onChange: (idle: boolean) => void
  /** Where input is heard (window); null in tests that drive `activity()` themselves. */
  target?: Pick<Window, 'addEventListener' | 'removeEventListener'> | null
  /** Whose visibility is watched (document). */
  doc?: Pick<Document, 'addEventListener' | 'removeEventListener' | 'visibilityState'> | null
}

export interface IdleDetector {
  /** Input was seen: the user is active, and the countdown starts again. */
  activity(): void
  readonly idle: boolean
  stop(): void
}

/** The idle time set through localStorage (a positive number of ms), else the default. */
export function idleMsFromStorage(storage: Pick<Storage, 'getItem'> | null): number {
  let raw: string | null = null
  try {
    raw = storage?.getItem(IDLE_MS_KEY) ?? null
  } catch {
    // storage refused (private mode): the default
  }
  const ms = raw === null ? NaN : Number(raw)
  return Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_IDLE_MS
}

export function startIdleDetector(options: IdleOptions): IdleDetector {
  const { idleMs, onChange, target = null, doc = null } = options
  let idle = false
  let timer: ReturnType<typeof setTimeout> | undefined
  // pointermove fires many times a second: it re-arms the countdown at most once a second.
  let lastArmed = 0

  function arm() {
    clearTimeout(timer)
    lastArmed = Date.now()
    timer = setTimeout(() => {
      idle = true
      onChange(true)
    }, idleMs)
  }

  function activity() {
    if (idle) {
      idle = false
      onChange(false)
    } else if (Date.now() - lastArmed < 1000) {
      return
    }
    arm()
  }

  const onVisibility = () => {
    if (doc?.visibilityState === 'visible') activity()
  }

  for (const type of INPUT_EVENTS) target?.addEventListener(type, activity, { passive: true })
  target?.addEventListener('focus', activity)
  doc?.addEventListener('visibilitychange', onVisibility)
  arm()

  return {
    activity,
    get idle() {
      return idle
    },
    stop() {
      clearTimeout(timer)
      for (const type of INPUT_EVENTS) target?.removeEventListener(type, activity)
      target?.removeEventListener('focus', activity)
      doc?.removeEventListener('visibilitychange', onVisibility)
    },
  }
}
