// backend/deploy/nginx/chatd.conf, the compose proxy, run for real: Debian's nginx with that file
// (only the upstream addresses, the listen port and the web root moved to local ones) in front of
// two chatd nodes (CHATD_BIN, embedded). Checks the web client, the HTTP API and the brief's
// WebSocket through the proxy, cookie affinity, and failover when a node stops.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { http, metrics, startChatd, waitFor, WebSocket } from '../integration/lib/chatd.mjs'
import { repoRoot } from './lib/dashboards.mjs'
import { freePort, removeDir, startNginx } from './lib/services.mjs'

const work = mkdtempSync(join(tmpdir(), 'chatd-proxy-'))
chmodSync(work, 0o755) // nginx workers run as nobody and read the web root
const state = { nodes: [] }

// Replaces `from` by `to` exactly `count` times, or fails: the test must notice when the config
// it adapts changes shape.
function replaceExactly (text, from, to, count = 1) {
  const n = text.split(from).length - 1
  assert.equal(n, count, `expected ${count} x "${from}" in chatd.conf, found ${n}`)
  return text.split(from).join(to)
}

before(async () => {
  state.nodes = [await startChatd({ args: ['--node-id', 'px-1'] }), await startChatd({ args: ['--node-id', 'px-2'] })]
  const web = join(work, 'html')
  mkdirSync(join(web, 'assets'), { recursive: true })
  writeFileSync(join(web, 'index.html'), '<!doctype html><title>chatd web client</title>')
  writeFileSync(join(web, 'assets', 'app-1234.js'), 'console.log("app")')
  writeFileSync(join(web, 'assets', 'app-1234.js.gz'), gzipSync('console.log("app")'))
  const port = await freePort(24000, 25000)
  let conf = readFileSync(join(repoRoot, 'backend/deploy/nginx/chatd.conf'), 'utf8')
  conf = replaceExactly(conf, 'server chatd-1:8080', `server 127.0.0.1:${state.nodes[0].port}`)
  conf = replaceExactly(conf, 'server chatd-2:8080', `server 127.0.0.1:${state.nodes[1].port}`)
  conf = replaceExactly(conf, 'listen 8080;', `listen 127.0.0.1:${port};`)
  conf = replaceExactly(conf, 'listen [::]:8080;', '')
  conf = replaceExactly(conf, 'root /usr/share/nginx/html;', `root ${web};`)
  state.nginx = await startNginx(join(work, 'nginx'), conf, port)
})

after(async () => {
  if (state.nginx) await state.nginx.stop()
  await Promise.allSettled(state.nodes.map(n => n.stop()))
  for (const n of state.nodes) n.cleanup()
  removeDir(work)
})

const cookieOf = res => /chatd_node=([^;]+)/.exec([].concat(res.headers['set-cookie'] ?? []).join(';'))?.[1]

// Responses counted by each node for `route` (from the nodes' own /metrics).
async function perNode (route) {
  const out = []
  for (const node of state.nodes) {
    if (!node.running) { out.push(0); continue }
    let n = 0
    for (const [series, value] of (await metrics(node.base)).series) {
      if (series.startsWith('chat_http_responses_total{') && series.includes(`route="${route}"`)) n += value
    }
    out.push(n)
  }
  return out
}

test('serves the web client with an affinity cookie, SPA fallback and immutable assets', async () => {
  const index = await http(state.nginx.base, 'GET', '/')
  assert.equal(index.status, 200)
  assert.match(index.text, /chatd web client/)
  assert.match(cookieOf(index) ?? '', /^[0-9a-f]{32}$/, 'chatd_node cookie set on the first response')
  const deep = await http(state.nginx.base, 'GET', '/rooms/general')
  assert.equal(deep.status, 200)
  assert.match(deep.text, /chatd web client/)
  const asset = await http(state.nginx.base, 'GET', '/assets/app-1234.js')
  assert.equal(asset.status, 200)
  assert.match(asset.headers['cache-control'], /immutable/)
  assert.equal((await http(state.nginx.base, 'GET', '/assets/missing.js')).status, 404)
  const again = await http(state.nginx.base, 'GET', '/', undefined, undefined, { headers: { cookie: 'chatd_node=abc' } })
  assert.equal(cookieOf(again), undefined, 'no new cookie when the browser has one')
})

test('proxies the API; node metrics are not exposed through the proxy', async () => {
  const users = await http(state.nginx.base, 'GET', '/users/')
  assert.equal(users.status, 200)
  assert.ok(Array.isArray(users.json.users))
  const config = await http(state.nginx.base, 'GET', '/api/config')
  assert.equal(config.status, 200)
  assert.equal(config.json.auth, 'open')
  const m = await http(state.nginx.base, 'GET', '/metrics')
  assert.doesNotMatch(m.text, /chat_build_info/)
})

test('security headers: on the web client, the API, chatd\'s errors and nginx\'s own answers, each once', async () => {
  const common = res => {
    const what = `${res.path}: ${res.status}`
    assert.equal(res.headers['x-content-type-options'], 'nosniff', what)
    assert.equal(res.headers['x-frame-options'], 'DENY', what)
    assert.equal(res.headers['referrer-policy'], 'no-referrer', what)
    assert.match(res.headers['content-security-policy'] ?? '', /frame-ancestors 'none'/, what)
    assert.ok(!/,/.test(res.headers['content-security-policy']), `${what}: one policy, not two`)
  }
  const get = async path => ({ path, ...await http(state.nginx.base, 'GET', path) })
  // The web client: its policy (scripts and sockets from this origin only), cacheable assets.
  for (const path of ['/', '/rooms/general', '/assets/app-1234.js']) {
    const res = await get(path)
    assert.equal(res.status, 200, path)
    common(res)
    assert.match(res.headers['content-security-policy'], /default-src 'self'/, path)
    assert.match(res.headers['content-security-policy'], /connect-src 'self' ws: wss:/, path)
  }
  assert.match(cookieOf(await get('/')) ?? '', /^[0-9a-f]{32}$/, 'the affinity cookie is still set beside the headers')
  assert.match((await get('/assets/app-1234.js')).headers['cache-control'], /immutable/)
  assert.match((await get('/')).headers['cache-control'], /^no-cache$/)
  for (const path of ['/', '/assets/app-1234.js']) {
    assert.doesNotMatch((await get(path)).headers['content-security-policy'], /script-src[^;]*'unsafe-inline'/, path)
  }
  // The build's .gz copy goes out as is to a client that accepts gzip.
  const gz = await http(state.nginx.base, 'GET', '/assets/app-1234.js', undefined, undefined, { headers: { 'accept-encoding': 'gzip' } })
  assert.equal(gz.headers['content-encoding'], 'gzip')
  assert.match(gz.headers.vary ?? '', /Accept-Encoding/)
  // The API through the proxy (chatd's answers, success and error) and nginx's own 404.
  for (const [path, status] of [['/api/config', 200], ['/users/', 200], ['/api/me', 401], ['/api/nope', 404], ['/assets/missing.js', 404]]) {
    const res = await get(path)
    assert.equal(res.status, status, `${path}: ${res.text}`)
    common(res)
    if (path.startsWith('/api') || path.startsWith('/users')) {
      assert.equal(res.headers['cache-control'], 'no-store', path)
      assert.match(res.headers['content-security-policy'], /default-src 'none'/, path)
    }
  }
  // Plain HTTP here: HSTS belongs to the server block that terminates TLS, not this one.
  assert.equal((await get('/api/config')).headers['strict-transport-security'], undefined)
})

test('the brief\'s WebSocket works through the proxy, and a browser stays on one node', async () => {
  const cookie = 'chatd_node=0123456789abcdef0123456789abcdef'
  const before = await perNode('/users')
  for (let i = 0; i < 10; i++) {
    assert.equal((await http(state.nginx.base, 'GET', '/users/', undefined, undefined, { headers: { cookie } })).status, 200)
  }
  const delta = (await perNode('/users')).map((n, i) => n - before[i])
  assert.deepEqual(delta.slice().sort((a, b) => a - b), [0, 10], `all 10 on one node, got ${delta}`)

  const ws = new WebSocket(`${state.nginx.base.replace('http', 'ws')}/receive/alice`, { headers: { cookie } })
  const got = []
  ws.on('message', d => got.push(JSON.parse(String(d))))
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject) })
  const sent = await http(state.nginx.base, 'POST', '/send/', { content: 'through nginx', user_name: 'carol' }, undefined, { headers: { cookie } })
  assert.equal(sent.status, 200, sent.text)
  await waitFor(() => got.some(m => m.content === 'through nginx'), { what: 'the message on the proxied WebSocket' })
  assert.deepEqual(Object.keys(got.find(m => m.content === 'through nginx')).sort(), ['content', 'sent_at', 'user_name'])
  ws.close()
})

test('the web client\'s session cookie and its Origin checks pass through the proxy', async () => {
  const node = 'chatd_node=0123456789abcdef0123456789abcdef'
  const origin = new URL(state.nginx.base).origin
  const signIn = await http(state.nginx.base, 'POST', '/api/login', { user_name: 'dora' }, undefined, { headers: { cookie: node } })
  assert.equal(signIn.status, 200, signIn.text)
  const session = [].concat(signIn.headers['set-cookie'] ?? []).find(c => c.startsWith('chatd_session='))
  assert.match(session ?? '', /HttpOnly; SameSite=Strict/, 'chatd\'s cookie reaches the browser')
  const cookie = `${node}; ${session.split(';')[0]}`
  const csrf = signIn.headers['x-csrf-token']
  const created = await http(state.nginx.base, 'POST', '/api/rooms', { name: 'via-proxy' }, undefined,
    { headers: { cookie, origin, 'x-csrf-token': csrf } })
  assert.equal(created.status, 201, `Origin ${origin} against the Host nginx passes: ${created.text}`)
  const ws = new WebSocket(`${state.nginx.base.replace('http', 'ws')}/ws`, { headers: { cookie, origin } })
  const welcome = await new Promise((resolve, reject) => {
    ws.once('message', d => resolve(JSON.parse(String(d))))
    ws.once('error', reject)
  })
  assert.equal(welcome.type, 'welcome')
  ws.close()
  const refused = new WebSocket(`${state.nginx.base.replace('http', 'ws')}/ws`, { headers: { cookie, origin: 'https://evil.example' } })
  const status = await new Promise(resolve => {
    refused.once('unexpected-response', (req, res) => { resolve(res.statusCode); req.destroy() })
    refused.once('open', () => resolve(101))
    refused.once('error', () => {})
  })
  assert.equal(status, 403)
})

test('clients without the cookie are spread over both nodes', async () => {
  const before = await perNode('/users')
  for (let i = 0; i < 30; i++) assert.equal((await http(state.nginx.base, 'GET', '/users/')).status, 200)
  const delta = (await perNode('/users')).map((n, i) => n - before[i])
  assert.ok(delta.every(n => n > 0), `both nodes served some of 30 requests: ${delta}`)
})

test('when a node stops, its users are served by the other one', async () => {
  await state.nodes[0].stop()
  for (let i = 0; i < 10; i++) {
    const cookie = `chatd_node=${i}f${'0'.repeat(30)}`
    const res = await http(state.nginx.base, 'GET', '/users/', undefined, undefined, { headers: { cookie } })
    assert.equal(res.status, 200, `request ${i} with ${cookie}: ${res.status} ${res.text}`)
  }
})
