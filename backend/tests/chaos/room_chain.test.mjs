// The room chain every client shares (frontend/src/api/roomChain.mjs), loaded by plain Node as the
// chaos client and the cluster test load it: no build step, no node_modules. The same cases run
// in the web client's Vitest suite (frontend/src/api/__tests__/roomChain.spec.ts).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'

import { RoomChain } from '../../../frontend/src/api/roomChain.mjs'

const chainAt = mark => {
  const chain = new RoomChain()
  chain.page(mark)
  return chain
}

describe('RoomChain', () => {
  it('moves the mark along messages that arrive in order', () => {
    const chain = chainAt(10)
    chain.live(12, 10)
    chain.live(15, 12)
    assert.equal(chain.mark, 15)
    assert.equal(chain.hasHole, false)
  })

  it('keeps the mark below an inversion until the older message fills it', () => {
    const chain = chainAt(10)
    chain.live(14, 12)
    chain.live(15, 14)
    assert.equal(chain.mark, 10, 'a resync now starts below 12')
    assert.equal(chain.hasHole, true)
    chain.live(12, 10)
    assert.equal(chain.mark, 15)
    assert.equal(chain.hasHole, false)
  })

  it('closes a hole with a page, then follows the messages already received', () => {
    const chain = chainAt(10)
    chain.live(14, 12)
    chain.live(20, 17)
    chain.page(12)
    assert.equal(chain.mark, 14)
    assert.equal(chain.hasHole, true)
    chain.page(20)
    assert.equal(chain.mark, 20)
    assert.equal(chain.hasHole, false)
  })

  it('ignores redeliveries and messages at or below the mark', () => {
    const chain = chainAt(10)
    chain.live(9, 8)
    chain.live(11, 10)
    chain.live(11, 10)
    assert.equal(chain.mark, 11)
    assert.equal(chain.hasHole, false)
  })

  it('starts a new room at 0: its first message has prev_id 0', () => {
    const chain = chainAt(0)
    chain.live(3, 0)
    assert.equal(chain.mark, 3)
  })

  it('takes the highest id without prev_id (an older server) once settled', () => {
    const chain = chainAt(10)
    chain.live(13, undefined)
    assert.equal(chain.mark, 10)
    chain.settle()
    assert.equal(chain.mark, 13)
  })
})
