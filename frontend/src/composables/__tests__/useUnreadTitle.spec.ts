import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import { defineComponent, h, nextTick, ref } from 'vue'
import { unreadTitle, useUnreadTitle } from '../useUnreadTitle'

describe('useUnreadTitle', () => {
  it('puts the count before the title, and nothing when there is none', () => {
    expect(unreadTitle(3)).toBe('(3) chatd')
    expect(unreadTitle(0)).toBe('chatd')
  })

  it('follows the count', async () => {
    document.title = 'chatd'
    const count = ref(0)
    mount(
      defineComponent({
        setup() {
          useUnreadTitle(count)
          return () => h('div')
        },
      }),
    )
    count.value = 2
    await nextTick()
    expect(document.title).toBe('(2) chatd')
    count.value = 0
    await nextTick()
    expect(document.title).toBe('chatd')
  })
})
