// Every golden frame in protocol/examples/ goes through the client's parser; the message ones
// through the reducer and the message component too. A change of wire format breaks this test.
import fs from 'node:fs'
import path from 'node:path'
import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import MessageListItem from '@/components/message/MessageListItem.vue'
import { applyFrame, emptyTimelineState } from '@/stores/messagesReducer'
import { parseServerFrame, type ClientFrame } from '../frames'

const EXAMPLES = path.resolve(__dirname, '../../../../protocol/examples')
const files = fs.readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'))
const read = (file: string): unknown =>
  JSON.parse(fs.readFileSync(path.join(EXAMPLES, file), 'utf8'))

describe('golden protocol frames', () => {
  it('exist', () => {
    expect(files.filter((f) => f.startsWith('server_')).length).toBeGreaterThanOrEqual(8)
  })

  it.each(files.filter((f) => f.startsWith('server_')))('%s parses', (file) => {
    const raw = fs.readFileSync(path.join(EXAMPLES, file), 'utf8')
    const frame = parseServerFrame(raw)
    expect(frame).not.toBeNull()
    // server_message_join.json is a `message` frame; the others are named after their type.
    const type = file
      .replace(/^server_/, '')
      .replace(/\.json$/, '')
      .split('_')[0]
    expect(frame?.type).toBe(type)
    // Nothing is lost in parsing: the parsed frame has every field of the golden one.
    expect(frame).toEqual(read(file))
  })

  it.each(files.filter((f) => f.startsWith('server_message')))('%s renders', (file) => {
    const frame = parseServerFrame(read(file))
    if (frame?.type !== 'message') throw new Error('not a message frame')
    const state = applyFrame(emptyTimelineState(), frame, 'someone-else')
    const item = state.rooms[frame.message.room]?.items[0]
    if (!item) throw new Error('not in the timeline')
    expect(item.id).toBe(frame.message.id)
    const wrapper = mount(MessageListItem, { props: { item, grouped: false, me: 'x' } })
    if (frame.message.kind === 'text') {
      expect(wrapper.get('[data-testid="message-author"]').text()).toBe(frame.message.user_name)
      expect(wrapper.get('[data-testid="message-text"]').text()).toBe(frame.message.content)
    } else {
      expect(wrapper.get('[data-testid="notice"]').text()).toContain(frame.message.user_name)
      expect(wrapper.text()).not.toContain('CONNECTION_MESSAGE')
    }
  })

  it.each(files.filter((f) => f.startsWith('client_')))(
    '%s is a frame this client sends',
    (file) => {
      const golden = read(file) as ClientFrame
      // Rebuild the frame the way the client does and compare the wire text.
      let built: ClientFrame
      if (golden.type === 'send') {
        built = {
          type: 'send',
          room: golden.room,
          content: golden.content,
          client_msg_id: golden.client_msg_id,
        }
      } else if (golden.type === 'typing') {
        built = { type: 'typing', room: golden.room }
      } else {
        built = { type: 'ping' }
      }
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
