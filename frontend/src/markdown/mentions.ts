// Where a message's text names the people it mentions. The server decides who is mentioned
// (docs/protocol.md "Mentions") and lists them on the message; this only finds those names in
// the text so the renderer can mark them. Code spans and blocks are separate tokens that never
// reach it, so a name inside code stays plain, as on the server.

/** Who a message mentions, and who reads it (their own mentions stand out more). */
export interface MentionMarks {
  names: readonly string[]
  room: boolean
  me: string
}

export type MentionPiece = string | { mention: string; me: boolean }

// '@' after the start or a character that cannot be part of a name, then name characters.
const MENTION = /(^|[^\p{L}\p{M}\p{N}_.-])@([\p{L}\p{M}\p{N}_.-]+)/gu

/** `text` cut into plain pieces and the mentions the server listed (`@name`, `@room`). */
export function splitMentions(text: string, marks: MentionMarks): MentionPiece[] {
  if (!text.includes('@') || (marks.names.length === 0 && !marks.room)) return [text]
  const pieces: MentionPiece[] = []
  let rest = 0
  for (const match of text.matchAll(MENTION)) {
    const token = match[2]!
    // A trailing dot ends the sentence unless the name itself ends with one.
    const name = marks.names.includes(token) ? token : token.replace(/\.+$/, '')
    const known = marks.names.includes(name) || (marks.room && name === 'room')
    if (!known) continue
    const start = match.index! + match[1]!.length
    if (start > rest) pieces.push(text.slice(rest, start))
    pieces.push({ mention: `@${name}`, me: name === marks.me || name === 'room' })
    rest = start + 1 + name.length
  }
  if (rest < text.length) pieces.push(text.slice(rest))
  return pieces.length > 0 ? pieces : [text]
}
