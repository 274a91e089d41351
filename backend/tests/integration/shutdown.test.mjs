// SIGTERM is a graceful shutdown: sockets get 1012, the process exits 0, and what was acked is kept
// (docs/operations.md, "Shutdown").
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'

import { fetchAfter, nativeConnect, openLogin, sendOk, startChatd, within, wsConnect } from './lib/chatd.mjs'

describe('graceful shutdown', () => {
  const servers = []

  after(async () => {
    for (const s of servers) await s.kill9()
    servers[0]?.cleanup()
  })

  it('SIGTERM closes connected clients with 1012, exits 0, and a message acked just before survives', async () => {
    const first = await startChatd({ auth: 'open' })
    servers.push(first)
    const alice = await nativeConnect(first, await openLogin(first.base, 'alice'))
    const bob = await nativeConnect(first, await openLogin(first.base, 'bob'))
    const seed = await wsConnect(`${first.wsBase}/receive/carol`)

    const ack = await sendOk(alice, 'general', 'last words before shutdown', 'final-1')
    first.terminate()

    const closes = await within(Promise.all([alice.closed, bob.closed, seed.closed]), 10000,
      'all three sockets to be closed by the server')
    assert.deepEqual(closes.map(c => c.code), [1012, 1012, 1012])
    const exit = await first.stop({ expectCode: 0 })
    assert.equal(exit.code, 0)

    const second = await startChatd({ auth: 'open', dbPath: first.dbPath })
    servers.push(second)
    const token = await openLogin(second.base, 'alice')
    const history = await fetchAfter(second.base, token, 'general', 0)
    const kept = history.find(m => m.client_msg_id === 'final-1')
    assert.ok(kept, `message ${ack.id} is in history after the restart`)
    assert.equal(kept.id, ack.id)
    assert.equal(kept.content, 'last words before shutdown')
    await second.stop({ expectCode: 0 })
  })

  it('a server with no clients exits 0 on SIGTERM promptly', async () => {
    const s = await startChatd({ auth: 'open' })
    servers.push(s)
    const started = Date.now()
    const exit = await s.stop({ expectCode: 0, timeoutMs: 5000 })
    assert.equal(exit.code, 0)
    assert.ok(Date.now() - started < 5000)
    s.cleanup()
  })
})
