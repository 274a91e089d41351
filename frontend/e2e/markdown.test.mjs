// End-to-end: markdown in messages and the XSS corpus (fixtures/xssCorpus.mjs), sent as real
// messages through a real chatd and rendered by the built client in Debian's Chromium, live
// (a desktop reader) and from history (a phone reader who signs in afterwards). Nothing may
// execute, load from elsewhere or render outside the markdown renderer's own elements.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  DESKTOP,
  PHONE,
  TIMEOUT,
  shot,
  signUp as signUpAt,
  startSuite,
  tokenOf,
} from './support/ui.mjs'
import {
  LINK_REL,
  XSS_CORPUS,
  XSS_FLAG,
  auditElements,
  listElements,
} from './fixtures/xssCorpus.mjs'

/** @type {Awaited<ReturnType<typeof startSuite>>['server']} */
let server
/** @type {import('playwright-core').Browser} */
let browser
/**
 * What each user's tab did that it must not: dialogs, page errors, requests to another
 * origin, Content-Security-Policy refusals (something tried to load or run).
 * @type {Record<string, { page: import('playwright-core').Page, dialogs: string[], errors: string[], foreign: string[], csp: string[] }>}
 */
const users = {}

async function newUser(name, viewport) {
  const context = await browser.newContext({ viewport, locale: 'en-US', reducedMotion: 'reduce' })
  context.setDefaultTimeout(TIMEOUT)
  const page = await context.newPage()
  const user = { page, dialogs: [], errors: [], foreign: [], csp: [] }
  page.on('dialog', (dialog) => {
    user.dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  page.on('pageerror', (error) => user.errors.push(String(error)))
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) user.csp.push(message.text())
  })
  context.on('request', (request) => {
    const url = new URL(request.url())
    if (url.origin !== server.url && url.protocol !== 'data:') user.foreign.push(request.url())
  })
  users[name] = user
  return user
}

function signUp(page, name) {
  return signUpAt(page, server.url, name)
}

/**
 * Sends each content as a message of `general` over the page's own WebSocket (exactly as
 * typed, outside the composer) and returns the stored ids, in order.
 */
async function sendRaw(page, contents) {
  const token = await tokenOf(page)
  return page.evaluate(
    async ({ token, contents }) => {
      const ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`)
      const ids = await new Promise((resolve, reject) => {
        const acked = new Map()
        ws.onerror = () => reject(new Error('socket error'))
        ws.onmessage = (event) => {
          const frame = JSON.parse(event.data)
          if (frame.type === 'welcome') {
            contents.forEach((content, i) =>
              ws.send(
                JSON.stringify({ type: 'send', room: 'general', content, client_msg_id: `x-${i}` }),
              ),
            )
          } else if (frame.type === 'ack') {
            acked.set(frame.client_msg_id, frame.id)
            if (acked.size === contents.length) {
              resolve(contents.map((_, i) => acked.get(`x-${i}`)))
            }
          } else if (frame.type === 'error') {
            reject(new Error(`${frame.client_msg_id}: ${frame.code} ${frame.message}`))
          }
        }
      })
      ws.close()
      return ids
    },
    { token, contents },
  )
}

function message(page, id) {
  return page.locator(`[data-testid="message"][data-id="${id}"]`)
}

/** Everything the corpus must not have done in this tab. */
async function assertNothingRan(name) {
  const { page, dialogs, errors, foreign, csp } = users[name]
  assert.deepEqual(dialogs, [], `${name}: no dialog`)
  assert.deepEqual(errors, [], `${name}: no page error`)
  assert.deepEqual(foreign, [], `${name}: no request to another origin`)
  assert.deepEqual(csp, [], `${name}: nothing refused by the CSP`)
  assert.equal(await page.evaluate((flag) => flag in window, XSS_FLAG), false, `${name}: flag`)
  const injected = await page.evaluate(() => ({
    frames: document.querySelectorAll('iframe, frame, object, embed').length,
    base: document.querySelectorAll('base, meta[http-equiv]').length,
    inlineScripts: Array.from(document.scripts).filter((s) => !s.src).length,
    foreign: Array.from(document.querySelectorAll('[src], link[href]'))
      .map((el) => el.getAttribute('src') ?? el.getAttribute('href'))
      .filter((url) => new URL(url, location.href).origin !== location.origin),
    inMessages: Array.from(
      document.querySelectorAll(
        // What content renders into: message texts and reply quotes (the message's own
        // controls, icons included, are the app's).
        ':is([data-testid="message-text"], [data-testid="reply-quote"]) :is(img, svg, math, video, audio, script, style, iframe, form, input)',
      ),
      (el) => el.tagName,
    ),
  }))
  assert.deepEqual(injected, { frames: 0, base: 0, inlineScripts: 0, foreign: [], inMessages: [] })
  const elements = await page
    .getByTestId('messages')
    .evaluate(listElements, '[data-testid="message-text"] *')
  assert.deepEqual(auditElements(elements), [], `${name}: only the renderer's elements`)
}

before(async () => {
  ;({ server, browser } = await startSuite())
})

after(async () => {
  await browser?.close()
  await server?.close()
})

describe('markdown in messages', () => {
  it('renders markdown typed in the composer for the sender and a reader', async () => {
    const alice = await newUser('alice', DESKTOP)
    const bob = await newUser('bob', DESKTOP)
    await signUp(alice.page, 'alice')
    await signUp(bob.page, 'bob')
    const longLine = `const line = "${'x'.repeat(400)}"`
    const text = [
      '**bold** *italic* ~~struck~~ `inline code` and https://example.com/docs',
      '```js',
      longLine,
      '```',
      '> a quote',
      '',
      '1. first',
      '2. second',
      '   - nested',
      '',
      '[a link](https://example.com/a) ![a picture](https://example.com/p.png) # not a title',
    ].join('\n')
    const input = alice.page.getByTestId('composer-input')
    await input.fill(text)
    await input.press('Enter')
    for (const { page } of [alice, bob]) {
      const rendered = page.getByTestId('message-text').last()
      await rendered.locator('pre code').waitFor()
      assert.equal(await rendered.locator('strong').innerText(), 'bold')
      assert.equal(await rendered.locator('em').innerText(), 'italic')
      assert.equal(await rendered.locator('s').innerText(), 'struck')
      assert.equal(await rendered.locator('p code').innerText(), 'inline code')
      assert.equal(await rendered.locator('pre code').innerText(), longLine)
      assert.equal(await rendered.locator('blockquote').innerText(), 'a quote')
      assert.deepEqual(await rendered.locator('ol > li').allInnerTexts(), [
        'first',
        'second\nnested',
      ])
      assert.equal(await rendered.locator('ol ul > li').innerText(), 'nested')
      // The long code line scrolls inside its block instead of widening the page.
      const scroll = await rendered.locator('pre').evaluate((pre) => ({
        scrolls: pre.scrollWidth > pre.clientWidth,
        overflowX: getComputedStyle(pre).overflowX,
        fontFamily: getComputedStyle(pre).fontFamily,
        pageWidth: document.documentElement.scrollWidth,
      }))
      assert.equal(scroll.scrolls, true)
      assert.equal(scroll.overflowX, 'auto')
      assert.match(scroll.fontFamily, /mono/i)
      assert.ok(scroll.pageWidth <= DESKTOP.width, `page is ${scroll.pageWidth}px wide`)
      const hrefs = await rendered
        .locator('a')
        .evaluateAll((links) => links.map((a) => [a.textContent, a.href, a.target, a.rel]))
      assert.deepEqual(hrefs, [
        ['https://example.com/docs', 'https://example.com/docs', '_blank', LINK_REL],
        ['a link', 'https://example.com/a', '_blank', LINK_REL],
        ['a picture', 'https://example.com/p.png', '_blank', LINK_REL],
      ])
      assert.equal(await rendered.locator('img').count(), 0)
      assert.match(await rendered.innerText(), /# not a title$/)
    }
    await shot(users.bob.page, 'desktop-markdown')
  })

  it(`renders ${XSS_CORPUS.length} hostile messages live and from history, running nothing`, async () => {
    const { page: a } = users.alice
    const { page: b } = users.bob
    const ids = await sendRaw(
      a,
      XSS_CORPUS.map((payload) => payload.content),
    )
    assert.equal(ids.length, XSS_CORPUS.length)
    // Live: Alice (the sender) and Bob get every message over their sockets.
    for (const id of ids) {
      await message(a, id).waitFor({ state: 'attached' })
      await message(b, id).waitFor({ state: 'attached' })
    }
    // From history: Carol, on a phone, signs up afterwards and reads the room's latest page.
    const carol = await newUser('carol', PHONE)
    await signUp(carol.page, 'carol')
    for (const id of ids) await message(carol.page, id).waitFor({ state: 'attached' })

    for (const name of ['alice', 'bob', 'carol']) await assertNothingRan(name)

    // Long lines and deep nesting wrap or scroll inside their message: the phone's page does
    // not grow sideways.
    const width = await carol.page.evaluate(() => document.documentElement.scrollWidth)
    assert.ok(width <= PHONE.width, `the phone page is ${width}px wide`)

    // What a reader does next: scroll through, point at and click the messages (an
    // onmouseover, onfocus or onclick a payload slipped in would fire now). Links are
    // not clicked: their scheme is checked above, and a click would open a new tab.
    for (const { page } of [users.bob, carol]) {
      await page.getByTestId('message-scroller').evaluate((el) => el.scrollTo(0, 0))
      await page.getByTestId('message-scroller').evaluate((el) => el.scrollTo(0, el.scrollHeight))
      await page.getByTestId('messages').evaluate((list) => {
        for (const el of list.querySelectorAll('[data-testid="message-text"] *')) {
          for (const type of ['mouseover', 'mouseenter', 'mousemove', 'focus', 'focusin']) {
            el.dispatchEvent(new MouseEvent(type, { bubbles: true }))
          }
          if (!el.closest('a')) el.dispatchEvent(new MouseEvent('click', { bubbles: true }))
        }
      })
    }
    for (let i = 0; i < 20; i++) await b.keyboard.press('Tab')
    for (const name of ['alice', 'bob', 'carol']) await assertNothingRan(name)
    await shot(carol.page, 'phone-xss')
    await shot(b, 'desktop-xss')
  })
})
