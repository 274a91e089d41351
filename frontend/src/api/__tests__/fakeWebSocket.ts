// A stand-in for the browser WebSocket: records what the client sends and lets a test play
// the server (open, frames, close).
import type { WebSocketLike } from '../chatSocket'

export class FakeWebSocket implements WebSocketLike {
  static instances: FakeWebSocket[] = []
  static reset() {
    FakeWebSocket.instances = []
  }
  static get last(): FakeWebSocket {
    const ws = FakeWebSocket.instances[FakeWebSocket.instances.length - 1]
    if (!ws) throw new Error('no socket was opened')
    return ws
  }

  readyState = 0
  sent: string[] = []
  closedWith: number | null = null
  onopen: ((event: Event) => void) | null = null
  onmessage: ((event: MessageEvent) => void) | null = null
  onclose: ((event: CloseEvent) => void) | null = null
  onerror: ((event: Event) => void) | null = null

  constructor(readonly url: string) {
    FakeWebSocket.instances.push(this)
  }

  send(data: string) {
    if (this.readyState !== 1) throw new Error('not open')
    this.sent.push(data)
  }
  close(code = 1000) {
    this.closedWith = code
    this.readyState = 3
  }

  /** Frames the client sent, parsed. */
  get frames(): Array<Record<string, unknown>> {
    return this.sent.map((s) => JSON.parse(s) as Record<string, unknown>)
  }

  // --- the server's side ---
  open() {
    this.readyState = 1
    this.onopen?.(new Event('open'))
  }
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) } as MessageEvent)
  }
  welcome(rooms: string[] = ['general'], user = 'alice', online: string[] = [user]) {
    this.receive({ type: 'welcome', user_name: user, rooms, online })
  }
  serverClose(code = 1006) {
    this.readyState = 3
    this.onclose?.({ code } as CloseEvent)
  }
}
