import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DEFAULT_IDLE_MS, IDLE_MS_KEY, idleMsFromStorage, startIdleDetector } from '../idle'

describe('idle detection', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('goes idle after the time without input, and active again at the next input', () => {
    const changes: boolean[] = []
    const target = new EventTarget()
    const detector = startIdleDetector({
      idleMs: 60_000,
      onChange: (idle) => changes.push(idle),
      target: target as unknown as Window,
    })
    vi.advanceTimersByTime(59_999)
    expect(changes).toEqual([])
    vi.advanceTimersByTime(1)
    expect(changes).toEqual([true])
    expect(detector.idle).toBe(true)
    target.dispatchEvent(new Event('keydown'))
    expect(changes).toEqual([true, false])
    expect(detector.idle).toBe(false)
    // Input restarts the countdown.
    vi.advanceTimersByTime(30_000)
    target.dispatchEvent(new Event('pointerdown'))
    vi.advanceTimersByTime(59_000)
    expect(changes).toEqual([true, false])
    vi.advanceTimersByTime(1_000)
    expect(changes).toEqual([true, false, true])
    detector.stop()
  })

  it('counts touch, wheel and focus as input, and a page coming into view', () => {
    const target = new EventTarget()
    const doc = Object.assign(new EventTarget(), { visibilityState: 'hidden' as string })
    const changes: boolean[] = []
    const detector = startIdleDetector({
      idleMs: 1_000,
      onChange: (idle) => changes.push(idle),
      target: target as unknown as Window,
      doc: doc as unknown as Document,
    })
    for (const type of ['touchstart', 'wheel', 'focus']) {
      vi.advanceTimersByTime(1_000)
      target.dispatchEvent(new Event(type))
    }
    vi.advanceTimersByTime(1_000)
    doc.dispatchEvent(new Event('visibilitychange')) // still hidden: not input
    expect(changes).toEqual([true, false, true, false, true, false, true])
    doc.visibilityState = 'visible'
    doc.dispatchEvent(new Event('visibilitychange'))
    expect(changes.at(-1)).toBe(false)
    detector.stop()
  })

  it('hears nothing once stopped', () => {
    const target = new EventTarget()
    const changes: boolean[] = []
    const detector = startIdleDetector({
      idleMs: 1_000,
      onChange: (idle) => changes.push(idle),
      target: target as unknown as Window,
    })
    detector.stop()
    vi.advanceTimersByTime(5_000)
    target.dispatchEvent(new Event('keydown'))
    expect(changes).toEqual([])
  })

  it('re-arms on pointer movement at most once a second', () => {
    const target = new EventTarget()
    const changes: boolean[] = []
    startIdleDetector({
      idleMs: 10_000,
      onChange: (idle) => changes.push(idle),
      target: target as unknown as Window,
    })
    vi.advanceTimersByTime(500)
    target.dispatchEvent(new Event('pointermove')) // within the first second: ignored
    vi.advanceTimersByTime(9_500)
    expect(changes).toEqual([true])
  })

  it('reads its time from localStorage, else 10 minutes', () => {
    const storage = (value: string | null) => ({
      getItem: (k: string) => (k === IDLE_MS_KEY ? value : null),
    })
    expect(DEFAULT_IDLE_MS).toBe(600_000)
    expect(idleMsFromStorage(storage('1500'))).toBe(1500)
    expect(idleMsFromStorage(storage(null))).toBe(DEFAULT_IDLE_MS)
    expect(idleMsFromStorage(storage('soon'))).toBe(DEFAULT_IDLE_MS)
    expect(idleMsFromStorage(storage('-5'))).toBe(DEFAULT_IDLE_MS)
    expect(idleMsFromStorage(null)).toBe(DEFAULT_IDLE_MS)
    const refusing = {
      getItem: () => {
        throw new Error('denied')
      },
    }
    expect(idleMsFromStorage(refusing)).toBe(DEFAULT_IDLE_MS)
  })
})
