// Splits message text into plain text and http(s) links. The result is rendered with text nodes
// and <a> elements only (never as HTML), so no markup in a message can take effect.

export type Segment = { type: 'text'; text: string } | { type: 'link'; text: string; href: string }

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi
// Punctuation that usually ends the sentence rather than the URL.
const TRAILING = /[.,;:!?)\]}'"»]+$/

/** Only absolute http: and https: URLs become links (no javascript:, data:, etc.). */
export function safeHref(candidate: string): string | null {
  try {
    const url = new URL(candidate)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null
  } catch {
    return null
  }
}

export function linkify(text: string): Segment[] {
  const segments: Segment[] = []
  let last = 0
  for (const match of text.matchAll(URL_PATTERN)) {
    let raw = match[0]
    const start = match.index
    // Keep a closing parenthesis that has its opening one inside the URL (wikipedia links).
    const trailing = TRAILING.exec(raw)?.[0] ?? ''
    if (trailing) {
      let keep = 0
      if (trailing.startsWith(')') && raw.includes('(')) keep = 1
      raw = raw.slice(0, raw.length - trailing.length + keep)
    }
    const href = safeHref(raw)
    if (!href) continue
    if (start > last) segments.push({ type: 'text', text: text.slice(last, start) })
    segments.push({ type: 'link', text: raw, href })
    last = start + raw.length
  }
  if (last < text.length) segments.push({ type: 'text', text: text.slice(last) })
  return segments
}
