// The web client's URLs, as pure functions: the path of a room, a direct conversation or a
// message, what a chat route asks to open, and which `?redirect=` targets the sign-in page may
// follow. docs/web-client.md ("Links") lists the routes.
import { directPeer } from '@/protocol/frames'

/** What a chat URL asks to open. `messageId` is the raw id segment, checked by `messageIdOf`. */
export type ChatTarget =
  | { kind: 'home' }
  | { kind: 'room'; room: string; messageId?: string }
  | { kind: 'dm'; user: string; messageId?: string }

/**
 * A path segment: percent-encoded, but `:` kept (it is a legal path character, and a direct
 * room's name `dm:a:b` stays readable in a shared link).
 */
function segment(value: string): string {
  return encodeURIComponent(value).replace(/%3A/gi, ':').replace(/%2C/gi, ',')
}

/**
 * `/r/<room>`, or for a direct room `/dm/<other user>` (a group: `/dm/<b>,<c>,…`, the others
 * in byte order), seen from `me`; with `messageId`,
 * `/r/<room>/<id>` and `/dm/<user>/<id>` (a string is kept as it is, checked when opened).
 *
 * chatd serves the app for any path whose last segment has no `.`: a path that would end in a
 * user name holding a dot gets a trailing `/` so that opening it (reload, new tab) still loads
 * the app rather than looking for a file.
 */
export function chatPath(room: string, me: string, messageId?: number | string): string {
  const peer = directPeer(room, me)
  const base = peer === null ? `/r/${segment(room)}` : `/dm/${segment(peer)}`
  if (messageId !== undefined) return `${base}/${segment(String(messageId))}`
  return peer !== null && peer.includes('.') ? `${base}/` : base
}

/**
 * The link to share for a message: `/r/<room>/<id>` with the room's own name, which is the same
 * for every member, where `/dm/<user>/<id>` names the other person and so differs between the
 * two people of a direct conversation. Opening it goes to the reader's `/dm/…` path.
 */
export function sharedMessagePath(room: string, id: number): string {
  return `/r/${segment(room)}/${id}`
}

function param(value: unknown): string | undefined {
  if (typeof value === 'string') return value
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0]
  return undefined
}

/** The target of a route named 'chat', 'room' or 'dm' (see router/index.ts); null otherwise. */
export function chatTarget(route: {
  name?: unknown
  params: Record<string, unknown>
}): ChatTarget | null {
  const messageId = param(route.params.id) || undefined
  const withId = messageId === undefined ? {} : { messageId }
  if (route.name === 'chat') return { kind: 'home' }
  if (route.name === 'room')
    return { kind: 'room', room: param(route.params.room) ?? '', ...withId }
  if (route.name === 'dm') return { kind: 'dm', user: param(route.params.user) ?? '', ...withId }
  return null
}

/** A message id segment as a positive integer, or null when it cannot be one. */
export function messageIdOf(raw: string): number | null {
  if (!/^[1-9][0-9]{0,15}$/.test(raw)) return null
  const id = Number(raw)
  return Number.isSafeInteger(id) ? id : null
}

const REDIRECT_BASE = 'http://redirect.invalid'

/**
 * The path the sign-in page may continue to after signing in: a same-origin path (with its query
 * and fragment) and nothing else. Absolute and protocol-relative URLs (`https://…`, `//host`,
 * `/\host`, with tabs or newlines that the URL parser strips), other schemes and the sign-in page
 * itself give null.
 */
export function safeRedirect(value: unknown): string | null {
  const raw = param(value)
  if (raw === undefined || !raw.startsWith('/') || raw.startsWith('//')) return null
  if (/[\\\u0000-\u001f\u007f]/.test(raw)) return null
  let url: URL
  try {
    url = new URL(raw, REDIRECT_BASE)
  } catch {
    return null
  }
  if (url.origin !== REDIRECT_BASE || url.pathname === '/login') return null
  return `${url.pathname}${url.search}${url.hash}`
}
