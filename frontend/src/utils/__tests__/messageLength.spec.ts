import { describe, expect, it } from 'vitest'
import { checkLength, messageLength } from '../messageLength'

// The server's default --max-message-length.
const MAX = 4000

describe('messageLength: code points, as the server counts', () => {
  it('counts an emoji outside the BMP once, not as its two UTF-16 units', () => {
    expect('😀'.length).toBe(2)
    expect(messageLength('😀')).toBe(1)
    expect(messageLength('héllo')).toBe(5)
    expect(messageLength('')).toBe(0)
    // A family emoji is several code points joined by ZWJ: the server counts each.
    expect(messageLength('👨‍👩‍👧')).toBe(5)
  })

  it('counts a lone surrogate as one character', () => {
    expect(messageLength('a\ud800b')).toBe(3)
    expect(messageLength('\udc00')).toBe(1)
  })

  it('accepts 2,100 emoji (4,200 UTF-16 units), as the server does', () => {
    const draft = '😀'.repeat(2100)
    expect(draft.length).toBe(4200)
    expect(checkLength(draft, MAX)).toEqual({ length: 2100, over: 0 })
  })

  it('accepts exactly the limit and refuses one past it, by how much', () => {
    expect(checkLength('😀'.repeat(MAX), MAX)).toEqual({ length: MAX, over: 0 })
    expect(checkLength('😀'.repeat(MAX + 1), MAX)).toEqual({ length: MAX + 1, over: 1 })
    expect(checkLength('x'.repeat(MAX - 1) + '😀😀', MAX)).toEqual({ length: MAX + 1, over: 1 })
    expect(checkLength('x'.repeat(MAX + 12), MAX)).toEqual({ length: MAX + 12, over: 12 })
  })
})
