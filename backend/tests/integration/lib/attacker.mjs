// The hostile clients of overload.test.mjs, in a process of their own (child_process.fork) so
// that generating an attack does not delay the observer's event loop in the test process: the
// observer's latency then measures chatd, not the test. Protocol (IPC messages):
//   argv: KIND JSON-PARAMS  ->  {engaged: true} once the attack runs
//   'stop'                  ->  {result: {...}}, then the process exits
// Every kind stops on its own too once it has nothing left to do; it still waits for 'stop'.
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { performance } from 'node:perf_hooks'

import { WebSocket } from './chatd.mjs'

const [kind, paramsJson] = process.argv.slice(2)
const params = JSON.parse(paramsJson)
const { port, wsBase } = params
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))
let stopped = false
const stopRequested = new Promise(resolve => process.on('message', m => {
  if (m === 'stop') { stopped = true; resolve() }
}))
const engaged = () => process.send({ engaged: true })

// A TCP connection; `ended` resolves with the time to close and every byte received.
function rawSocket () {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks = []
    const opened = performance.now()
    socket.received = () => Buffer.concat(chunks)
    socket.ended = new Promise(resolveEnd => {
      socket.on('close', () => resolveEnd({ ms: performance.now() - opened, data: Buffer.concat(chunks) }))
    })
    socket.on('data', c => chunks.push(c))
    socket.on('error', () => {}) // resets are expected; `ended` reports them
    socket.once('connect', () => resolve(socket))
    socket.once('error', reject)
  })
}

async function rawWebSocket (path) {
  const socket = await rawSocket()
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`)
  const deadline = Date.now() + 5000
  while (!socket.received().includes('\r\n\r\n')) {
    if (socket.destroyed || Date.now() > deadline) throw new Error(`no upgrade answer for ${path}`)
    await sleep(2)
  }
  const head = socket.received().toString('latin1')
  if (!/^HTTP\/1\.1 101/.test(head)) throw new Error(`upgrade refused: ${head.slice(0, 100)}`)
  socket.headerBytes = head.indexOf('\r\n\r\n') + 4
  return socket
}

// One masked client frame; `declared` overrides the length written in the header.
function clientFrame ({ opcode = 1, fin = true, rsv1 = false, payload = Buffer.alloc(0), declared }) {
  const length = declared ?? payload.length
  const head = [(fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode]
  if (length < 126) {
    head.push(0x80 | length)
  } else if (length < 65536) {
    head.push(0x80 | 126, length >> 8, length & 0xff)
  } else {
    const big = Buffer.alloc(8)
    big.writeBigUInt64BE(BigInt(length))
    head.push(0x80 | 127, ...big)
  }
  const mask = randomBytes(4)
  return Buffer.concat([Buffer.from(head), mask, Buffer.from(payload.map((b, i) => b ^ mask[i % 4]))])
}

// The close code in the server's close frame, if any, after the upgrade answer.
function serverCloseCode (data, from) {
  let at = from
  while (at + 2 <= data.length) {
    const opcode = data[at] & 0x0f
    let length = data[at + 1] & 0x7f
    let offset = at + 2
    if (length === 126) {
      length = data.readUInt16BE(offset); offset += 2
    } else if (length === 127) {
      length = Number(data.readBigUInt64BE(offset)); offset += 8
    }
    if (opcode === 8) return length >= 2 ? data.readUInt16BE(offset) : 1005
    at = offset + length
  }
  return null
}

function openWs (url) {
  const ws = new WebSocket(url, { perMessageDeflate: false })
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
    ws.once('unexpected-response', (req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)))
  })
}

const attacks = {
  // Fills the server to `fill` connections, then keeps knocking until stopped.
  async connections ({ token, fill }) {
    const url = `${wsBase}/ws?token=${token}`
    const crowd = []
    for (let i = 0; i < fill; i++) crowd.push(await openWs(url))
    const statuses = {}
    let slowestMs = 0
    let first = true
    while (!stopped) {
      const started = performance.now()
      const status = await new Promise(resolve => {
        const ws = new WebSocket(url, { perMessageDeflate: false })
        ws.once('unexpected-response', (req, res) => { resolve(res.statusCode); ws.terminate() })
        ws.once('open', () => { resolve(101); ws.terminate() })
        ws.once('error', () => resolve(0))
      })
      slowestMs = Math.max(slowestMs, performance.now() - started)
      statuses[status] = (statuses[status] ?? 0) + 1
      if (first) { first = false; engaged() }
    }
    for (const ws of crowd) ws.terminate()
    return { opened: crowd.length, statuses, slowestMs }
  },

  // One user sends as fast as the socket takes it.
  async flood ({ token, room }) {
    const ws = await openWs(`${wsBase}/ws?token=${token}`)
    let rateLimited = 0
    let closed = null
    ws.on('message', data => { if (data.includes('"rate_limited"')) rateLimited += 1 })
    ws.on('close', code => { closed = code })
    let sent = 0
    const frame = i => JSON.stringify({ type: 'send', room, content: `flood ${i}`, client_msg_id: `f${i}` })
    let announced = false
    while (!stopped && ws.readyState === WebSocket.OPEN) {
      if (ws.bufferedAmount < 256 * 1024) for (let i = 0; i < 100; i++) ws.send(frame(sent++))
      if (!announced && rateLimited > 0) { announced = true; engaged() }
      await new Promise(resolve => setImmediate(resolve))
    }
    await sleep(200) // the last answers
    ws.terminate()
    return { sent, rateLimited, closed }
  },

  // One user sends `typing` frames into `room` as fast as the socket takes them, and opens a new
  // connection whenever chatd closes one. Counts what chatd answers.
  async typingFlood ({ token, room }) {
    let sent = 0
    let rateLimited = 0
    let otherFrames = 0
    let connections = 0
    const closes = {}
    const frame = JSON.stringify({ type: 'typing', room })
    let announced = false
    while (!stopped) {
      const ws = await openWs(`${wsBase}/ws?token=${token}`)
      connections += 1
      const closed = new Promise(resolve => ws.once('close', code => { closes[code] = (closes[code] ?? 0) + 1; resolve() }))
      ws.on('message', data => {
        if (data.includes('"rate_limited"')) rateLimited += 1
        else otherFrames += 1
      })
      while (!stopped && ws.readyState === WebSocket.OPEN) {
        if (ws.bufferedAmount < 256 * 1024) for (let i = 0; i < 200; i++, sent++) ws.send(frame)
        if (!announced && sent >= 10000) { announced = true; engaged() }
        await new Promise(resolve => setImmediate(resolve))
      }
      if (stopped) ws.terminate()
      await closed
    }
    return { sent, rateLimited, otherFrames, connections, closes }
  },

  // `sloth` stops reading; the `loud` users send 3.9 kB messages into the room below the rate limit.
  async neverReads ({ slothToken, loudTokens, room }) {
    const sloth = await openWs(`${wsBase}/ws?token=${slothToken}`)
    sloth.on('message', () => {})
    sloth._socket.pause()
    const slothClosed = new Promise(resolve => sloth.once('close', code => resolve(code)))
    const loud = []
    for (const token of loudTokens) {
      const ws = await openWs(`${wsBase}/ws?token=${token}`)
      ws.on('message', () => {})
      loud.push(ws)
    }
    const content = 'y'.repeat(3900)
    let sent = 0
    const timer = setInterval(() => {
      for (const ws of loud) {
        if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > 256 * 1024) continue
        for (let i = 0; i < 3; i++) ws.send(JSON.stringify({ type: 'send', room, content, client_msg_id: `l${sent++}` }))
      }
    }, 20)
    engaged()
    await stopRequested
    clearInterval(timer)
    sloth._socket.resume() // read what the kernel held, then the end
    const started = performance.now()
    const code = await Promise.race([slothClosed, sleep(10000).then(() => 'still open')])
    for (const ws of loud) ws.terminate()
    return { sent, slothCloseCode: code, slothEndedAfterResumeMs: performance.now() - started }
  },

  // `count` connections trickle a request one byte per 100 ms: half the headers, half the body.
  async slowloris ({ count }) {
    const results = []
    const sockets = []
    for (let i = 0; i < count; i++) {
      const socket = await rawSocket()
      sockets.push(socket)
      const text = i % 2
        ? 'POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
          'X-Padding: ' + 'p'.repeat(200) + '\r\n\r\n'
        : 'POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
          'Content-Length: 200\r\n\r\n' + '{"user_name":"' + 'q'.repeat(180)
      let at = i % 2 ? 0 : text.indexOf('\r\n\r\n') + 4
      if (at) socket.write(text.slice(0, at))
      const timer = setInterval(() => {
        if (socket.destroyed || at >= text.length) return clearInterval(timer)
        socket.write(text[at++])
      }, 100)
      socket.ended.then(({ ms, data }) => {
        clearInterval(timer)
        results.push({ ms, status: /^HTTP\/1\.1 (\d+)/.exec(data.toString('latin1'))?.[1] ?? 'none' })
      })
    }
    engaged()
    await Promise.all(sockets.map(s => s.ended))
    return { results }
  },

  // 100 MB uploads, declared and chunked, again and again until stopped.
  async hugeBodies () {
    const HUNDRED_MB = 100 * 1024 * 1024
    const outcomes = []
    const upload = async chunked => {
      const socket = await rawSocket()
      socket.write('POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        (chunked ? 'Transfer-Encoding: chunked\r\n\r\n' : `Content-Length: ${HUNDRED_MB}\r\n\r\n`))
      const block = Buffer.alloc(1024 * 1024, 'a')
      const chunk = Buffer.concat([Buffer.from(`${block.length.toString(16)}\r\n`), block, Buffer.from('\r\n')])
      let written = 0
      const pump = () => {
        while (!socket.destroyed && written < HUNDRED_MB) {
          written += block.length
          if (!socket.write(chunked ? chunk : block)) return socket.once('drain', pump)
        }
      }
      pump()
      const { ms, data } = await socket.ended
      outcomes.push({ chunked, ms, written, status: /^HTTP\/1\.1 (\d+)/.exec(data.toString('latin1'))?.[1] ?? 'reset' })
    }
    let first = true
    while (!stopped) {
      await Promise.all([upload(false), upload(true)])
      if (first) { first = false; engaged() }
    }
    return { outcomes, hundredMb: HUNDRED_MB }
  },

  // Each of `paths` (WebSocket upgrades) sends pings with 125-byte payloads as fast as the
  // socket takes them and never reads (the socket is paused after the upgrade answer).
  async pingFlood ({ paths }) {
    const burst = Buffer.concat(Array.from({ length: 512 }, () => clientFrame({ opcode: 9, payload: Buffer.alloc(125, 0x70) })))
    const flood = async path => {
      const socket = await rawWebSocket(path)
      socket.pause()
      const started = performance.now()
      let pings = 0
      while (!socket.destroyed && !stopped) {
        pings += 512
        if (!socket.write(burst)) {
          await new Promise(resolve => {
            const done = () => { socket.off('drain', done); socket.off('close', done); resolve() }
            socket.on('drain', done)
            socket.on('close', done)
          })
        }
      }
      const closedAfterMs = socket.destroyed ? performance.now() - started : null
      socket.destroy()
      return { path: path.replace(/token=.*/, 'token=...'), pings, closedAfterMs }
    }
    const running = paths.map(flood)
    engaged()
    return { floods: await Promise.all(running) }
  },

  // Chunked uploads whose framing never ends: a chunk-size line with an endless extension, and
  // a trailer section that never ends; each writes up to 64 MiB, again and again (50 ms apart)
  // until stopped.
  async chunkedFraming () {
    const CAP = 64 * 1024 * 1024
    const outcomes = []
    const upload = async which => {
      const socket = await rawSocket()
      socket.write('POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        'Transfer-Encoding: chunked\r\n\r\n' + (which === 'extension' ? '5;ext=' : '0\r\nX-Trailer: '))
      const block = Buffer.alloc(64 * 1024, which === 'extension' ? 'e' : 't')
      let written = 0
      const pump = () => {
        while (!socket.destroyed && written < CAP) {
          written += block.length
          if (!socket.write(block)) return socket.once('drain', pump)
        }
      }
      pump()
      const { ms, data } = await socket.ended
      outcomes.push({ which, ms, written, status: /^HTTP\/1\.1 (\d+)/.exec(data.toString('latin1'))?.[1] ?? 'reset' })
    }
    let first = true
    while (!stopped) {
      await Promise.all([upload('extension'), upload('trailer')])
      if (first) { first = false; engaged() }
      // 50 ms apart: the attack is what one connection makes chatd hold, not the rate of new
      // connections (each refused upload still leaves megabytes in the kernel's buffers).
      await sleep(50)
    }
    return { outcomes }
  },

  // WebSocket frames no well-behaved client sends, again and again until stopped.
  async frameBombs () {
    const results = { huge: [], fragments: [], emptyFragments: [], compressed: [] }
    let counter = 0
    const bomb = async which => {
      const socket = await rawWebSocket(`/receive/bomb${++counter}`)
      if (which === 'huge') {
        socket.write(clientFrame({ declared: 2 ** 40 })) // declares 1 TiB
        socket.write(Buffer.alloc(1024, 0x61))
      } else if (which === 'compressed') {
        // RSV1 ("compressed") with a deflate stream; no extension was negotiated.
        socket.write(clientFrame({ rsv1: true, payload: Buffer.from([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]) }))
      } else if (which === 'emptyFragments') {
        // A text frame without FIN, then empty continuation frames without end (64 a write).
        socket.write(clientFrame({ opcode: 1, fin: false, payload: Buffer.from('{') }))
        const more = () => {
          if (socket.destroyed) return
          const burst = Buffer.concat(Array.from({ length: 64 }, () => clientFrame({ opcode: 0, fin: false })))
          socket.write(burst, () => setImmediate(more))
        }
        more()
      } else {
        // A text frame without FIN, then 1 KiB continuation frames without end.
        socket.write(clientFrame({ opcode: 1, fin: false, payload: Buffer.alloc(1024, 0x62) }))
        const more = () => {
          if (socket.destroyed) return
          socket.write(clientFrame({ opcode: 0, fin: false, payload: Buffer.alloc(1024, 0x62) }), () => setImmediate(more))
        }
        more()
      }
      const { ms, data } = await socket.ended
      results[which].push({ ms, code: serverCloseCode(data, socket.headerBytes) })
    }
    let first = true
    while (!stopped) {
      await Promise.all([bomb('huge'), bomb('fragments'), bomb('emptyFragments'), bomb('compressed')])
      if (first) { first = false; engaged() }
    }
    return results
  }
}

try {
  const result = await attacks[kind](params)
  await stopRequested
  process.send({ result }, () => process.exit(0))
} catch (error) {
  process.send({ error: error.stack ?? String(error) }, () => process.exit(1))
}
