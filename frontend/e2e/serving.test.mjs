// The web client served like a product, in Debian's Chromium against a real chatd: the build's
// precompressed copies, what a cold and a warm load fetch, and a strict Content-Security-Policy
// that nothing the client does trips (signing in, sending, reacting with the emoji picker open,
// opening a thread). Every wait is on a selector or an event, bounded.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'
import { after, before, describe, it } from 'node:test'
import { FRONTEND } from './support/chatd.mjs'
import { DESKTOP, TIMEOUT, cspDirective, signUp, startSuite, watchCsp } from './support/ui.mjs'

const DIST = path.join(FRONTEND, 'dist')
const COMPRESSIBLE = /\.(html|js|css|json|svg)$/

/** @type {Awaited<ReturnType<typeof startSuite>>['server']} */
let server
/** @type {import('playwright-core').Browser} */
let browser

before(async () => {
  ;({ server, browser } = await startSuite())
})

after(async () => {
  await browser?.close()
  await server?.close()
})

/** chatd's count of its static-file answers with this status. */
async function staticAnswers(status) {
  const text = await (await fetch(server.url + '/metrics')).text()
  let total = 0
  for (const line of text.split('\n')) {
    if (!line.startsWith('chat_http_responses_total{')) continue
    if (line.includes('route="(static)"') && line.includes(`code="${status}"`)) {
      total += Number(line.split(' ').at(-1))
    }
  }
  return total
}

describe('the build', () => {
  it('writes a .br and a .gz beside every compressible file that they make smaller', () => {
    const files = fs
      .readdirSync(DIST, { recursive: true, encoding: 'utf8' })
      .filter((name) => COMPRESSIBLE.test(name))
    assert.ok(files.includes('index.html'))
    assert.ok(files.some((name) => name.startsWith('assets/') && name.endsWith('.js')))
    const codings = [
      ['.br', zlib.brotliDecompressSync, zlib.brotliCompressSync],
      ['.gz', zlib.gunzipSync, zlib.gzipSync],
    ]
    for (const name of files) {
      const source = fs.readFileSync(path.join(DIST, name))
      for (const [suffix, decode, encode] of codings) {
        const copy = path.join(DIST, name + suffix)
        if (fs.existsSync(copy)) {
          const bytes = fs.readFileSync(copy)
          assert.ok(decode(bytes).equals(source), `${name}${suffix} decodes to ${name}`)
          assert.ok(bytes.length < source.length, `${name}${suffix} is smaller`)
        } else {
          assert.ok(encode(source).length >= source.length, `${name}${suffix} is missing`)
        }
      }
    }
  })
})

describe('served to Chromium', () => {
  it('sends brotli cold, and a warm reload fetches nothing but a 304 for the page', async () => {
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' })
    context.setDefaultTimeout(TIMEOUT)
    const page = await context.newPage()
    /** @type {import('playwright-core').Response[]} */
    const responses = []
    page.on('response', (response) => responses.push(response))
    const document = await page.goto(server.url + '/login')
    await page.getByTestId('login-name').waitFor()
    assert.equal(document?.headers()['cache-control'], 'no-cache')
    assert.match(document?.headers().etag ?? '', /^"[\w-]+"$/)
    const script = responses.find((r) => /\/assets\/index-[\w-]+\.js$/.test(r.url()))
    assert.ok(script, 'the entry script was fetched')
    const headers = await script.allHeaders()
    assert.equal(headers['content-encoding'], 'br')
    assert.equal(headers['cache-control'], 'public, max-age=31536000, immutable')
    assert.equal(headers.vary, 'Accept-Encoding')

    const fullAnswers = await staticAnswers(200)
    const notModified = await staticAnswers(304)
    await page.reload()
    await page.getByTestId('login-name').waitFor()
    assert.equal(await staticAnswers(200), fullAnswers, 'no file sent again')
    assert.ok((await staticAnswers(304)) > notModified, 'the page was revalidated by its ETag')
    await context.close()
  })

  it('the policy allows no inline script, and nothing the client does trips it', async () => {
    const context = await browser.newContext({
      viewport: DESKTOP,
      locale: 'en-US',
      reducedMotion: 'reduce',
    })
    context.setDefaultTimeout(TIMEOUT)
    const page = await context.newPage()
    const refusals = []
    const errors = []
    page.on('pageerror', (error) => errors.push(String(error)))
    await watchCsp(page, refusals)

    const document = await page.goto(server.url + '/')
    const policy = (await document?.allHeaders())?.['content-security-policy']
    assert.deepEqual(cspDirective(policy, 'script-src'), ["'self'"], policy)
    assert.deepEqual(cspDirective(policy, 'object-src'), ["'none'"], policy)

    // sign in (a new account), then send
    await signUp(page, server.url, 'csp-user')
    await page.getByTestId('composer-input').fill('under a strict policy')
    await page.getByTestId('composer-input').press('Enter')
    const sent = page
      .locator('[data-testid="message"][data-status="sent"]')
      .filter({ hasText: 'under a strict policy' })
      .last()
    await sent.waitFor()
    // By id: the reply below quotes this text too.
    const id = await sent.getAttribute('data-id')
    const row = page.getByTestId('messages').locator(`[data-testid="message"][data-id="${id}"]`)

    // react from the emoji picker (a web component with its own styles and data)
    await row.hover()
    await row.getByTestId('action-react').click()
    const picker = row.getByTestId('emoji-picker')
    await picker.locator('#search').fill('rocket')
    await picker
      .getByRole('option', { name: /rocket/ })
      .first()
      .click()
    await row.locator('[data-testid="reaction"][data-emoji="🚀"]').waitFor()

    // reply, then open the thread
    await row.hover()
    await row.getByTestId('action-reply').click()
    await page.getByTestId('replying-to').waitFor()
    await page.getByTestId('composer-input').fill('a reply in the thread')
    await page.getByTestId('composer-input').press('Enter')
    const summary = row.getByTestId('thread-summary').filter({ hasText: /^1 reply/ })
    await summary.waitFor()
    await summary.click()
    const panel = page.getByTestId('thread-panel')
    await panel.getByTestId('thread-messages').getByText('a reply in the thread').waitFor()

    assert.deepEqual(refusals, [])
    assert.deepEqual(errors, [])
    await context.close()
  })
})
