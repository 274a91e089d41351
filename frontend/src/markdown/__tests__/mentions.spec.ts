import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import MessageText from '@/components/message/MessageText.vue'
import { splitMentions, type MentionMarks } from '../mentions'
import { mentionsUser } from '@/utils/mentions'

const marks = (names: string[], room = false, me = 'bob'): MentionMarks => ({ names, room, me })

function html(text: string, m: MentionMarks): string {
  return mount(MessageText, { props: { text, mentions: m } }).element.innerHTML
}

describe('mentions in message text', () => {
  it('cuts out only the names the server listed', () => {
    expect(splitMentions('@bob and @carol, look', marks(['bob']))).toEqual([
      { mention: '@bob', me: true },
      ' and @carol, look',
    ])
    expect(splitMentions('thanks @alice.', marks(['alice']))).toEqual([
      'thanks ',
      { mention: '@alice', me: false },
      '.',
    ])
    expect(splitMentions('@room now', marks([], true))).toEqual([
      { mention: '@room', me: true },
      ' now',
    ])
    // Not in a word or an address, and nothing to do without mentions.
    expect(splitMentions('mail ann@bob.org', marks(['bob']))).toEqual(['mail ann@bob.org'])
    expect(splitMentions('@bob', marks([]))).toEqual(['@bob'])
  })

  it("renders them as marked text, the reader's own more strongly, never inside code", () => {
    expect(html('hi @bob and @alice `@bob`', marks(['bob', 'alice']))).toBe(
      '<p>hi <span class="mention mention-me">@bob</span> and ' +
        '<span class="mention">@alice</span> <code>@bob</code></p>',
    )
  })

  it('keeps markup a name could carry as text', () => {
    const name = '<img src=x onerror=alert(1)>'
    expect(html(`@${name}`, marks([name]))).not.toContain('<img')
  })

  it('tells whether a message from someone else mentions the reader', () => {
    const base = { kind: 'text', user_name: 'alice' }
    expect(mentionsUser({ ...base, mentions: ['bob'] }, 'bob')).toBe(true)
    expect(mentionsUser({ ...base, mentions_room: true }, 'bob')).toBe(true)
    expect(mentionsUser({ ...base, mentions: ['carol'] }, 'bob')).toBe(false)
    expect(mentionsUser({ ...base, mentions: ['bob'], deleted: true }, 'bob')).toBe(false)
    expect(mentionsUser({ ...base, mentions_room: true }, 'alice')).toBe(false)
  })
})
