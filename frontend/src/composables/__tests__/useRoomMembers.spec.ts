import { describe, expect, it, vi } from 'vitest'
import { createMemberCache } from '../useRoomMembers'

describe('createMemberCache', () => {
  it('follows every page once per room and caches the names', async () => {
    const members = vi.fn(async (_room: string, after = '') =>
      after === ''
        ? { members: ['alice', 'bob'], has_more: true }
        : { members: ['carol'], has_more: false },
    )
    const cache = createMemberCache({ members })
    expect(await cache.members('dev')).toEqual(['alice', 'bob', 'carol'])
    expect(await cache.members('dev')).toEqual(['alice', 'bob', 'carol'])
    expect(members.mock.calls).toEqual([
      ['dev', ''],
      ['dev', 'bob'],
    ])
  })

  it('forgets a failed fetch so the next one retries', async () => {
    const members = vi
      .fn()
      .mockRejectedValueOnce(new Error('offline'))
      .mockResolvedValueOnce({ members: ['alice'], has_more: false })
    const cache = createMemberCache({ members })
    await expect(cache.members('dev')).rejects.toThrow('offline')
    expect(await cache.members('dev')).toEqual(['alice'])
  })

  it('fetches a room again once forgotten, and after maxAgeMs', async () => {
    let clock = 0
    const members = vi
      .fn()
      .mockResolvedValueOnce({ members: ['alice'], has_more: false })
      .mockResolvedValueOnce({ members: ['alice', 'bob'], has_more: false })
      .mockResolvedValueOnce({ members: ['alice', 'bob', 'carol'], has_more: false })
    const cache = createMemberCache({ members }, { maxAgeMs: 1000, now: () => clock })
    expect(await cache.members('dev')).toEqual(['alice'])
    clock = 999
    expect(await cache.members('dev')).toEqual(['alice'])
    cache.forget('dev')
    expect(await cache.members('dev')).toEqual(['alice', 'bob'])
    clock = 999 + 1000
    expect(await cache.members('dev')).toEqual(['alice', 'bob', 'carol'])
    expect(members).toHaveBeenCalledTimes(3)
  })
})
