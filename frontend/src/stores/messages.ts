// Every room's timeline. All changes go through the pure reducers in messagesReducer.ts; this
// store adds the I/O: sending messages and changes (edit, delete, react, unreact) through the
// socket, loading older pages, single messages and thread pages over HTTP. It also holds what the
// reader is doing to a message: editing it, or writing a reply to it.
import { defineStore } from 'pinia'
import { computed, ref, shallowRef } from 'vue'
import type { HistoryBatch, SendResult } from '@/api/chatSocket'
import type { ServerFrame, StoredFrame } from '@/protocol/frames'
import { newClientMsgId } from '@/utils/ids'
import {
  addChange,
  addExtra,
  addPending,
  applyThreadPage,
  clearChangeError as reduceClearChangeError,
  closeThread as reduceCloseThread,
  failChange,
  findMessage,
  openThread as reduceOpenThread,
  applyFrame as reduceFrame,
  applyHistory as reduceHistory,
  emptyTimelineState,
  findPending,
  markFailed,
  markSending,
  oldestId,
  removeRoom,
  type PendingChange,
  type RoomTimeline,
  type TimelineItem,
  type TimelineState,
} from './messagesReducer'
import { useSessionStore } from './session'

/** What the store needs from the socket (the connection store passes the real one). */
export interface MessageSender {
  send(frame: StoredFrame): SendResult
}

export const OLDER_PAGE_SIZE = 50
export const THREAD_PAGE_SIZE = 50
/** Scrolling to a quoted message loads at most this many older pages to find it. */
export const MAX_PAGES_TO_FIND = 40

/** Where a message is being edited: in the room's log or in the thread panel. */
export type EditPlace = 'room' | 'thread'

export const useMessagesStore = defineStore('messages', () => {
  const session = useSessionStore()
  /** Replaced wholesale by each reducer call (the reducers never mutate). */
  const state = shallowRef<TimelineState>(emptyTimelineState())
  /** Rooms whose older page is being fetched. */
  const loadingOlder = ref<Record<string, boolean>>({})
  /** The message being edited in place, if any (one at a time). */
  const editing = ref<{ room: string; id: number; place: EditPlace } | null>(null)
  /** Per room: the message the composer replies to. */
  const replyingTo = ref<Record<string, number>>({})
  const loadingThread = ref(false)
  /** Messages asked by id and not found (deleted rooms, ids gone): `room\nid`. */
  const missing = ref<Record<string, true>>({})
  const fetching = new Map<string, Promise<TimelineItem | null>>()
  /** Per room: the older page on its way. */
  const olderLoads = new Map<string, Promise<void>>()
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
    state.value = reduceHistory(
      state.value,
      batch.room,
      batch.messages,
      batch.mode,
      batch.hasMore,
      batch.asOf,
    )
  }

  function dispatch(frame: StoredFrame) {
    const result = sender ? sender.send(frame) : 'full'
    if (result !== 'full') return
    if (frame.type === 'send') {
      state.value = markFailed(state.value, frame.client_msg_id, 'buffer_full')
    } else {
      state.value = failChange(state.value, frame.client_msg_id, 'buffer_full')
    }
  }

  /**
   * Shows the message at once as 'sending' and hands it to the socket (sent or queued).
   * `replyTo` makes it a reply in that message's thread.
   */
  function send(room: string, content: string, replyTo?: number): string {
    const client_msg_id = newClientMsgId()
    state.value = addPending(state.value, {
      room,
      user_name: me(),
      content,
      client_msg_id,
      ts: Date.now(),
      ...(replyTo ? { reply_to: replyTo } : {}),
    })
    dispatch({
      type: 'send',
      room,
      content,
      client_msg_id,
      ...(replyTo ? { reply_to: replyTo } : {}),
    })
    return client_msg_id
  }

  /** Sends a failed message again with the same client_msg_id, so it is stored at most once. */
  function retry(clientMsgId: string) {
    const item = findPending(state.value, clientMsgId)
    if (!item || item.status !== 'failed') return
    state.value = markSending(state.value, clientMsgId)
    dispatch({
      type: 'send',
      room: item.room,
      content: item.content,
      client_msg_id: clientMsgId,
      ...(item.reply_to ? { reply_to: item.reply_to } : {}),
    })
  }

  // --- changes: shown when their own frame comes back (after the durable commit) ---------------

  function change(frame: StoredFrame & { id: number }, kind: PendingChange['kind']) {
    state.value = reduceClearChangeError(
      addChange(state.value, frame.client_msg_id, { room: frame.room, kind, id: frame.id }),
    )
    dispatch(frame)
    return frame.client_msg_id
  }

  function edit(room: string, id: number, content: string): string {
    return change({ type: 'edit', room, id, content, client_msg_id: newClientMsgId() }, 'edit')
  }

  function remove(room: string, id: number): string {
    return change({ type: 'delete', room, id, client_msg_id: newClientMsgId() }, 'delete')
  }

  function react(room: string, id: number, emoji: string): string {
    return change({ type: 'react', room, id, emoji, client_msg_id: newClientMsgId() }, 'react')
  }

  function unreact(room: string, id: number, emoji: string): string {
    return change({ type: 'unreact', room, id, emoji, client_msg_id: newClientMsgId() }, 'unreact')
  }

  /** Adds my reaction, or removes it when I already reacted with that emoji. */
  function toggleReaction(room: string, id: number, emoji: string): string {
    const held = findMessage(state.value, room, id)
    const mine = held?.reactions?.some((r) => r.emoji === emoji && r.users.includes(me()))
    return mine ? unreact(room, id, emoji) : react(room, id, emoji)
  }

  /** Whether a change to this message is waiting for its ack. */
  function changePending(room: string, id: number): boolean {
    return Object.values(state.value.changes).some((c) => c.room === room && c.id === id)
  }

  const changeError = computed(() => state.value.changeError)

  function clearChangeError() {
    state.value = reduceClearChangeError(state.value)
  }

  function startEdit(room: string, id: number, place: EditPlace = 'room') {
    editing.value = { room, id, place }
  }

  function stopEdit() {
    editing.value = null
  }

  /** My newest message in the room that can still be edited (for Up in an empty composer). */
  function lastOwnMessage(room: string): TimelineItem | undefined {
    const items = timeline(room)?.items ?? []
    for (let i = items.length - 1; i >= 0; i--) {
      const item = items[i]!
      if (item.id !== null && item.kind === 'text' && item.user_name === me() && !item.deleted) {
        return item
      }
    }
    return undefined
  }

  function startReply(room: string, id: number) {
    replyingTo.value = { ...replyingTo.value, [room]: id }
  }

  function cancelReply(room: string) {
    if (!(room in replyingTo.value)) return
    const next = { ...replyingTo.value }
    delete next[room]
    replyingTo.value = next
  }

  // --- single messages (quotes) -------------------------------------------------------------

  /** A held message by id: the room's timeline, else the messages fetched by id. */
  function message(room: string, id: number): TimelineItem | undefined {
    return findMessage(state.value, room, id)
  }

  /**
   * A message by id, fetched (`GET …/messages/{id}`) when not held. Null when the server does
   * not have it (or it cannot be reached: a later call tries again).
   */
  function fetchMessage(room: string, id: number): Promise<TimelineItem | null> {
    const held = message(room, id)
    if (held) return Promise.resolve(held)
    const key = `${room}\n${id}`
    if (missing.value[key]) return Promise.resolve(null)
    const running = fetching.get(key)
    if (running) return running
    const request = (async () => {
      try {
        const single = await session.api.message(room, id)
        state.value = addExtra(state.value, single.message, single.as_of)
        return message(room, id) ?? null
      } catch (error) {
        const status = (error as { status?: number }).status ?? 0
        if (status >= 400 && status < 500) missing.value = { ...missing.value, [key]: true }
        return null
      } finally {
        fetching.delete(key)
      }
    })()
    fetching.set(key, request)
    return request
  }

  /** The server answered that it has no such message (or not for us). */
  function isMissing(room: string, id: number): boolean {
    return missing.value[`${room}\n${id}`] === true
  }

  /** Loads older pages until the message is in the room's timeline. Whether it is. */
  async function loadUntil(room: string, id: number): Promise<boolean> {
    for (let pages = 0; pages < MAX_PAGES_TO_FIND; pages++) {
      const current = timeline(room)
      if (!current) return false
      if (current.items.some((item) => item.id === id)) return true
      const oldest = oldestId(current)
      if (!current.hasOlder || (oldest !== null && oldest < id)) return false
      await loadOlder(room)
    }
    return timeline(room)?.items.some((item) => item.id === id) === true
  }

  // --- threads --------------------------------------------------------------------------------

  const thread = computed(() => state.value.thread)

  /** Opens the thread panel on a root and loads its newest replies. */
  async function openThread(room: string, root: number): Promise<void> {
    state.value = reduceOpenThread(state.value, room, root)
    if (state.value.thread?.loaded) return
    void fetchMessage(room, root)
    try {
      await loadThread('latest')
    } catch {
      // the panel offers to load the replies again (loaded stays false)
    }
  }

  function closeThread() {
    state.value = reduceCloseThread(state.value)
    if (editing.value?.place === 'thread') editing.value = null
  }

  /** Loads the open thread's newest replies, or the page before its oldest one. */
  async function loadThread(direction: 'latest' | 'before' = 'before'): Promise<void> {
    const current = state.value.thread
    if (!current || loadingThread.value) return
    if (direction === 'before' && !current.hasOlder) return
    const before = direction === 'before' ? oldestId(current) : null
    loadingThread.value = true
    try {
      const page = await session.api.replies(
        current.room,
        current.root,
        before === null ? { limit: THREAD_PAGE_SIZE } : { before, limit: THREAD_PAGE_SIZE },
      )
      state.value = applyThreadPage(
        state.value,
        current.room,
        current.root,
        page.messages,
        direction,
        page.has_more,
        page.as_of,
      )
    } finally {
      loadingThread.value = false
    }
  }

  /** Sends a reply into the open thread. */
  function replyInThread(content: string): string | null {
    const current = state.value.thread
    if (!current) return null
    return send(current.room, content, current.root)
  }

  /**
   * Fetches the page before the oldest message shown (scrolling up). A call while that page is on
   * its way waits for it, so that loadUntil counts pages that arrived, not calls.
   */
  function loadOlder(room: string): Promise<void> {
    const running = olderLoads.get(room)
    if (running) return running
    const current = timeline(room)
    if (!current || !current.hasOlder) return Promise.resolve()
    const before = oldestId(current)
    if (before === null) return Promise.resolve()
    loadingOlder.value = { ...loadingOlder.value, [room]: true }
    const request = (async () => {
      try {
        const page = await session.api.messages(room, { before, limit: OLDER_PAGE_SIZE })
        state.value = reduceHistory(
          state.value,
          room,
          page.messages,
          'before',
          page.has_more,
          page.as_of,
        )
      } finally {
        olderLoads.delete(room)
        loadingOlder.value = { ...loadingOlder.value, [room]: false }
      }
    })()
    olderLoads.set(room, request)
    return request
  }

  function forgetRoom(room: string) {
    state.value = removeRoom(state.value, room)
    cancelReply(room)
    if (editing.value?.room === room) editing.value = null
  }

  function reset() {
    state.value = emptyTimelineState()
    loadingOlder.value = {}
    editing.value = null
    replyingTo.value = {}
    missing.value = {}
    fetching.clear()
    olderLoads.clear()
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
    edit,
    remove,
    react,
    unreact,
    toggleReaction,
    changePending,
    changeError,
    clearChangeError,
    editing,
    startEdit,
    stopEdit,
    lastOwnMessage,
    replyingTo,
    startReply,
    cancelReply,
    message,
    fetchMessage,
    isMissing,
    loadUntil,
    thread,
    loadingThread,
    openThread,
    closeThread,
    loadThread,
    replyInThread,
    loadOlder,
    forgetRoom,
    reset,
  }
})
