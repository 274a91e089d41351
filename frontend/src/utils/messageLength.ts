// The server's length rule for message content (`--max-message-length`, sent as
// `limits.max_message_length` by GET /api/config): it counts Unicode code points
// (backend/src/chat/validation.cpp, utf8_length), not UTF-16 units as String.length does, so
// an emoji outside the BMP is one character, not two. The composer and the editor both ask here.

/** Code points in `text`; a lone surrogate counts as one, as its replacement character would. */
export function messageLength(text: string): number {
  let count = 0
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    // A high surrogate followed by a low one is one code point: skip the low one.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) i++
    }
    count++
  }
  return count
}

export interface LengthCheck {
  /** The content's length as the server counts it. */
  length: number
  /** How many characters past the limit (0 when it fits). */
  over: number
}

export function checkLength(text: string, max: number): LengthCheck {
  const length = messageLength(text)
  return { length, over: Math.max(0, length - max) }
}
