// The web client's files as chatd serves them (docs/web-client.md, "How chatd serves it"):
// precompressed variants chosen by Accept-Encoding, Cache-Control and ETags, 304s, HEAD wherever
// GET works (static files, client routes and the API), the memory budget (--web-cache-bytes) at
// and past its edge, and the Content-Security-Policy. Local mode: the front is the same in every
// mode.
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib'

import { metrics, register, startChatd } from './lib/chatd.mjs'

const ORIGIN = 'http://client.example'
const APP = '/assets/app-3f9a1c.js'
const appSource = Array.from({ length: 400 }, (_, i) => `export function f${i} (x) { return x + ${i} }\n`).join('')
const indexHtml = '<!doctype html><html><head><title>chatd</title>' +
  `<script type="module" src="${APP}"></script></head><body><div id="app"></div></body></html>\n`.repeat(4)
const svg = `<svg xmlns="http://www.w3.org/2000/svg">${'<rect width="1" height="1"/>'.repeat(50)}</svg>`

// GET (or another method) with the body as bytes: no decoding, no keep-alive.
function fetchRaw (base, path, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, headers, agent: false, timeout: 10000 }, res => {
      const chunks = []
      res.on('data', c => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer`)))
    req.on('error', reject)
    req.end()
  })
}

// The bytes chatd writes for one request, until it closes: a HEAD answer must end at its headers.
function rawExchange (port, method, target, headers = '') {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks = []
    socket.setTimeout(5000, () => socket.destroy(new Error(`${method} ${target}: no answer in 5 s`)))
    socket.on('data', c => chunks.push(c))
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      const end = text.indexOf('\r\n\r\n')
      resolve({ head: text.slice(0, end), after: text.slice(end + 4) })
    })
    socket.on('error', reject)
    socket.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headers}\r\n`)
  })
}

const limitHits = (m, kind) => m.value(`chat_limit_hits_total{kind="${kind}"}`) ?? 0
const decoded = res => res.headers['content-encoding'] === 'br'
  ? brotliDecompressSync(res.body)
  : res.headers['content-encoding'] === 'gzip' ? gunzipSync(res.body) : res.body

describe('web client files', () => {
  let dir
  let webRoot
  let server
  let token

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chatd-static-'))
    webRoot = join(dir, 'web')
    mkdirSync(join(webRoot, 'assets'), { recursive: true })
    writeFileSync(join(webRoot, 'index.html'), indexHtml)
    writeFileSync(join(webRoot, 'index.html.br'), brotliCompressSync(indexHtml))
    writeFileSync(join(webRoot, 'index.html.gz'), gzipSync(indexHtml))
    writeFileSync(join(webRoot, APP.slice(1)), appSource)
    writeFileSync(join(webRoot, `${APP.slice(1)}.br`), brotliCompressSync(appSource))
    writeFileSync(join(webRoot, `${APP.slice(1)}.gz`), gzipSync(appSource))
    writeFileSync(join(webRoot, 'favicon.svg'), svg)
    writeFileSync(join(webRoot, 'favicon.svg.gz'), gzipSync(svg)) // gzip only
    writeFileSync(join(webRoot, 'assets', 'noise-77aa.bin'), randomBytes(2048)) // no variant
    writeFileSync(join(webRoot, 'ghost.js.br'), brotliCompressSync('ghost')) // no original
    server = await startChatd({ auth: 'password', args: ['--web-root', webRoot, '--cors-origins', ORIGIN] })
    const res = await register(server.base, 'alice', 'correct horse battery')
    assert.equal(res.status, 201, res.text)
    token = res.token
  })
  after(async () => {
    await server?.stop()
    server?.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it('picks brotli, then gzip, then identity, as Accept-Encoding allows; q=0 is honoured', async () => {
    const cases = [
      ['gzip, deflate, br, zstd', 'br'],
      ['br', 'br'],
      ['gzip', 'gzip'],
      ['gzip;q=1.0, br;q=0.1', 'br'], // any positive weight: the server's order decides
      ['br;q=0, gzip', 'gzip'],
      ['*', 'br'],
      ['*;q=0.5, br;q=0', 'gzip'],
      ['br;q=0, gzip;q=0', undefined],
      ['identity', undefined],
      ['', undefined],
      [null, undefined] // no header: identity
    ]
    const etags = new Map()
    for (const [accept, coding] of cases) {
      const res = await fetchRaw(server.base, APP, { headers: accept === null ? {} : { 'accept-encoding': accept } })
      assert.equal(res.status, 200, `${accept}`)
      assert.equal(res.headers['content-encoding'], coding, `Accept-Encoding: ${accept}`)
      assert.equal(res.headers.vary, 'Accept-Encoding')
      assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8')
      assert.equal(Number(res.headers['content-length']), res.body.length)
      assert.equal(decoded(res).toString(), appSource, `Accept-Encoding: ${accept}`)
      assert.match(res.headers.etag, /^"[A-Za-z0-9_-]+"$/)
      etags.set(coding ?? 'identity', res.headers.etag)
    }
    // One strong ETag per variant, the same for the same variant.
    assert.equal(new Set(etags.values()).size, 3)
    const br = await fetchRaw(server.base, APP, { headers: { 'accept-encoding': 'br' } })
    assert.ok(br.body.length < appSource.length / 4, 'the variant is what goes over the wire')
    // A file with only a gzip variant; a file with none; a variant without its original.
    const icon = await fetchRaw(server.base, '/favicon.svg', { headers: { 'accept-encoding': 'br, gzip' } })
    assert.equal(icon.headers['content-encoding'], 'gzip')
    assert.equal(decoded(icon).toString(), svg)
    const noise = await fetchRaw(server.base, '/assets/noise-77aa.bin', { headers: { 'accept-encoding': 'br, gzip' } })
    assert.equal(noise.status, 200)
    assert.equal(noise.headers['content-encoding'], undefined)
    assert.equal(noise.headers.vary, undefined, 'nothing to vary on')
    const ghost = await fetchRaw(server.base, '/ghost.js', { headers: { 'accept-encoding': 'br' } })
    assert.equal(ghost.status, 404)
    assert.doesNotMatch(ghost.body.toString('latin1'), /ghost/)
  })

  it('hashed assets are immutable for a year, the rest is revalidated; ETags answer 304', async () => {
    const asset = await fetchRaw(server.base, APP, { headers: { 'accept-encoding': 'br' } })
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable')
    for (const path of ['/', '/index.html', '/r/general', '/dm/bob', '/favicon.svg']) {
      const res = await fetchRaw(server.base, path, { headers: { 'accept-encoding': 'gzip' } })
      assert.equal(res.status, 200, path)
      assert.equal(res.headers['cache-control'], 'no-cache', path)
      assert.ok(res.headers.etag, path)
    }
    // The app shell of a client route is index.html, with index.html's ETag.
    const shell = await fetchRaw(server.base, '/r/general', { headers: { 'accept-encoding': 'br' } })
    const index = await fetchRaw(server.base, '/', { headers: { 'accept-encoding': 'br' } })
    assert.equal(shell.headers.etag, index.headers.etag)
    assert.equal(decoded(shell).toString(), indexHtml)
    // A last segment with a dot is a file, unless the path ends with a slash (/dm/<name.with.dot>/).
    assert.equal((await fetchRaw(server.base, '/dm/a.b')).status, 404)
    const dotted = await fetchRaw(server.base, '/dm/a.b/')
    assert.equal(dotted.status, 200)
    assert.equal(dotted.body.toString(), indexHtml)

    const etag = asset.headers.etag
    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, '*']) {
      const res = await fetchRaw(server.base, APP, { headers: { 'accept-encoding': 'br', 'if-none-match': ifNoneMatch } })
      assert.equal(res.status, 304, ifNoneMatch)
      assert.equal(res.body.length, 0)
      assert.equal(res.headers.etag, etag)
      assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable')
      assert.equal(res.headers.vary, 'Accept-Encoding')
      assert.equal(res.headers['content-length'], undefined, 'a 304 does not claim a length of 0')
    }
    // Another variant's tag, or a stale one, gets the full answer.
    for (const [accept, ifNoneMatch] of [['gzip', etag], ['br', '"stale"']]) {
      const res = await fetchRaw(server.base, APP, { headers: { 'accept-encoding': accept, 'if-none-match': ifNoneMatch } })
      assert.equal(res.status, 200, `${accept} ${ifNoneMatch}`)
      assert.equal(decoded(res).toString(), appSource)
    }
    const raw = await rawExchange(server.port, 'GET', APP, `Accept-Encoding: br\r\nIf-None-Match: ${etag}\r\n`)
    assert.match(raw.head, /^HTTP\/1\.1 304/)
    assert.equal(raw.after, '', '304 without a body')
  })

  it('a CORS answer varies on both Accept-Encoding and Origin', async () => {
    const res = await fetchRaw(server.base, APP, { headers: { 'accept-encoding': 'br', origin: ORIGIN } })
    assert.equal(res.headers['access-control-allow-origin'], ORIGIN)
    assert.equal(res.headers.vary, 'Accept-Encoding, Origin')
  })

  it('a file replaced on disk (a new build) is served new, with a new ETag', async () => {
    const before = await fetchRaw(server.base, '/favicon.svg')
    const next = svg.replace('width="1"', 'width="2"')
    writeFileSync(join(webRoot, 'favicon.svg'), next)
    const { mtime } = statSync(join(webRoot, 'favicon.svg'))
    const later = new Date(mtime.getTime() + 2000)
    utimesSync(join(webRoot, 'favicon.svg'), later, later)
    const after = await fetchRaw(server.base, '/favicon.svg', { headers: { 'accept-encoding': 'gzip' } })
    assert.equal(after.body.toString(), next)
    assert.equal(after.headers['content-encoding'], undefined, 'the old .gz is older than the file: not used')
    assert.notEqual(after.headers.etag, before.headers.etag)
    writeFileSync(join(webRoot, 'favicon.svg'), svg)
  })

  it('HEAD answers like GET, without a body, on files, client routes and every GET API route', async () => {
    const auth = { authorization: `Bearer ${token}` }
    const targets = [
      ['/', { 'accept-encoding': 'br' }],
      ['/r/general', {}],
      ['/dm/bob', { 'accept-encoding': 'gzip' }],
      [APP, { 'accept-encoding': 'br' }],
      ['/favicon.svg', {}],
      ['/healthz', {}],
      ['/readyz', {}],
      ['/users/', {}],
      ['/api/config', {}],
      ['/api/me', auth],
      ['/api/me', {}], // 401 for both
      ['/api/rooms', auth],
      ['/api/rooms/general/messages?limit=5', auth],
      ['/api/rooms/nowhere/messages', auth], // an error for both
      ['/api/users/online', auth],
      ['/api/nothing', {}] // 404 for both
    ]
    const compared = ['content-type', 'content-length', 'content-encoding', 'etag', 'cache-control', 'vary',
      'content-security-policy', 'x-content-type-options']
    for (const [path, headers] of targets) {
      const get = await fetchRaw(server.base, path, { headers })
      const head = await fetchRaw(server.base, path, { method: 'HEAD', headers })
      assert.equal(head.status, get.status, `HEAD ${path}`)
      for (const name of compared) assert.equal(head.headers[name], get.headers[name], `HEAD ${path}: ${name}`)
      assert.equal(Number(head.headers['content-length']), get.body.length, `HEAD ${path}: the GET's length`)
      const header = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
      const raw = await rawExchange(server.port, 'HEAD', path, header)
      assert.match(raw.head, new RegExp(`^HTTP/1\\.1 ${get.status}`), `raw HEAD ${path}`)
      assert.equal(raw.after, '', `HEAD ${path}: no body`)
    }
    // /metrics changes between two calls: the status and type only.
    const m = await fetchRaw(server.base, '/metrics', { method: 'HEAD' })
    assert.equal(m.status, 200)
    assert.match(m.headers['content-type'], /^text\/plain/)
    assert.ok(Number(m.headers['content-length']) > 1000)
    // HEAD is GET's: a POST-only route refuses it like any other unrouted method.
    for (const path of ['/api/login', '/send/', '/api/logout']) {
      const res = await fetchRaw(server.base, path, { method: 'HEAD' })
      assert.equal(res.status, 405, `HEAD ${path}`)
    }
  })

  it('the web client\'s policy allows no inline script', async () => {
    for (const path of ['/', APP, '/r/general']) {
      const csp = (await fetchRaw(server.base, path)).headers['content-security-policy']
      const scriptSrc = /(?:^|;)\s*script-src ([^;]*)/.exec(csp)?.[1]
      assert.equal(scriptSrc, "'self'", `${path}: ${csp}`)
      assert.match(csp, /default-src 'self'/)
      assert.match(csp, /object-src 'none'/)
      assert.match(csp, /base-uri 'none'/)
      assert.match(csp, /frame-ancestors 'none'/)
    }
  })
})

describe('web client files: the memory budget (--web-cache-bytes)', () => {
  let dir
  let server

  after(async () => {
    await server?.stop()
    server?.cleanup()
    rmSync(dir, { recursive: true, force: true })
  })

  it('holds files up to the budget; past it a file is read from disk for each request, counted', async () => {
    dir = mkdtempSync(join(tmpdir(), 'chatd-static-budget-'))
    const webRoot = join(dir, 'web')
    mkdirSync(webRoot)
    writeFileSync(join(webRoot, 'index.html'), indexHtml)
    writeFileSync(join(webRoot, 'index.html.gz'), gzipSync(indexHtml))
    writeFileSync(join(webRoot, 'app.js'), appSource)
    writeFileSync(join(webRoot, 'one.txt'), 'x') // one byte
    const indexBytes = Buffer.byteLength(indexHtml) + gzipSync(indexHtml).length
    // At the edge: index.html and its variant fill the budget exactly.
    server = await startChatd({ auth: 'password', args: ['--web-root', webRoot, '--web-cache-bytes', String(indexBytes)] })
    const m0 = await metrics(server.base)
    assert.equal(m0.value('chat_web_cache_bytes'), 0)
    const index = await fetchRaw(server.base, '/', { headers: { 'accept-encoding': 'gzip' } })
    assert.equal(gunzipSync(index.body).toString(), indexHtml)
    const m1 = await metrics(server.base)
    assert.equal(m1.value('chat_web_cache_bytes'), indexBytes)
    assert.equal(limitHits(m1, 'web_cache'), limitHits(m0, 'web_cache'))
    // Past it, by one byte and by a whole file: served all the same, counted each time.
    for (const path of ['/one.txt', '/app.js', '/app.js']) {
      const res = await fetchRaw(server.base, path)
      assert.equal(res.status, 200, path)
      assert.ok(res.headers.etag, path)
    }
    const m2 = await metrics(server.base)
    assert.equal(limitHits(m2, 'web_cache') - limitHits(m1, 'web_cache'), 3)
    assert.equal(m2.value('chat_web_cache_bytes'), indexBytes)
    assert.equal((await fetchRaw(server.base, '/app.js')).body.toString(), appSource)
  })
})

describe('the built-in page (no --web-root)', () => {
  let server
  after(async () => {
    await server?.stop()
    server?.cleanup()
  })

  it('its policy names its one inline script and one inline style by hash, nothing else inline', async () => {
    server = await startChatd({ auth: 'open' })
    for (const method of ['GET', 'HEAD']) {
      const res = await fetchRaw(server.base, '/', { method })
      assert.equal(res.status, 200)
      assert.equal(res.headers['cache-control'], 'no-cache')
    }
    const res = await fetchRaw(server.base, '/')
    const page = res.body.toString()
    const csp = res.headers['content-security-policy']
    assert.doesNotMatch(csp, /unsafe-inline/)
    const hash = (open, close) => {
      const start = page.indexOf(open) + open.length
      return `'sha256-${createHash('sha256').update(page.slice(start, page.indexOf(close, start))).digest('base64')}'`
    }
    assert.match(csp, new RegExp(`script-src ${hash('<script>', '</script>').replace(/[+/]/g, '\\$&')}(;|$)`))
    assert.match(csp, new RegExp(`style-src ${hash('<style>', '</style>').replace(/[+/]/g, '\\$&')}(;|$)`))
    assert.equal(page.split('<script').length, 2, 'one inline script')
  })
})
