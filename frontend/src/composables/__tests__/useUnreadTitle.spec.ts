import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import { defineComponent, h, nextTick, ref, type Ref } from 'vue'
import { unreadTitle, useUnreadTitle } from '../useUnreadTitle'

/** A component whose title follows `count` (and `room`). */
function mountTitle(count: Ref<number>, room?: Ref<string>) {
  return mount(
    defineComponent({
      setup() {
        useUnreadTitle(count, room)
        return () => h('div')
      },
    }),
  )
}

describe('useUnreadTitle', () => {
  it('puts the count before the title, and nothing when there is none', () => {
    expect(unreadTitle(3)).toBe('(3) chatd')
    expect(unreadTitle(0)).toBe('chatd')
  })

  it('puts mentions of the reader first', () => {
    expect(unreadTitle(3, '#general', 1)).toBe('(@1 · 3) #general · chatd')
    expect(unreadTitle(0, '', 2)).toBe('(@2 · 2) chatd')
  })

  it('names the open room, and gives the plain title back when the chat closes', async () => {
    expect(unreadTitle(0, '#general')).toBe('#general · chatd')
    expect(unreadTitle(2, 'bob')).toBe('(2) bob · chatd')
    const room = ref('#general')
    const wrapper = mountTitle(ref(0), room)
    await nextTick()
    expect(document.title).toBe('#general · chatd')
    room.value = 'bob'
    await nextTick()
    expect(document.title).toBe('bob · chatd')
    wrapper.unmount()
    expect(document.title).toBe('chatd')
  })

  it('follows the count', async () => {
    document.title = 'chatd'
    const count = ref(0)
    mountTitle(count)
    count.value = 2
    await nextTick()
    expect(document.title).toBe('(2) chatd')
    count.value = 0
    await nextTick()
    expect(document.title).toBe('chatd')
  })
})
