// Tiny factories for tests (the Elk style: msg(id) reads better than a literal).
import type { ChatMessage } from '../frames'

export function msg(id: number, overrides: Partial<ChatMessage> = {}): ChatMessage {
  return {
    id,
    room: 'general',
    user_name: 'bob',
    content: `message ${id}`,
    sent_at: '27/11/2026 21:51:18',
    ts: 1_795_816_278_000 + id * 1000,
    client_msg_id: '',
    kind: 'text',
    ...overrides,
  }
}
