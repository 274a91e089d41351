// Per-room notification levels (docs/protocol.md "Notification levels"): what each level lets
// through. The server keeps the levels; these rules are the client's part.
import { isDirectRoom, type NotifyLevel } from '@/protocol/frames'
import { mentionsUser, type MentioningMessage } from './mentions'

/** Direct conversations notify of every message, other rooms of mentions only (as Slack does). */
export function defaultNotifyLevel(room: string): NotifyLevel {
  return isDirectRoom(room) ? 'all' : 'mentions'
}

/** Whether a new message in a room at `level` gives `user` a desktop notification. */
export function notifies(message: MentioningMessage, user: string, level: NotifyLevel): boolean {
  if (level === 'muted') return false
  if (level === 'mentions') return mentionsUser(message, user)
  return message.kind === 'text' && !message.deleted && message.user_name !== user
}
