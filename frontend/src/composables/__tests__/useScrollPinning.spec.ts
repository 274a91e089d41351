import { mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import { defineComponent, h, nextTick, ref } from 'vue'
import { useScrollPinning } from '../useScrollPinning'

/** A scroll box without layout: the test sets the heights, the composable sets scrollTop. */
interface FakeScroller {
  scrollTop: number
  scrollHeight: number
  clientHeight: number
}

function fakeScroller(scrollHeight: number, clientHeight = 400): FakeScroller {
  return { scrollTop: 0, scrollHeight, clientHeight }
}

interface Rows {
  keys: string[]
  own?: boolean
}

function setup(initial: Rows, el: FakeScroller, withLastKey = false) {
  const rows = ref<Rows>(initial)
  const afterMove = vi.fn()
  let pinning!: ReturnType<typeof useScrollPinning>
  mount(
    defineComponent({
      setup() {
        pinning = useScrollPinning(
          ref(el as HTMLElement),
          rows,
          (r) => ({
            firstKey: r.keys[0],
            ownNewest: r.own === true,
            ...(withLastKey ? { lastKey: r.keys.at(-1) } : {}),
          }),
          afterMove,
        )
        return () => h('div')
      },
    }),
  )
  /** Replaces the rows; `height` is the scrollHeight the DOM has once they are rendered. */
  async function change(next: Rows, height: number) {
    rows.value = next
    await nextTick() // the watcher runs before the render and reads the old geometry
    el.scrollHeight = height
    await nextTick()
    await nextTick()
  }
  return { pinning, afterMove, change }
}

describe('useScrollPinning', () => {
  it('starts at the bottom and follows new rows while the reader is there', async () => {
    const el = fakeScroller(1000)
    const { pinning, afterMove, change } = setup({ keys: ['a', 'b'] }, el)
    expect(el.scrollTop).toBe(1000)
    expect(afterMove).toHaveBeenCalledTimes(1)
    el.scrollTop = 600 // 1000 - 600 - 400 = 0 from the bottom
    await change({ keys: ['a', 'b', 'c'] }, 1100)
    expect(el.scrollTop).toBe(1100)
    expect(pinning.unseenBelow.value).toBe(false)
    expect(afterMove).toHaveBeenCalledTimes(2)
  })

  it('stays still when scrolled up and says that rows arrived below', async () => {
    const el = fakeScroller(1000)
    const { pinning, change } = setup({ keys: ['a', 'b'] }, el)
    el.scrollTop = 100
    await change({ keys: ['a', 'b', 'c'] }, 1100)
    expect(el.scrollTop).toBe(100)
    expect(pinning.unseenBelow.value).toBe(true)
    el.scrollTop = 650 // 1100 - 650 - 400 = 50: near the bottom again
    pinning.onScroll()
    expect(pinning.unseenBelow.value).toBe(false)
  })

  it('says nothing when a row above changes (a reaction) but none arrived below', async () => {
    const el = fakeScroller(1000)
    const { pinning, change } = setup({ keys: ['a', 'b'] }, el, true)
    el.scrollTop = 100
    await change({ keys: ['a', 'b'] }, 1030) // same rows, one taller
    expect(el.scrollTop).toBe(100)
    expect(pinning.unseenBelow.value).toBe(false)
    await change({ keys: ['a', 'b', 'c'] }, 1130)
    expect(pinning.unseenBelow.value).toBe(true)
  })

  it('keeps the reader on the same rows when older ones are prepended', async () => {
    const el = fakeScroller(1000)
    const { pinning, change } = setup({ keys: ['b', 'c'] }, el)
    el.scrollTop = 20
    await change({ keys: ['a', 'b', 'c'] }, 1500)
    expect(el.scrollTop).toBe(520) // the 500 px added above, so the same rows show
    expect(pinning.unseenBelow.value).toBe(false)
  })

  it("scrolls to the reader's own new row wherever they were", async () => {
    const el = fakeScroller(1000)
    const { pinning, change } = setup({ keys: ['a'] }, el)
    el.scrollTop = 100
    await change({ keys: ['a', 'b'], own: true }, 1100)
    expect(el.scrollTop).toBe(1100)
    expect(pinning.unseenBelow.value).toBe(false)
  })

  it('after a reset, pins to the bottom and treats the first rows as new', async () => {
    const el = fakeScroller(1000)
    const { pinning, afterMove, change } = setup({ keys: ['a'] }, el)
    el.scrollTop = 100
    await pinning.reset()
    expect(el.scrollTop).toBe(1000)
    expect(afterMove).toHaveBeenCalledTimes(2)
    await change({ keys: ['x', 'y'] }, 1200)
    expect(el.scrollTop).toBe(1200) // pinned, not "prepended"
  })

  it('scrollToBottom clears the unseen flag', async () => {
    const el = fakeScroller(1000)
    const { pinning, change } = setup({ keys: ['a'] }, el)
    el.scrollTop = 0
    await change({ keys: ['a', 'b'] }, 1100)
    expect(pinning.unseenBelow.value).toBe(true)
    pinning.scrollToBottom()
    expect(el.scrollTop).toBe(1100)
    expect(pinning.unseenBelow.value).toBe(false)
  })
})
