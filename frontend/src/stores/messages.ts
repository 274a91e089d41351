// Every room's timeline. All changes go through the pure reducers in messagesReducer.ts; this
// store adds the I/O: sending through the socket, and loading older pages over HTTP.
import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { HistoryBatch, SendResult } from '@/api/chatSocket'
import type { SendFrame, ServerFrame } from '@/protocol/frames'
import { newClientMsgId } from '@/utils/ids'
import {
  addPending,
  applyFrame as reduceFrame,
  applyHistory as reduceHistory,
  emptyTimelineState,
  findPending,
  markFailed,
  markSending,
  oldestId,
  removeRoom,
  type RoomTimeline,
  type TimelineState,
} from './messagesReducer'
import { useSessionStore } from './session'

/** What the store needs from the socket (the connection store passes the real one). */
export interface MessageSender {
  send(frame: SendFrame): SendResult
}

export const OLDER_PAGE_SIZE = 50

export const useMessagesStore = defineStore('messages', () => {
  const session = useSessionStore()
  /** Replaced wholesale by each reducer call (the reducers never mutate). */
  const state = shallowRef<TimelineState>(emptyTimelineState())
  /** Rooms whose older page is being fetched. */
  const loadingOlder = ref<Record<string, boolean>>({})
  let sender: MessageSender | null = null

  const me = () => session.userName ?? ''

  function timeline(room: string): RoomTimeline | undefined {
    return state.value.rooms[room]
  }

  /** Messages written here and not yet acknowledged. */
  const pendingCount = computed(() => {
    let n = 0
    for (const room of Object.values(state.value.rooms)) {
      for (const item of room.items) if (item.status === 'sending') n++
    }
    return n
  })

  function setSender(next: MessageSender | null) {
    sender = next
  }

  function applyFrame(frame: ServerFrame) {
    state.value = reduceFrame(state.value, frame, me())
  }

  function applyHistory(batch: HistoryBatch) {
    state.value = reduceHistory(state.value, batch.room, batch.messages, batch.mode, batch.hasMore)
  }

  function dispatch(frame: SendFrame) {
    const result = sender ? sender.send(frame) : 'full'
    if (result === 'full') state.value = markFailed(state.value, frame.client_msg_id, 'buffer_full')
  }

  /** Shows the message at once as 'sending' and hands it to the socket (sent or queued). */
  function send(room: string, content: string): string {
    const client_msg_id = newClientMsgId()
    state.value = addPending(state.value, {
      room,
      user_name: me(),
      content,
      client_msg_id,
      ts: Date.now(),
    })
    dispatch({ type: 'send', room, content, client_msg_id })
    return client_msg_id
  }

  /** Sends a failed message again with the same client_msg_id, so it is stored at most once. */
  function retry(clientMsgId: string) {
    const item = findPending(state.value, clientMsgId)
    if (!item || item.status !== 'failed') return
    state.value = markSending(state.value, clientMsgId)
    dispatch({ type: 'send', room: item.room, content: item.content, client_msg_id: clientMsgId })
  }

  /** Fetches the page before the oldest message shown (scrolling up). */
  async function loadOlder(room: string): Promise<void> {
    const current = timeline(room)
    if (!current || !current.hasOlder || loadingOlder.value[room]) return
    const before = oldestId(current)
    if (before === null) return
    loadingOlder.value = { ...loadingOlder.value, [room]: true }
    try {
      const page = await session.api.messages(room, { before, limit: OLDER_PAGE_SIZE })
      state.value = reduceHistory(state.value, room, page.messages, 'before', page.has_more)
    } finally {
      loadingOlder.value = { ...loadingOlder.value, [room]: false }
    }
  }

  function forgetRoom(room: string) {
    state.value = removeRoom(state.value, room)
  }

  function reset() {
    state.value = emptyTimelineState()
    loadingOlder.value = {}
  }

  return {
    state,
    loadingOlder,
    pendingCount,
    timeline,
    setSender,
    applyFrame,
    applyHistory,
    send,
    retry,
    loadOlder,
    forgetRoom,
    reset,
  }
})
