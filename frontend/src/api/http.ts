// The native HTTP API (docs/protocol.md, "Native HTTP API"). Framework-free: the credentials
// come from getters so that the session store stays their single owner. In the browser the
// session is the HttpOnly cookie the server set (same origin, sent by fetch on its own); state-
// changing requests add the session's CSRF token, which answers carry in `X-CSRF-Token`.
import {
  parseMessagePage,
  parseReadState,
  parseSingleMessage,
  type MessagePage,
  type NotifyLevel,
  type ReadState,
  type SingleMessage,
} from '@/protocol/frames'
import { parsePeoplePage, parsePerson, type PeoplePage, type Person } from './people'

export type AuthMode = 'password' | 'open'

export interface ServerConfig {
  auth: AuthMode
  version: string
  limits: {
    max_message_length: number
    max_frame_bytes: number
    rate_per_second: number
    rate_burst: number
    /** `@room` is refused in rooms with more members (absent from older servers). */
    max_room_mention_members?: number
    /** People in one direct conversation, the opener included (absent from older servers). */
    max_group_dm_members?: number
  }
}

export interface SessionInfo {
  user_name: string
  token: string
  expires_ms: number
}

/** One of the user's sessions (`GET /api/sessions`). */
export interface SessionEntry {
  id: string
  created_ms: number
  last_used_ms: number
  expires_ms: number
  user_agent: string
  address: string
  current: boolean
}

export interface RoomInfo {
  name: string
  joined: boolean
}

/** An HTTP error with the server's stable `code` (or `network` when no answer came). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export interface ApiClientOptions {
  /** A bearer token, for clients without the cookie (tests, tools); the web client has none. */
  getToken?: () => string | null
  /** The session's CSRF token, sent on every request that is not a GET. */
  getCsrfToken?: () => string | null
  /** An answer carried the session's CSRF token (sign-in, `GET /api/me`). */
  onCsrfToken?: (csrfToken: string) => void
  /** Called on a 401 from an authenticated request (expired or revoked session). */
  onUnauthorized?: () => void
  baseUrl?: string
  fetch?: typeof fetch
}

export type HistoryQuery = { before: number; limit?: number } | { after: number; limit?: number }

export function createApiClient(options: ApiClientOptions) {
  const base = options.baseUrl ?? ''
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))

  /** `anonymous`: a request that needs no session (a 401 there is not an expiry). */
  async function request<T>(
    method: string,
    path: string,
    body?: unknown,
    anonymous = false,
  ): Promise<T> {
    const headers: Record<string, string> = {}
    const token = options.getToken?.()
    if (token) headers.authorization = `Bearer ${token}`
    const csrf = options.getCsrfToken?.()
    if (csrf && method !== 'GET') headers['x-csrf-token'] = csrf
    if (body !== undefined) headers['content-type'] = 'application/json'
    let response: Response
    try {
      response = await doFetch(base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
      })
    } catch (error) {
      throw new ApiError(0, 'network', error instanceof Error ? error.message : String(error))
    }
    const issued = response.headers.get('x-csrf-token')
    if (issued) options.onCsrfToken?.(issued)
    if (response.status === 204) return undefined as T
    let json: unknown = null
    try {
      json = await response.json()
    } catch {
      json = null
    }
    if (!response.ok) {
      const error = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error
      const code = typeof error?.code === 'string' ? error.code : `http_${response.status}`
      const message = typeof error?.message === 'string' ? error.message : response.statusText
      if (response.status === 401 && !anonymous) options.onUnauthorized?.()
      throw new ApiError(response.status, code, message)
    }
    return json as T
  }

  const room = (name: string) => `/api/rooms/${encodeURIComponent(name)}`

  async function page(path: string, query: HistoryQuery | { limit?: number }) {
    const params = new URLSearchParams()
    if ('before' in query) params.set('before', String(query.before))
    if ('after' in query) params.set('after', String(query.after))
    if (query.limit !== undefined) params.set('limit', String(query.limit))
    const qs = params.toString()
    const raw = await request<unknown>('GET', `${path}${qs ? `?${qs}` : ''}`)
    const parsed = parseMessagePage(raw)
    if (!parsed) throw new ApiError(200, 'bad_response', 'unexpected history page')
    return parsed satisfies MessagePage
  }

  return {
    config: () => request<ServerConfig>('GET', '/api/config', undefined, true),
    register: (user_name: string, password: string) =>
      request<SessionInfo>('POST', '/api/register', { user_name, password }, true),
    login: (user_name: string, password?: string) =>
      request<SessionInfo>(
        'POST',
        '/api/login',
        password === undefined ? { user_name } : { user_name, password },
        true,
      ),
    logout: () => request<void>('POST', '/api/logout'),
    logoutAll: () => request<{ signed_out_sessions: number }>('POST', '/api/logout-all'),
    me: () => request<{ user_name: string; rooms: string[] }>('GET', '/api/me'),
    sessions: () => request<{ sessions: SessionEntry[] }>('GET', '/api/sessions'),
    revokeSession: (id: string) =>
      request<void>('DELETE', `/api/sessions/${encodeURIComponent(id)}`),
    rooms: () => request<{ rooms: RoomInfo[] }>('GET', '/api/rooms'),
    createRoom: (name: string) => request<RoomInfo>('POST', '/api/rooms', { name }),
    joinRoom: (name: string) => request<RoomInfo>('POST', `${room(name)}/join`),
    leaveRoom: (name: string) => request<RoomInfo>('POST', `${room(name)}/leave`),
    openDirect: (user: string) =>
      request<{ name: string }>('POST', `/api/dm/${encodeURIComponent(user)}`),
    /** The group conversation of the caller and `users` (`POST /api/dm`). */
    openGroup: (users: readonly string[]) =>
      request<{ name: string }>('POST', '/api/dm', { users: [...users] }),
    online: () => request<{ users: string[] }>('GET', '/api/users/online'),
    /** The directory: `GET /api/people?q=&after=&limit=` (a prefix of the name or display name). */
    async people(query: { q?: string; after?: string; limit?: number } = {}) {
      const params = new URLSearchParams()
      if (query.q) params.set('q', query.q)
      if (query.after) params.set('after', query.after)
      if (query.limit !== undefined) params.set('limit', String(query.limit))
      const qs = params.toString()
      const parsed = parsePeoplePage(
        await request<unknown>('GET', `/api/people${qs ? `?${qs}` : ''}`),
      )
      if (!parsed) throw new ApiError(200, 'bad_response', 'unexpected people page')
      return parsed satisfies PeoplePage
    },
    /** Sets (or with '' clears) your display name: `PUT /api/me/profile`. */
    async setDisplayName(display_name: string) {
      const parsed = parsePerson(await request<unknown>('PUT', '/api/me/profile', { display_name }))
      if (!parsed) throw new ApiError(200, 'bad_response', 'unexpected person')
      return parsed satisfies Person
    },
    /** One person's card: `GET /api/people/{name}`. */
    async person(name: string) {
      const parsed = parsePerson(
        await request<unknown>('GET', `/api/people/${encodeURIComponent(name)}`),
      )
      if (!parsed) throw new ApiError(200, 'bad_response', 'unexpected person')
      return parsed satisfies Person
    },
    /** A page of the room's member names, in byte order: `GET …/members?after=`. */
    members: (name: string, after = '') =>
      request<{ members: string[]; has_more: boolean }>(
        'GET',
        `${room(name)}/members${after ? `?after=${encodeURIComponent(after)}` : ''}`,
      ),
    messages: (name: string, query: HistoryQuery | { limit?: number } = {}) =>
      page(`${room(name)}/messages`, query),
    /** A thread's replies: `GET …/messages/{id}/replies`, the newest page or `before=`. */
    replies: (name: string, root: number, query: HistoryQuery | { limit?: number } = {}) =>
      page(`${room(name)}/messages/${root}/replies`, query),
    /** One message, folded: `GET …/messages/{id}`. */
    async message(name: string, id: number) {
      const raw = await request<unknown>('GET', `${room(name)}/messages/${id}`)
      const single = parseSingleMessage(raw)
      if (!single) throw new ApiError(200, 'bad_response', 'unexpected message')
      return single satisfies SingleMessage
    },
    /** Sets the user's notification level in a room: `PUT …/notify`. */
    setNotifyLevel: (name: string, level: NotifyLevel) =>
      request<{ room: string; level: NotifyLevel }>('PUT', `${room(name)}/notify`, { level }),
    /** The read state of each of the user's rooms: `GET /api/read`. */
    async readStates() {
      const raw = await request<unknown>('GET', '/api/read')
      const rooms = isObjectWith(raw, 'rooms') && Array.isArray(raw.rooms) ? raw.rooms : null
      const states = rooms?.map(parseReadState)
      if (!states || states.some((s) => s === null)) {
        throw new ApiError(200, 'bad_response', 'unexpected read state')
      }
      return states as ReadState[]
    },
  }
}

function isObjectWith(value: unknown, key: string): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && key in value
}

export type ApiClient = ReturnType<typeof createApiClient>
