import { describe, expect, it } from 'vitest'
import { directPeers, directRoomOf } from '@/protocol/frames'
import { chatPath, chatTarget, messageIdOf, safeRedirect, sharedMessagePath } from '../links'

describe('chat paths', () => {
  it('names rooms by name and direct conversations by the other person', () => {
    expect(chatPath('general', 'alice')).toBe('/r/general')
    expect(chatPath('design-team', 'alice', 42)).toBe('/r/design-team/42')
    expect(chatPath('dm:alice:bob', 'alice')).toBe('/dm/bob')
    expect(chatPath('dm:alice:bob', 'bob')).toBe('/dm/alice')
    expect(chatPath('dm:alice:bob', 'bob', 7)).toBe('/dm/alice/7')
  })

  it('encodes names, and ends a dotted name with / so that chatd serves the app for it', () => {
    expect(chatPath('dm:alice:béa', 'alice')).toBe('/dm/b%C3%A9a')
    expect(chatPath('dm:alice:bob.smith', 'alice')).toBe('/dm/bob.smith/')
    expect(chatPath('dm:alice:bob.smith', 'alice', 3)).toBe('/dm/bob.smith/3')
    expect(chatPath('general', 'alice', 'x/y')).toBe('/r/general/x%2Fy')
  })

  it('names a group conversation by the others, in the room name’s order, commas kept', () => {
    expect(chatPath('dm:alice:bob:carol', 'bob')).toBe('/dm/alice,carol')
    expect(chatPath('dm:alice:bob:béa', 'alice', 9)).toBe('/dm/bob,b%C3%A9a/9')
    expect(chatPath('dm:alice:bob:carol.c', 'alice')).toBe('/dm/bob,carol.c/')
  })

  it('names the one room of a set of people: sorted by bytes, oneself and repeats once', () => {
    expect(directRoomOf('carol', ['bob', 'alice', 'bob', 'carol'])).toBe('dm:alice:bob:carol')
    expect(directRoomOf('bob', ['Zoe'])).toBe('dm:Zoe:bob')
    expect(directPeers('dm:alice:bob:carol', 'bob')).toEqual(['alice', 'carol'])
    expect(directPeers('general', 'bob')).toEqual([])
  })

  it('shares a message by its room’s own name, the same for both people of a DM', () => {
    expect(sharedMessagePath('general', 5)).toBe('/r/general/5')
    expect(sharedMessagePath('dm:alice:bob', 5)).toBe('/r/dm:alice:bob/5')
  })

  it('reads what a route asks to open', () => {
    expect(chatTarget({ name: 'chat', params: {} })).toEqual({ kind: 'home' })
    expect(chatTarget({ name: 'room', params: { room: 'general', id: '' } })).toEqual({
      kind: 'room',
      room: 'general',
    })
    expect(chatTarget({ name: 'room', params: { room: 'general', id: '12' } })).toEqual({
      kind: 'room',
      room: 'general',
      messageId: '12',
    })
    expect(chatTarget({ name: 'dm', params: { user: 'bob' } })).toEqual({ kind: 'dm', user: 'bob' })
    expect(chatTarget({ name: 'login', params: {} })).toBeNull()
  })

  it('takes only positive integers as message ids', () => {
    expect(messageIdOf('42')).toBe(42)
    for (const bad of ['0', '-1', '4.2', '1e3', 'abc', '042', ' 1', '99999999999999999'])
      expect(messageIdOf(bad), bad).toBeNull()
  })
})

describe('safeRedirect', () => {
  it('keeps same-origin paths with their query and fragment', () => {
    expect(safeRedirect('/r/general/12')).toBe('/r/general/12')
    expect(safeRedirect('/dm/b%C3%A9a')).toBe('/dm/b%C3%A9a')
    expect(safeRedirect('/r/x?a=1#m')).toBe('/r/x?a=1#m')
    expect(safeRedirect(['/r/general'])).toBe('/r/general')
  })

  it('refuses anything that could leave the origin, and the sign-in page itself', () => {
    for (const bad of [
      'https://evil.example/',
      '//evil.example/x',
      '/\\evil.example',
      '\\\\evil.example',
      '/\t/evil.example',
      '/\n/evil.example',
      'javascript:alert(1)',
      'r/general',
      '',
      '/login',
      '/login?redirect=/r/x',
      undefined,
      null,
      42,
      [],
    ]) {
      expect(safeRedirect(bad), String(bad)).toBeNull()
    }
  })
})
