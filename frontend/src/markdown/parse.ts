// The markdown a chat message may use, parsed with markdown-it into its token stream. What is
// enabled: emphasis (**bold**, *italic*, ~~strike~~), `code`, fenced and indented code blocks,
// block quotes, lists, links, bare URLs and e-mail addresses. What is not: raw HTML (shown as
// text), headings, tables and horizontal rules (a `#` or `---` in chat is text, not a title),
// reference-style link definitions (a line would vanish from the message), typographic
// replacements. The tokens are turned into VNodes by render.ts; no HTML string is ever built.
import MarkdownIt from 'markdown-it'
import type { Token } from 'markdown-it'

/** Block nesting (quotes, lists) a message may use; deeper messages are shown as plain text. */
export const MAX_NESTING = 20

const ALLOWED_PROTOCOLS = new Set(['http:', 'https:', 'mailto:'])

/**
 * The href a link may have: an absolute http:, https: or mailto: URL, as the browser itself
 * parses it (so tabs, newlines, entities and case in a scheme cannot disguise another one), or
 * null. Relative and protocol-relative URLs have no base here and are refused too.
 */
export function safeHref(candidate: string): string | null {
  let url: URL
  try {
    url = new URL(candidate)
  } catch {
    return null
  }
  if (!ALLOWED_PROTOCOLS.has(url.protocol)) return null
  if (url.protocol !== 'mailto:' && !url.hostname) return null
  return url.href
}

const markdown = new MarkdownIt('default', {
  html: false,
  linkify: true,
  // One newline is a line break, as people type in a chat box.
  breaks: true,
  typographer: false,
  maxNesting: MAX_NESTING,
}).disable(['heading', 'lheading', 'table', 'hr', 'reference'])
// Bare URLs need their scheme: `README.md` or `main.py` is a file name, not a link.
markdown.linkify.set({ fuzzyLink: false, fuzzyIP: false })
// A link or image whose URL fails this stays literal text in the message.
markdown.validateLink = (url: string) => safeHref(url) !== null

/** True when the parser may have stopped at its nesting limit (it then drops the rest). */
function reachesNestingLimit(tokens: Token[]): boolean {
  return tokens.some((token) => token.nesting === 1 && token.level + 1 >= MAX_NESTING)
}

export type ParsedMessage =
  | { kind: 'markdown'; tokens: Token[] }
  /** Nested past MAX_NESTING: shown as the text it is, nothing lost. */
  | { kind: 'plain'; text: string }

export function parseMessage(text: string): ParsedMessage {
  const tokens = markdown.parse(text, {})
  return reachesNestingLimit(tokens) ? { kind: 'plain', text } : { kind: 'markdown', tokens }
}
