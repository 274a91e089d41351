// What a typed room name becomes: the server takes only 1-48 of a-z, 0-9, _ and - (docs/
// protocol.md, "Names"), so "Design Team" is offered as `design-team` instead of being refused.
import { ROOM_NAME_PATTERN } from '@/protocol/frames'

const MAX_ROOM_NAME = 48

/** The room name the server would accept for `typed`, or '' when nothing usable is left. */
export function suggestRoomName(typed: string): string {
  const name = typed
    .normalize('NFKD')
    .replace(/\p{M}/gu, '') // accents: "Équipe" -> "Equipe"
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-') // spaces and anything else the server refuses
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_ROOM_NAME)
    .replace(/-+$/, '')
  return ROOM_NAME_PATTERN.test(name) ? name : ''
}
