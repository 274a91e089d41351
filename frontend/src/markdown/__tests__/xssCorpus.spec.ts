import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import MessageText from '@/components/message/MessageText.vue'
import { auditElements, listElements, XSS_CORPUS } from '../../../e2e/fixtures/xssCorpus.mjs'

const count = (text: string, char: string) => text.split(char).length - 1

describe('XSS corpus through the markdown renderer', () => {
  it('has at least 50 payloads within the default message length', () => {
    expect(XSS_CORPUS.length).toBeGreaterThanOrEqual(50)
    for (const { content } of XSS_CORPUS) expect([...content].length).toBeLessThanOrEqual(4_000)
  })

  it.each(XSS_CORPUS)('$name: only safe elements, and its markup shows as text', (payload) => {
    const { content } = payload
    const wrapper = mount(MessageText, { props: { text: content } })
    const container = wrapper.element.parentElement!
    expect(auditElements(listElements(container))).toEqual([])
    // HTML input is disabled: every '<' typed is still on screen.
    if (!payload.dropsText) {
      expect(count(container.textContent ?? '', '<')).toBeGreaterThanOrEqual(count(content, '<'))
    }
  })
})
