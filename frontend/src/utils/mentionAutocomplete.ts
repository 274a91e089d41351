// What the composer's `@` autocomplete offers and what choosing a suggestion writes. Pure
// functions: the composer owns the draft, the caret and the keyboard.

/** Characters a user name may hold, as src/markdown/mentions.ts reads them. */
const NAME_CHAR = /[\p{L}\p{M}\p{N}_.-]/u
/** The `@` token that ends at the caret: after the start or a character outside names. */
const TOKEN_BEFORE_CARET = /(?:^|[^\p{L}\p{M}\p{N}_.-])@([\p{L}\p{M}\p{N}_.-]*)$/u

export const MAX_SUGGESTIONS = 8

/** The `@name` being typed at `caret`: where its `@` is and the prefix after it, or null. */
export function mentionQueryAt(
  text: string,
  caret: number,
): { start: number; prefix: string } | null {
  const match = TOKEN_BEFORE_CARET.exec(text.slice(0, caret))
  if (!match) return null
  const prefix = match[1]!
  return { start: caret - prefix.length - 1, prefix }
}

/**
 * The members whose names (or display names, given `displayNameOf`) start with `prefix`
 * (ignoring case), the reader left out, at most MAX_SUGGESTIONS, then `room` when `@room` is
 * allowed there and matches.
 */
export function filterMembers(
  members: readonly string[],
  prefix: string,
  options: {
    me: string
    roomMentionAllowed: boolean
    displayNameOf?: (user: string) => string
  },
): string[] {
  const lower = prefix.toLocaleLowerCase()
  const matches = (name: string) => name.toLocaleLowerCase().startsWith(lower)
  const shownMatches = (name: string) =>
    matches(name) || (options.displayNameOf !== undefined && matches(options.displayNameOf(name)))
  const names = members.filter((name) => name !== options.me && shownMatches(name))
  const shown = names.slice(0, MAX_SUGGESTIONS)
  if (options.roomMentionAllowed && matches('room') && !shown.includes('room')) shown.push('room')
  return shown
}

/**
 * `text` with the token from `start` to the end of the name under `caret` replaced by
 * `@name ` (a space, unless one follows already), and where the caret goes next.
 */
export function insertMention(
  text: string,
  start: number,
  caret: number,
  name: string,
): { text: string; caret: number } {
  let end = caret
  while (end < text.length && NAME_CHAR.test(text[end]!)) end++
  const after = text.slice(end)
  const inserted = after.startsWith(' ') ? `@${name}` : `@${name} `
  const next = text.slice(0, start) + inserted + after
  return { text: next, caret: start + inserted.length + (after.startsWith(' ') ? 1 : 0) }
}
