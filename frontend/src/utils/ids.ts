/** A fresh client_msg_id (1–64 characters; the server dedupes retries on it). */
export function newClientMsgId(): string {
  const c = globalThis.crypto
  // randomUUID exists only in secure contexts (https, localhost); getRandomValues everywhere.
  if (c && typeof c.randomUUID === 'function') return `c-${c.randomUUID()}`
  const bytes = new Uint8Array(16)
  if (c && typeof c.getRandomValues === 'function') c.getRandomValues(bytes)
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256)
  return `c-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}
