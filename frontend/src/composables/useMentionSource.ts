// The composer's `@` autocomplete source for the signed-in user: one member cache per signed-in
// user (a new sign-in starts a new one), and the server's `@room` size limit.
import { computed } from 'vue'
import type { MentionSource } from '@/components/message/MessageComposer.vue'
import type { ServerFrame } from '@/protocol/frames'
import { useSessionStore } from '@/stores/session'
import { createMemberCache, type MemberCache } from './useRoomMembers'

/** The server's default for --max-room-mention-members, until /api/config says otherwise. */
const DEFAULT_ROOM_MENTION_MAX = 50

let cached: { user: string; cache: MemberCache } | null = null

export function useMentionSource() {
  const session = useSessionStore()
  return computed<MentionSource | null>(() => {
    const me = session.userName
    if (!me) return null
    if (cached?.user !== me) cached = { user: me, cache: createMemberCache(session.api) }
    return {
      members: cached.cache.members,
      me,
      roomMentionMax: session.config?.limits.max_room_mention_members ?? DEFAULT_ROOM_MENTION_MAX,
    }
  })
}

/** Drops the member names a frame makes stale: a room's on `membership`, all on `welcome`. */
export function refreshMembersOn(frame: ServerFrame) {
  if (frame.type === 'membership') cached?.cache.forget(frame.room)
  else if (frame.type === 'welcome') cached?.cache.clear()
}
