import { describe, expect, it } from 'vitest'
import {
  MAX_SUGGESTIONS,
  filterMembers,
  insertMention,
  mentionQueryAt,
} from '../mentionAutocomplete'

describe('mentionQueryAt', () => {
  it('finds the @ token that ends at the caret', () => {
    expect(mentionQueryAt('@', 1)).toEqual({ start: 0, prefix: '' })
    expect(mentionQueryAt('hi @bo', 6)).toEqual({ start: 3, prefix: 'bo' })
    expect(mentionQueryAt('hi (@élo', 8)).toEqual({ start: 4, prefix: 'élo' })
    expect(mentionQueryAt('@bob and', 4)).toEqual({ start: 0, prefix: 'bob' })
  })

  it('ignores addresses, finished tokens and text without @', () => {
    expect(mentionQueryAt('ann@example', 11)).toBeNull()
    expect(mentionQueryAt('@bob ', 5)).toBeNull()
    expect(mentionQueryAt('hello', 5)).toBeNull()
  })
})

describe('filterMembers', () => {
  const members = ['alice', 'Bob', 'bobby', 'carol', 'room-9']
  const options = { me: 'alice', roomMentionAllowed: true }

  it('keeps names starting with the prefix, any case, without the reader', () => {
    expect(filterMembers(members, 'bo', options)).toEqual(['Bob', 'bobby'])
    expect(filterMembers(members, 'A', options)).toEqual([])
    expect(filterMembers(members, '', { ...options, roomMentionAllowed: false })).toEqual([
      'Bob',
      'bobby',
      'carol',
      'room-9',
    ])
  })

  it('offers @room only where it is allowed, after the members', () => {
    expect(filterMembers(members, 'ro', options)).toEqual(['room-9', 'room'])
    expect(filterMembers(members, 'ro', { ...options, roomMentionAllowed: false })).toEqual([
      'room-9',
    ])
    expect(filterMembers(members, 'bo', options)).not.toContain('room')
  })

  it('also finds members by the start of their display name', () => {
    const shown: Record<string, string> = { bob: 'Zoé Bob', carol: 'Carol' }
    const displayNameOf = (user: string) => shown[user] ?? user
    expect(filterMembers(['alice', 'bob', 'carol'], 'zo', { ...options, displayNameOf })).toEqual([
      'bob',
    ])
    expect(filterMembers(['alice', 'bob', 'carol'], 'zo', options)).toEqual([])
  })

  it('shows at most MAX_SUGGESTIONS members', () => {
    const many = Array.from({ length: 20 }, (_, i) => `user${i}`)
    expect(filterMembers(many, 'user', options)).toHaveLength(MAX_SUGGESTIONS)
  })
})

describe('insertMention', () => {
  it('replaces the typed token and the rest of the name with the mention and a space', () => {
    expect(insertMention('hi @bo', 3, 6, 'bob')).toEqual({ text: 'hi @bob ', caret: 8 })
    expect(insertMention('@bo there', 0, 3, 'bobby')).toEqual({
      text: '@bobby there',
      caret: 7,
    })
    expect(insertMention('x @b!', 2, 4, 'bob')).toEqual({ text: 'x @bob !', caret: 7 })
  })
})
