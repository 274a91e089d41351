import { describe, expect, it } from 'vitest'
import { defaultNotifyLevel, notifies } from '../notifyLevels'

const text = (user_name: string, extra: object = {}) => ({ kind: 'text', user_name, ...extra })

describe('notification levels', () => {
  it('default to all in direct conversations and to mentions elsewhere', () => {
    expect(defaultNotifyLevel('dm:alice:bob')).toBe('all')
    expect(defaultNotifyLevel('general')).toBe('mentions')
    expect(defaultNotifyLevel('design-team')).toBe('mentions')
  })

  it('all: every new text message of others; mentions: only those naming me; muted: none', () => {
    const plain = text('bob')
    const named = text('bob', { mentions: ['alice'] })
    const everyone = text('bob', { mentions_room: true })
    expect([plain, named, everyone].map((m) => notifies(m, 'alice', 'all'))).toEqual([
      true,
      true,
      true,
    ])
    expect([plain, named, everyone].map((m) => notifies(m, 'alice', 'mentions'))).toEqual([
      false,
      true,
      true,
    ])
    expect([plain, named, everyone].map((m) => notifies(m, 'alice', 'muted'))).toEqual([
      false,
      false,
      false,
    ])
  })

  it('never for my own messages, notices or deleted messages', () => {
    for (const level of ['all', 'mentions'] as const) {
      expect(notifies(text('alice', { mentions_room: true }), 'alice', level)).toBe(false)
      expect(notifies({ kind: 'join', user_name: 'bob' }, 'alice', level)).toBe(false)
      expect(notifies(text('bob', { deleted: true, mentions: ['alice'] }), 'alice', level)).toBe(
        false,
      )
    }
  })
})
