// @vitest-environment node
import { describe, expect, it } from 'vitest'
import { linkify, safeHref } from '../linkify'

describe('linkify', () => {
  it('keeps plain text as one segment', () => {
    expect(linkify('hello <b>there</b>')).toEqual([{ type: 'text', text: 'hello <b>there</b>' }])
  })

  it('finds http and https links and leaves sentence punctuation out', () => {
    expect(linkify('see http://a.example/x, and https://b.example.')).toEqual([
      { type: 'text', text: 'see ' },
      { type: 'link', text: 'http://a.example/x', href: 'http://a.example/x' },
      { type: 'text', text: ', and ' },
      { type: 'link', text: 'https://b.example', href: 'https://b.example/' },
      { type: 'text', text: '.' },
    ])
  })

  it('keeps balanced parentheses', () => {
    const [link] = linkify('https://en.wikipedia.org/wiki/C_(language)')
    expect(link).toMatchObject({ type: 'link', text: 'https://en.wikipedia.org/wiki/C_(language)' })
  })

  it('never links other schemes', () => {
    for (const text of ['javascript:alert(1)', 'data:text/html,<script>', 'ftp://x.y', 'www.x.y']) {
      expect(linkify(text).every((s) => s.type === 'text')).toBe(true)
    }
    expect(safeHref('javascript:alert(1)')).toBeNull()
    expect(safeHref('https://ok.example/')).toBe('https://ok.example/')
  })

  it('stops a link at quotes and angle brackets', () => {
    const segments = linkify('<a href="https://x.example/">')
    expect(segments.find((s) => s.type === 'link')?.text).toBe('https://x.example/')
  })
})
