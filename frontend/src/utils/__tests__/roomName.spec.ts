import { describe, expect, it } from 'vitest'
import { ROOM_NAME_PATTERN } from '@/protocol/frames'
import { suggestRoomName } from '../roomName'

describe('suggestRoomName', () => {
  it('turns a title into a room name the server accepts', () => {
    expect(suggestRoomName('Design Team')).toBe('design-team')
    expect(suggestRoomName('  Design   Team  ')).toBe('design-team')
    expect(suggestRoomName('Équipe Été 2026')).toBe('equipe-ete-2026')
    expect(suggestRoomName('R&D / Ops!')).toBe('r-d-ops')
    expect(suggestRoomName('rust_fans')).toBe('rust_fans')
  })

  it('keeps a valid name as it is', () => {
    expect(suggestRoomName('design-team')).toBe('design-team')
  })

  it('cuts at 48 characters without a trailing dash', () => {
    const long = suggestRoomName(`${'a'.repeat(47)} b c`)
    expect(long).toBe('a'.repeat(47))
    expect(suggestRoomName('b'.repeat(60))).toHaveLength(48)
    expect(ROOM_NAME_PATTERN.test(suggestRoomName('x '.repeat(40)))).toBe(true)
  })

  it('gives nothing when nothing usable is left', () => {
    expect(suggestRoomName('')).toBe('')
    expect(suggestRoomName('   ')).toBe('')
    expect(suggestRoomName('日本語')).toBe('')
    expect(suggestRoomName('!!!')).toBe('')
  })
})
