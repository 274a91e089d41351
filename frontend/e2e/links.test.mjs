// End-to-end: every room, direct conversation and message has a URL. Reload, back and forward, a
// new tab, a shared link and signing in on the way all land in the right place; "Copy link" on
// desktop and phone; links that cannot be followed say why. Debian's Chromium against a real
// chatd; every wait is on a selector, a URL or an event, bounded.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { apiClient } from './support/chatd.mjs'
import {
  DESKTOP,
  PASSWORD,
  PHONE,
  TIMEOUT,
  sendFrames,
  shot,
  signUp,
  startSuite,
  tokenOf,
  waitOnline,
  watchCsp,
} from './support/ui.mjs'

/** @type {Awaited<ReturnType<typeof startSuite>>['server']} */
let server
/** @type {import('playwright-core').Browser} */
let browser
/** @type {{ page: import('playwright-core').Page, errors: string[] }[]} */
const pages = []
/** @type {Record<string, { context: import('playwright-core').BrowserContext, page: import('playwright-core').Page }>} */
const users = {}
/** Ids of seeded messages in #design: the linked one, far back, and the newest. */
let linkedId = 0
let newestId = 0

/** Records the page's errors and Content-Security-Policy refusals (none may happen). */
async function watch(page) {
  const errors = []
  page.on('dialog', (dialog) => void dialog.dismiss())
  page.on('pageerror', (error) => errors.push(String(error)))
  await watchCsp(page, errors)
  pages.push({ page, errors })
  return page
}

async function newContext(viewport = DESKTOP) {
  const context = await browser.newContext({
    viewport,
    locale: 'en-US',
    reducedMotion: 'reduce',
    hasTouch: viewport === PHONE,
    isMobile: viewport === PHONE,
  })
  context.setDefaultTimeout(TIMEOUT)
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })
  return context
}

async function newUser(name, viewport = DESKTOP) {
  const context = await newContext(viewport)
  const page = await watch(await context.newPage())
  await signUp(page, server.url, name)
  users[name] = { context, page }
  return users[name]
}

/** Fills the sign-in form the page shows and waits until connected. */
async function signIn(page, name) {
  await page.getByTestId('login-name').fill(name)
  await page.getByTestId('login-password').fill(PASSWORD)
  await page.getByTestId('login-submit').click()
  await waitOnline(page)
}

function title(page, text) {
  return page.locator('[data-testid="room-title"]', { hasText: text }).waitFor()
}

function roomItem(page, room) {
  return page.locator(`[data-testid="room-item"][data-room="${room}"]`)
}

function rowById(page, id) {
  return page.getByTestId('messages').locator(`[data-testid="message"][data-id="${id}"]`)
}

function waitTitle(page, text) {
  return page.waitForFunction((text) => document.title === text, text, { timeout: TIMEOUT })
}

function path(page) {
  return new URL(page.url()).pathname
}

/** Waits until the message row is inside the log's visible box. */
function waitInView(page, id) {
  return page.waitForFunction(
    (id) => {
      const el = document.querySelector(`[data-testid="messages"] [data-id="${id}"]`)
      const box = document.querySelector('[data-testid="message-scroller"]')
      if (!el || !box) return false
      const r = el.getBoundingClientRect()
      const v = box.getBoundingClientRect()
      return r.top >= v.top && r.bottom <= v.bottom
    },
    id,
    { timeout: TIMEOUT },
  )
}

/** The message is shown, scrolled to and highlighted: where a link to it lands. */
async function landedOn(page, id) {
  await rowById(page, id).and(page.locator('.highlighted')).waitFor()
  await waitInView(page, id)
}

async function notice(page, text) {
  await page.getByTestId('link-notice').filter({ hasText: text }).waitFor()
}

before(async () => {
  ;({ server, browser } = await startSuite())
  await newUser('alice')
  await newUser('bob')
})

after(async () => {
  for (const { errors } of pages) assert.deepEqual(errors, [])
  await browser?.close()
  await server?.close()
})

describe('links in the web client', () => {
  it('puts the open room in the URL and the title; reload, back and forward follow it', async () => {
    const { page: a } = users.alice
    await a.waitForURL(`${server.url}/r/general`)
    await waitTitle(a, '#general · chatd')
    await a.getByTestId('room-create-toggle').click()
    await a.getByTestId('room-create-name').fill('design')
    await a.getByTestId('room-create-name').press('Enter')
    await title(a, 'design')
    await a.waitForURL(`${server.url}/r/design`)
    await waitTitle(a, '#design · chatd')
    assert.equal(await roomItem(a, 'design').getAttribute('href'), '/r/design')

    await roomItem(a, 'general').click()
    await a.waitForURL(`${server.url}/r/general`)
    await a.goBack()
    await a.waitForURL(`${server.url}/r/design`)
    await title(a, 'design')
    await a.goForward()
    await a.waitForURL(`${server.url}/r/general`)
    await title(a, 'general')

    // a direct conversation: /dm/<the other person>
    // The online list opens bob's card, whose "Message" opens the DM.
    await a.locator('[data-testid="online-user"][data-user="bob"]').click()
    await a.getByTestId('profile-card-message').click()
    await a.waitForURL(`${server.url}/dm/bob`)
    await waitTitle(a, 'bob · chatd')
    await a.reload()
    await waitOnline(a)
    await title(a, 'bob')
    assert.equal(path(a), '/dm/bob')

    // / opens the room used last on this device
    await roomItem(a, 'design').click()
    await a.waitForURL(`${server.url}/r/design`)
    await a.goto(`${server.url}/`)
    await a.waitForURL(`${server.url}/r/design`)
    await title(a, 'design')
  })

  it('opens a link in a new tab, still signed in: the message, loading older history', async () => {
    const { page: a } = users.alice
    const token = await tokenOf(a)
    const [linked] = await sendFrames(a, token, [
      { type: 'send', room: 'design', content: 'the linked message', client_msg_id: 'l-1' },
    ])
    linkedId = linked.id
    const filler = Array.from({ length: 160 }, (_, i) => ({
      type: 'send',
      room: 'design',
      content: `filler ${i + 1}`,
      client_msg_id: `lf-${i + 1}`,
    }))
    const acks = await sendFrames(a, token, filler)
    newestId = acks[acks.length - 1].id

    // Bob is not in #design; a new tab shares his session cookie, so no sign-in on the way.
    const tab = await watch(await users.bob.context.newPage())
    await tab.goto(`${server.url}/r/design/${linkedId}`)
    await waitOnline(tab)
    assert.equal(path(tab), `/r/design/${linkedId}`)
    await title(tab, 'design')
    await landedOn(tab, linkedId)
    // the link joined him to the public room
    await roomItem(tab, 'design').waitFor()
    await shot(tab, 'desktop-message-link')

    // a reload lands there again
    await tab.reload()
    await waitOnline(tab)
    await landedOn(tab, linkedId)
    await tab.close()
  })

  it('copies a message link from the toolbar, and the link opens that message', async () => {
    const { page: a } = users.alice
    const { page: b } = users.bob
    await roomItem(a, 'design').click()
    await a.waitForURL(`${server.url}/r/design`)
    const newest = rowById(a, newestId)
    await newest.hover()
    await newest.getByTestId('action-copy-link').click()
    await a.getByTestId('link-copied').filter({ hasText: 'Link copied' }).waitFor()
    const link = await a.evaluate(() => navigator.clipboard.readText())
    assert.equal(link, `${server.url}/r/design/${newestId}`)
    await shot(a, 'desktop-link-copied')

    // Bob pastes it in his address bar
    await b.goto(link)
    await waitOnline(b)
    await landedOn(b, newestId)
    await waitTitle(b, '#design · chatd')

    // a reply in the thread panel has its link too
    const [reply] = await sendFrames(a, await tokenOf(a), [
      {
        type: 'send',
        room: 'design',
        content: 'a reply in the thread',
        client_msg_id: 'lr-1',
        reply_to: newestId,
      },
    ])
    await rowById(a, newestId).getByTestId('thread-summary').click()
    const panel = a.getByTestId('thread-panel')
    const replyRow = panel.locator(`[data-testid="message"][data-id="${reply.id}"]`)
    await replyRow.hover()
    await replyRow.getByTestId('action-copy-link').click()
    await panel.getByTestId('link-copied').filter({ hasText: 'Link copied' }).waitFor()
    assert.equal(
      await a.evaluate(() => navigator.clipboard.readText()),
      `${server.url}/r/design/${reply.id}`,
    )
    await panel.getByTestId('thread-close').click()
    await panel.waitFor({ state: 'detached' })
  })

  it('opens a direct conversation with a dotted name, and keeps it across a reload', async () => {
    const { page: a } = users.alice
    await apiClient(server.url)('POST', '/api/register', {
      user_name: 'dan.smith',
      password: PASSWORD,
    })
    // chatd takes a last segment with a dot for a file: the address ends with /
    await a.goto(`${server.url}/dm/dan.smith/`)
    await waitOnline(a)
    await title(a, 'dan.smith')
    await roomItem(a, 'dm:alice:dan.smith').waitFor()
    assert.equal(await roomItem(a, 'dm:alice:dan.smith').getAttribute('href'), '/dm/dan.smith/')
    await a.reload()
    await waitOnline(a)
    await title(a, 'dan.smith')
    assert.equal(path(a), '/dm/dan.smith/')
  })

  it('says why a link cannot be followed, in English and French', async () => {
    const { page: a } = users.alice
    await a.goto(`${server.url}/r/no-such-room`)
    await notice(a, 'There is no room #no-such-room. You are in #general.')
    await a.waitForURL(`${server.url}/r/general`)
    await title(a, 'general')

    await a.goto(`${server.url}/r/design/999999`)
    await notice(a, 'That message is not in this conversation')
    await a.waitForURL(`${server.url}/r/design`)
    await title(a, 'design')

    await a.goto(`${server.url}/dm/nobody`)
    await notice(a, 'There is no user named nobody. You are in #general.')
    await a.waitForURL(`${server.url}/r/general`)
    await a.getByTestId('link-notice-dismiss').click()
    await a.getByTestId('link-notice').waitFor({ state: 'detached' })

    await a.getByTestId('language').selectOption('fr')
    await a.goto(`${server.url}/r/Bad%20Name`)
    await notice(a, 'Le salon #Bad Name n’existe pas. Vous êtes dans #general.')
    await a.getByTestId('language').selectOption('en')

    // the sign-in page never sends anyone to another site
    const context = await newContext()
    const stranger = await watch(await context.newPage())
    await stranger.goto(
      `${server.url}/login?redirect=${encodeURIComponent('https://example.com/')}`,
    )
    await signIn(stranger, 'alice')
    await stranger.waitForURL(`${server.url}/r/general`)
    await context.close()
  })

  it('works on a phone: a link, the drawer, and Copy link in the message menu', async () => {
    const { page: p } = await newUser('carol', PHONE)
    await p.goto(`${server.url}/r/design/${linkedId}`)
    await waitOnline(p)
    await landedOn(p, linkedId)
    await title(p, 'design')
    await shot(p, 'phone-message-link')

    const row = rowById(p, linkedId)
    await row.getByTestId('action-more').click()
    await p.getByTestId('menu-copy-link').click()
    await p.getByTestId('link-copied').filter({ hasText: 'Link copied' }).waitFor()
    assert.equal(
      await p.evaluate(() => navigator.clipboard.readText()),
      `${server.url}/r/design/${linkedId}`,
    )

    await p.getByTestId('menu').click()
    await roomItem(p, 'general').click()
    await p.waitForURL(`${server.url}/r/general`)
    await title(p, 'general')
    assert.equal(await p.getByTestId('sidebar').isVisible(), false, 'the drawer closed')
    await p.goBack()
    await p.waitForURL(`${server.url}/r/design/${linkedId}`)
    await landedOn(p, linkedId)
  })
})
