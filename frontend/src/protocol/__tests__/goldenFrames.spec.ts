// Every golden frame in protocol/examples/ goes through the client's parser; the message ones
// through the reducer and the message component too. A change of wire format breaks this test.
import fs from 'node:fs'
import path from 'node:path'
import { mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it } from 'vitest'
import MessageListItem from '@/components/message/MessageListItem.vue'
import { applyFrame, emptyTimelineState } from '@/stores/messagesReducer'
import { createPinia, setActivePinia } from 'pinia'
import { useMessagesStore } from '@/stores/messages'
import {
  parseServerFrame,
  readAllFrame,
  readFrame,
  statusFrame,
  type ClientFrame,
  type StoredFrame,
} from '../frames'
import { msg } from './factories'

const EXAMPLES = path.resolve(__dirname, '../../../../protocol/examples')
const files = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'))
const read = (file: string): unknown =>
  JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8'))

describe('golden protocol frames', () => {
  // Message rows read display names from a store.
  beforeEach(() => setActivePinia(createPinia()))

  it('exist', () => {
    expect(files.filter((f) => f.startsWith('server_')).length).toBeGreaterThanOrEqual(8)
  })

  it.each(files.filter((f) => f.startsWith('server_')))('%s parses', (file) => {
    const raw = fs.readFileSync(path.join(EXAMPLES, file), 'utf8')
    const frame = parseServerFrame(raw)
    expect(frame).not.toBeNull()
    // Each is named after its type (server_typing_stop.json), or after its type and a variant
    // (server_message_join.json is a `message` frame).
    const name = file.replace(/^server_/, '').replace(/\.json$/, '')
    expect(frame).not.toBeNull()
    const type = frame?.type ?? ''
    expect(name === type || name.startsWith(`${type}_`)).toBe(true)
    // Nothing is lost in parsing: the parsed frame has every field of the golden one.
    expect(frame).toEqual(read(file))
  })

  it.each(files.filter((f) => f.startsWith('server_message')))('%s renders', (file) => {
    const frame = parseServerFrame(read(file))
    if (frame?.type !== 'message') throw new Error('not a message frame')
    const { message } = frame
    if (message.target_id !== undefined && !['text', 'join', 'leave'].includes(message.kind)) {
      // A change is never a row: it folds onto its target, which it names.
      const target = msg(message.target_id, { room: message.room, user_name: message.user_name })
      let state = applyFrame(emptyTimelineState(), { type: 'message', message: target }, 'x')
      if (message.kind === 'unreact') {
        const react = { ...message, id: message.id - 1, kind: 'react' as const }
        state = applyFrame(state, { type: 'message', message: react }, 'x')
        expect(state.rooms[message.room]?.items[0]?.reactions?.length).toBe(1)
      }
      const next = applyFrame(state, frame, 'x')
      const items = next.rooms[message.room]?.items ?? []
      expect(items.map((i) => i.id)).toEqual([message.target_id])
      const item = items[0]!
      if (message.kind === 'edit')
        expect(item).toMatchObject({ content: message.content, edited_ts: message.ts })
      if (message.kind === 'delete') expect(item).toMatchObject({ deleted: true, content: '' })
      if (message.kind === 'react') {
        expect(item.reactions).toEqual([{ emoji: message.content, users: [message.user_name] }])
      }
      if (message.kind === 'unreact') expect(item.reactions).toEqual([])
      return
    }
    const state = applyFrame(emptyTimelineState(), frame, 'someone-else')
    const item = state.rooms[message.room]?.items[0]
    if (!item) throw new Error('not in the timeline')
    expect(item.id).toBe(message.id)
    const wrapper = mount(MessageListItem, { props: { item, grouped: false, me: 'x' } })
    if (message.kind === 'text') {
      expect(wrapper.get('[data-testid="message-author"]').text()).toBe(message.user_name)
      if (message.deleted) {
        expect(wrapper.get('[data-testid="message-deleted"]').text()).toBe('message deleted')
      } else {
        expect(wrapper.get('[data-testid="message-text"]').text()).toBe(message.content)
      }
      expect(item.reply_to).toBe(message.reply_to)
    } else {
      expect(wrapper.get('[data-testid="notice"]').text()).toContain(message.user_name)
      expect(wrapper.text()).not.toContain('CONNECTION_MESSAGE')
    }
  })

  it.each(files.filter((f) => f.startsWith('client_')))(
    '%s is a frame this client sends',
    (file) => {
      const golden = read(file) as ClientFrame
      // Rebuild the frame the way the client does (the store's actions) and compare.
      setActivePinia(createPinia())
      const messages = useMessagesStore()
      const sent: StoredFrame[] = []
      messages.setSender({ send: (f) => (sent.push(f), 'sent') })
      let built: ClientFrame
      switch (golden.type) {
        case 'send':
          messages.send(golden.room, golden.content, golden.reply_to)
          break
        case 'edit':
          messages.edit(golden.room, golden.id, golden.content)
          break
        case 'delete':
          messages.remove(golden.room, golden.id)
          break
        case 'react':
          messages.react(golden.room, golden.id, golden.emoji)
          break
        case 'unreact':
          messages.unreact(golden.room, golden.id, golden.emoji)
          break
      }
      if (golden.type === 'typing' || golden.type === 'typing_stop') {
        built = { type: golden.type, room: golden.room }
      } else if (golden.type === 'ping') built = { type: 'ping' }
      else if (golden.type === 'read')
        built = { ...readFrame(golden.room, golden.id), client_msg_id: golden.client_msg_id }
      else if (golden.type === 'read_all')
        built = { ...readAllFrame(), client_msg_id: golden.client_msg_id }
      else if (golden.type === 'status') built = statusFrame(golden.status === 'away')
      else built = { ...sent[0]!, client_msg_id: golden.client_msg_id }
      expect(JSON.parse(JSON.stringify(built))).toEqual(golden)
    },
  )

  it('rejects malformed frames', () => {
    expect(parseServerFrame('not json')).toBeNull()
    expect(parseServerFrame('[]')).toBeNull()
    expect(parseServerFrame({ type: 'message', message: { id: 'x' } })).toBeNull()
    expect(parseServerFrame({ type: 'ack', client_msg_id: 'c', id: 1.5, room: 'g' })).toBeNull()
    expect(parseServerFrame({ type: 'future_frame' })).toBeNull()
  })
})
