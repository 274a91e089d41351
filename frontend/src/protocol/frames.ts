// TypeScript mirror of docs/protocol.md. Every frame the server sends goes through
// parseServerFrame(), which checks field types, so the rest of the client can trust them.
import { newClientMsgId } from '@/utils/ids'

/** Visible kinds are shown as rows; change kinds change a message and are never shown. */
export type VisibleKind = 'text' | 'join' | 'leave'
export type ChangeKind = 'edit' | 'delete' | 'react' | 'unreact'
/** `other`: a kind this client does not know (a newer server): kept for the chain, not shown. */
export type MessageKind = VisibleKind | ChangeKind | 'other'

export interface Reaction {
  emoji: string
  /** In the order they reacted. */
  users: string[]
}

/** A stored message, as in HTTP pages and `message` frames. */
export interface ChatMessage {
  id: number
  room: string
  user_name: string
  content: string
  sent_at: string
  /** Milliseconds since the Unix epoch (server time at receipt). */
  ts: number
  /** Empty for messages that did not come from a native client. */
  client_msg_id: string
  kind: MessageKind
  /** The id of the room's previous message (0 for its first); absent from older servers. */
  prev_id?: number
  /** A change: the message it changes. */
  target_id?: number
  /** A reply: its thread's root. A change: its target's reply_to. */
  reply_to?: number
  // Folded state (history pages and single reads); absent = the default.
  /** Epoch ms of the last edit. */
  edited_ts?: number
  /** A tombstone: content is "". */
  deleted?: boolean
  reactions?: Reaction[]
  /** Replies in its thread that are not deleted. */
  reply_count?: number
  /** Epoch ms of the newest reply. */
  last_reply_ts?: number
  /** A text message: the room's members it names as `@name` (docs/protocol.md "Mentions"). */
  mentions?: string[]
  /** It says `@room`: every member is mentioned. */
  mentions_room?: boolean
}

/** A user's read mark in one room and what is unread there (docs/protocol.md "Read state"). */
export interface ReadState {
  room: string
  /** The newest id of the room the user has read. */
  last_read_id: number
  /** Text messages from others above the mark, counted up to `as_of` (at most the server's cap). */
  unread: number
  /** More than `unread` exist (the server's cap): show "999+". */
  unread_capped?: boolean
  /** The room's newest id when the count was made: later messages are the client's to count. */
  as_of: number
  /** Of the unread messages, those that mention the user; absent from older servers. */
  mentions?: number
}

export interface WelcomeFrame {
  type: 'welcome'
  user_name: string
  rooms: string[]
  online: string[]
  /** Those of `online` who are away (every connection idle); absent from older servers. */
  away?: string[]
  /** Absent from servers without read state. */
  read?: ReadState[]
  /** room -> the user's notification level where it is not the room's default. */
  notify?: Record<string, NotifyLevel>
}
/** How much of a room notifies its reader (docs/protocol.md "Notification levels"). */
export type NotifyLevel = 'all' | 'mentions' | 'muted'
export const NOTIFY_LEVELS: readonly NotifyLevel[] = ['all', 'mentions', 'muted']
export function isNotifyLevel(value: unknown): value is NotifyLevel {
  return NOTIFY_LEVELS.includes(value as NotifyLevel)
}
/** The user's level in a room changed (from any of their tabs or devices). */
export interface NotifyFrame {
  type: 'notify'
  room: string
  level: NotifyLevel
}
export interface ReadStateFrame extends ReadState {
  type: 'read_state'
}
export interface ReadAckFrame {
  type: 'read_ack'
  client_msg_id: string
  rooms: ReadState[]
}
export interface AckFrame {
  type: 'ack'
  client_msg_id: string
  id: number
  room: string
  ts: number
  sent_at: string
  duplicate: boolean
}
export interface MessageFrame {
  type: 'message'
  message: ChatMessage
}
export interface TypingFrame {
  type: 'typing'
  room: string
  user_name: string
}
/** The user cleared the draft: their typing line ends now. */
export interface TypingStopFrame {
  type: 'typing_stop'
  room: string
  user_name: string
}
export type PresenceStatus = 'online' | 'away' | 'offline'
export interface PresenceFrame {
  type: 'presence'
  user_name: string
  online: boolean
  /** `away`: online, but every connection of theirs is idle. Older servers send none. */
  status: PresenceStatus
}
export interface MembershipFrame {
  type: 'membership'
  room: string
  user_name: string
  joined: boolean
}
/** Someone changed their display name (docs/protocol.md "People"). */
export interface ProfileFrame {
  type: 'profile'
  person: { user_name: string; display_name: string }
}
export interface ErrorFrame {
  type: 'error'
  code: string
  message: string
  client_msg_id?: string
}
export interface PongFrame {
  type: 'pong'
}

export type ServerFrame =
  | WelcomeFrame
  | AckFrame
  | MessageFrame
  | TypingFrame
  | TypingStopFrame
  | PresenceFrame
  | MembershipFrame
  | ProfileFrame
  | ErrorFrame
  | PongFrame
  | ReadStateFrame
  | ReadAckFrame
  | NotifyFrame

export type ClientFrame =
  | { type: 'send'; room: string; content: string; client_msg_id: string; reply_to?: number }
  | { type: 'edit'; room: string; id: number; content: string; client_msg_id: string }
  | { type: 'delete'; room: string; id: number; client_msg_id: string }
  | { type: 'react' | 'unreact'; room: string; id: number; emoji: string; client_msg_id: string }
  | { type: 'typing'; room: string }
  | { type: 'typing_stop'; room: string }
  | { type: 'ping' }
  | StatusFrame
  | ReadFrame

/** This client's user is away (no input for a while) or active again; never buffered. */
export type StatusFrame = { type: 'status'; status: 'away' | 'active' }

/** Marks read: answered by `read_ack`, never buffered nor retried (the next welcome has the state). */
export type ReadFrame =
  | { type: 'read'; room: string; id: number; client_msg_id: string }
  | { type: 'read_all'; client_msg_id: string }

export function readFrame(room: string, id: number): ReadFrame {
  return { type: 'read', room, id, client_msg_id: newClientMsgId() }
}
export function statusFrame(away: boolean): StatusFrame {
  return { type: 'status', status: away ? 'away' : 'active' }
}
export function readAllFrame(): ReadFrame {
  return { type: 'read_all', client_msg_id: newClientMsgId() }
}

export type SendFrame = Extract<ClientFrame, { type: 'send' }>
/** Frames stored by the server: each is acked (or refused) by its client_msg_id. */
export type StoredFrame = Exclude<Extract<ClientFrame, { client_msg_id: string }>, ReadFrame>

/** `GET /api/rooms/{room}/messages` and `…/messages/{id}/replies` */
export interface MessagePage {
  messages: ChatMessage[]
  has_more: boolean
  /** The room's highest id in the snapshot the page was read from (absent from older servers). */
  as_of?: number
}

/** `GET /api/rooms/{room}/messages/{id}` */
export interface SingleMessage {
  message: ChatMessage
  as_of: number
}

// --- validation -------------------------------------------------------------------------------

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value)
const isString = (value: unknown): value is string => typeof value === 'string'
const isInt = (value: unknown): value is number => Number.isSafeInteger(value)
const isBool = (value: unknown): value is boolean => typeof value === 'boolean'
const isStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.every(isString)
const isId = (value: unknown): value is number => isInt(value) && value > 0

const KINDS: readonly MessageKind[] = [
  'text',
  'join',
  'leave',
  'edit',
  'delete',
  'react',
  'unreact',
]

function parseKind(kind: unknown): MessageKind {
  if (kind === undefined) return 'text'
  return KINDS.find((k) => k === kind) ?? 'other'
}

function parseReactions(value: unknown): Reaction[] | null {
  if (!Array.isArray(value)) return null
  const reactions: Reaction[] = []
  for (const raw of value) {
    if (!isObject(raw) || !isString(raw.emoji) || !isStringArray(raw.users)) return null
    reactions.push({ emoji: raw.emoji, users: raw.users })
  }
  return reactions
}

/** Returns the message if `value` has the shape of a stored message, otherwise null. */
export function parseMessage(value: unknown): ChatMessage | null {
  if (!isObject(value)) return null
  const { id, room, user_name, content, sent_at, ts, client_msg_id, kind, prev_id } = value
  if (!isInt(id) || !isString(room) || !isString(user_name) || !isString(content)) return null
  if (!isInt(ts)) return null
  const k = parseKind(kind)
  const message: ChatMessage = {
    id,
    room,
    user_name,
    content,
    sent_at: isString(sent_at) ? sent_at : '',
    ts,
    client_msg_id: isString(client_msg_id) ? client_msg_id : '',
    kind: k,
  }
  if (isInt(prev_id) && prev_id >= 0 && prev_id < id) message.prev_id = prev_id
  const { target_id, reply_to, edited_ts, deleted, reactions, reply_count, last_reply_ts } = value
  if (isId(target_id)) message.target_id = target_id
  if (isId(reply_to)) message.reply_to = reply_to
  if (isInt(edited_ts) && edited_ts > 0) message.edited_ts = edited_ts
  if (deleted === true) {
    message.deleted = true
    message.content = ''
  }
  const parsedReactions = parseReactions(reactions)
  if (parsedReactions) message.reactions = parsedReactions
  if (isInt(reply_count) && reply_count > 0) message.reply_count = reply_count
  if (isInt(last_reply_ts) && last_reply_ts > 0) message.last_reply_ts = last_reply_ts
  const { mentions, mentions_room } = value
  if (isStringArray(mentions) && mentions.length > 0) message.mentions = mentions
  if (mentions_room === true) message.mentions_room = true
  return message
}

export function parseReadState(value: unknown): ReadState | null {
  if (!isObject(value)) return null
  const { room, last_read_id, unread, unread_capped, as_of, mentions } = value
  if (!isString(room) || !isInt(last_read_id) || !isInt(unread) || !isInt(as_of)) return null
  const state: ReadState = { room, last_read_id, unread, as_of }
  if (unread_capped === true) state.unread_capped = true
  if (isInt(mentions) && mentions >= 0) state.mentions = mentions
  return state
}

function parseReadStates(value: unknown): ReadState[] | null {
  if (!Array.isArray(value)) return null
  const states: ReadState[] = []
  for (const raw of value) {
    const state = parseReadState(raw)
    if (!state) return null
    states.push(state)
  }
  return states
}

export function parseMessagePage(value: unknown): MessagePage | null {
  if (!isObject(value) || !Array.isArray(value.messages)) return null
  const messages: ChatMessage[] = []
  for (const raw of value.messages) {
    const message = parseMessage(raw)
    if (!message) return null
    messages.push(message)
  }
  const page: MessagePage = { messages, has_more: value.has_more === true }
  if (isInt(value.as_of) && value.as_of >= 0) page.as_of = value.as_of
  return page
}

export function parseSingleMessage(value: unknown): SingleMessage | null {
  if (!isObject(value)) return null
  const message = parseMessage(value.message)
  if (!message || !isInt(value.as_of)) return null
  return { message, as_of: value.as_of }
}

/**
 * Parses one text frame from `/ws`. Returns null for anything that is not valid JSON or not a
 * frame this client understands (unknown types are ignored, so the server can add new ones).
 */
export function parseServerFrame(data: unknown): ServerFrame | null {
  let value: unknown = data
  if (isString(data)) {
    try {
      value = JSON.parse(data)
    } catch {
      return null
    }
  }
  if (!isObject(value)) return null
  const v = value
  switch (v.type) {
    case 'welcome': {
      if (!isString(v.user_name) || !isStringArray(v.rooms) || !isStringArray(v.online)) break
      const frame: WelcomeFrame = {
        type: 'welcome',
        user_name: v.user_name,
        rooms: v.rooms,
        online: v.online,
      }
      if (isStringArray(v.away)) frame.away = v.away
      const read = parseReadStates(v.read)
      if (read) frame.read = read
      if (isObject(v.notify)) {
        const notify: Record<string, NotifyLevel> = {}
        for (const [room, level] of Object.entries(v.notify)) {
          if (isNotifyLevel(level)) notify[room] = level
        }
        frame.notify = notify
      }
      return frame
    }
    case 'notify':
      if (!isString(v.room) || !isNotifyLevel(v.level)) break
      return { type: 'notify', room: v.room, level: v.level }
    case 'read_state': {
      const state = parseReadState(v)
      if (!state) break
      return { type: 'read_state', ...state }
    }
    case 'read_ack': {
      const states = parseReadStates(v.rooms)
      if (!isString(v.client_msg_id) || !states) break
      return { type: 'read_ack', client_msg_id: v.client_msg_id, rooms: states }
    }
    case 'ack':
      if (!isString(v.client_msg_id) || !isInt(v.id) || !isString(v.room)) break
      return {
        type: 'ack',
        client_msg_id: v.client_msg_id,
        id: v.id,
        room: v.room,
        ts: isInt(v.ts) ? v.ts : 0,
        sent_at: isString(v.sent_at) ? v.sent_at : '',
        duplicate: v.duplicate === true,
      }
    case 'message': {
      const message = parseMessage(v.message)
      if (!message) break
      return { type: 'message', message }
    }
    case 'typing':
    case 'typing_stop':
      if (!isString(v.room) || !isString(v.user_name)) break
      return { type: v.type, room: v.room, user_name: v.user_name }
    case 'presence':
      if (!isString(v.user_name) || !isBool(v.online)) break
      return {
        type: 'presence',
        user_name: v.user_name,
        online: v.online,
        // An unknown status is read from `online`, as an older server means it.
        status: !v.online ? 'offline' : v.status === 'away' ? 'away' : 'online',
      }
    case 'membership':
      if (!isString(v.room) || !isString(v.user_name) || !isBool(v.joined)) break
      return { type: 'membership', room: v.room, user_name: v.user_name, joined: v.joined }
    case 'profile': {
      const person = v.person as Record<string, unknown> | null | undefined
      if (typeof person !== 'object' || person === null) break
      if (!isString(person.user_name) || person.user_name === '') break
      const display = isString(person.display_name) ? person.display_name : ''
      return { type: 'profile', person: { user_name: person.user_name, display_name: display } }
    }
    case 'error': {
      if (!isString(v.code)) break
      const frame: ErrorFrame = {
        type: 'error',
        code: v.code,
        message: isString(v.message) ? v.message : v.code,
      }
      if (isString(v.client_msg_id) && v.client_msg_id !== '') frame.client_msg_id = v.client_msg_id
      return frame
    }
    case 'pong':
      return { type: 'pong' }
  }
  return null
}

// --- rooms ------------------------------------------------------------------------------------

export const GENERAL_ROOM = 'general'

/**
 * Direct conversations are rooms named `dm:<a>:<b>` (the two names in byte order), group ones
 * `dm:<a>:<b>:<c>…` (every member's name in byte order).
 */
export function isDirectRoom(room: string): boolean {
  return room.startsWith('dm:')
}

/** The other members of a direct room, seen from `me`, in the room name's order; [] otherwise. */
export function directPeers(room: string, me: string): string[] {
  if (!isDirectRoom(room)) return []
  return room
    .slice(3)
    .split(':')
    .filter((name) => name !== me)
}

/**
 * The other participants of a direct room, seen from `me`, joined by `,` (a user name never
 * holds one): the `/dm/<…>` segment that names the conversation. Null for other rooms.
 */
export function directPeer(room: string, me: string): string | null {
  if (!isDirectRoom(room)) return null
  return directPeers(room, me).join(',')
}

/** The direct room of `me` and `others` (repeats and `me` among them count once). */
export function directRoomOf(me: string, others: readonly string[]): string {
  const names = [...new Set([me, ...others])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  return `dm:${names.join(':')}`
}

export const ROOM_NAME_PATTERN = /^[a-z0-9_-]{1,48}$/
