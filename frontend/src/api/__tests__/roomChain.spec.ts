import { describe, expect, it } from 'vitest'
import { RoomChain } from '../roomChain.mjs'

/** A chain whose baseline page ended at `mark`. */
function chainAt(mark: number): RoomChain {
  const chain = new RoomChain()
  chain.page(mark)
  return chain
}

describe('RoomChain', () => {
  it('moves the mark along messages that arrive in order', () => {
    const chain = chainAt(10)
    chain.live(12, 10)
    chain.live(15, 12)
    expect(chain.mark).toBe(15)
    expect(chain.hasHole).toBe(false)
  })

  it('keeps the mark below an inversion until the older message fills it', () => {
    const chain = chainAt(10)
    chain.live(14, 12) // 12 is still on its way from the other node
    chain.live(15, 14)
    expect(chain.mark).toBe(10)
    expect(chain.hasHole).toBe(true)
    chain.live(12, 10)
    expect(chain.mark).toBe(15)
    expect(chain.hasHole).toBe(false)
  })

  it('closes a hole with a page, then follows the messages already received', () => {
    const chain = chainAt(10)
    chain.live(14, 12)
    chain.live(20, 17)
    chain.page(12) // ?after=10 returned 11, 12 (a page is contiguous)
    expect(chain.mark).toBe(14)
    expect(chain.hasHole).toBe(true)
    chain.page(20)
    expect(chain.mark).toBe(20)
    expect(chain.hasHole).toBe(false)
  })

  it('ignores redeliveries and messages at or below the mark', () => {
    const chain = chainAt(10)
    chain.live(9, 8)
    chain.live(10, 9)
    chain.live(11, 10)
    chain.live(11, 10)
    expect(chain.mark).toBe(11)
    expect(chain.hasHole).toBe(false)
  })

  it('starts a new room at 0: its first message has prev_id 0', () => {
    const chain = chainAt(0)
    chain.live(3, 0)
    expect(chain.mark).toBe(3)
  })

  it('has no baseline until a first page', () => {
    const chain = new RoomChain()
    chain.live(7, 5) // live before the baseline is kept above the mark
    expect(chain.based).toBe(false)
    chain.page(5)
    expect(chain.based).toBe(true)
    expect(chain.mark).toBe(7)
  })

  it('takes the highest id without prev_id (an older server) once settled', () => {
    const chain = chainAt(10)
    chain.live(13, undefined)
    expect(chain.mark).toBe(10)
    chain.settle()
    expect(chain.mark).toBe(13)
  })
})
