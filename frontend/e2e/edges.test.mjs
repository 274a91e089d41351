// The web client's rough edges, as a user sees them in Debian's Chromium against a real chatd:
// an over-limit draft says why it cannot be sent (counted as the server counts), long names are
// cut with an ellipsis, French labels fit, the typing line ends when the draft is cleared, rooms
// are left only after a confirmation and browsed from their own entry, a title is offered as a
// room name, open mode warns about names, and a restarted server has its clients back fast.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { apiClient, startChatd } from './support/chatd.mjs'
import {
  DESKTOP,
  PHONE,
  shot,
  signUp,
  startSuite,
  tokenOf,
  waitOnline,
  openPage,
} from './support/ui.mjs'

/** @type {Awaited<ReturnType<typeof startSuite>>['server']} */
let server
/** @type {import('playwright-core').Browser} */
let browser
/** Page errors and CSP refusals of every page opened (none may happen). */
const errors = []

/** @param {{ viewport?: { width: number, height: number }, locale?: string }} [options] */
function newPage(options) {
  return openPage(browser, errors, options)
}

function room(page, name) {
  return page.locator(`[data-testid="room-item"][data-room="${name}"]`)
}

function title(page, text) {
  return page.locator('[data-testid="room-title"]', { hasText: text })
}

/** Box and overflow of the first element matching `selector`. */
function measure(page, selector) {
  return page
    .locator(selector)
    .first()
    .evaluate((el) => {
      const style = getComputedStyle(el)
      const box = el.getBoundingClientRect()
      return {
        left: box.left,
        right: box.right,
        height: box.height,
        lineHeight: parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.45,
        scrollWidth: el.scrollWidth,
        clientWidth: el.clientWidth,
        textOverflow: style.textOverflow,
        whiteSpace: style.whiteSpace,
        title: el.getAttribute('title'),
      }
    })
}

before(async () => {
  ;({ server, browser } = await startSuite())
})

after(async () => {
  assert.deepEqual(errors, [])
  await browser?.close()
  await server?.close()
})

describe('over-limit drafts', () => {
  for (const [label, viewport, locale, sentence] of [
    ['desktop, English', DESKTOP, 'en-US', 'The message is 5 characters too long (4005 / 4000).'],
    ['phone, French', PHONE, 'fr-FR', 'Le message a 5 caractères de trop (4005 / 4000).'],
  ]) {
    it(`${label}: Send is off and a sentence says by how much; emoji count as the server counts`, async () => {
      const page = await newPage({ viewport, locale })
      await signUp(page, server.url, `drafter-${viewport === PHONE ? 'phone' : 'desk'}`)
      const input = page.getByTestId('composer-input')
      const sendButton = page.getByTestId('send')
      const status = page.getByTestId('too-long')
      await input.fill('x'.repeat(4005))
      await status.filter({ hasText: sentence }).waitFor({ state: 'visible' })
      assert.equal(await status.getAttribute('role'), 'status')
      assert.equal(await sendButton.isDisabled(), true)
      await shot(page, `${viewport === PHONE ? 'phone' : 'desktop'}-too-long`)
      // 2,100 emoji: 4,200 UTF-16 units, 2,100 characters for the server, which accepts them.
      await input.fill('😀'.repeat(2100))
      assert.equal(await sendButton.isDisabled(), false)
      assert.equal((await status.innerText()).trim(), '')
      await sendButton.click()
      await page.locator('[data-testid="message"][data-status="sent"]').last().waitFor()
      assert.equal(await page.getByTestId('message-text').last().innerText(), '😀'.repeat(2100))
      // One past the limit, in emoji: refused here as the server would.
      await input.fill('😀'.repeat(4001))
      await status.filter({ hasText: '4001 / 4000' }).waitFor()
      assert.equal(await sendButton.isDisabled(), true)
    })
  }
})

describe('layout', () => {
  const longRoom = 'a-room-with-a-very-long-name-that-cannot-fit-here'.slice(0, 48)
  const longUser = 'someone.with.a.very.long.name.xx'

  before(async () => {
    const page = await newPage()
    await signUp(page, server.url, 'roomowner')
    await apiClient(server.url)('POST', '/api/rooms', { name: longRoom }, await tokenOf(page))
  })

  for (const [label, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ]) {
    it(`${label}: a long room title ends in an ellipsis, the full name in its tooltip`, async () => {
      const page = await newPage({ viewport })
      await signUp(page, server.url, `${label}-reader`)
      if (viewport === PHONE) await page.getByTestId('menu').click()
      await page.getByTestId('room-browse-toggle').click()
      await page.getByTestId(`join-${longRoom}`).click()
      await title(page, longRoom).waitFor()
      const box = await measure(page, '[data-testid="room-title"] .title-text')
      assert.equal(box.textOverflow, 'ellipsis')
      assert.equal(box.whiteSpace, 'nowrap')
      assert.equal(box.title, longRoom)
      if (viewport === PHONE) {
        assert.ok(box.scrollWidth > box.clientWidth, 'the name is cut on a phone')
      }
      const viewportWidth = viewport.width
      assert.ok(box.right <= viewportWidth, `the title stays on screen (${box.right})`)
      await shot(page, `${label}-long-title`)
    })
  }

  it('French: the sign-out buttons fit the sidebar; a long name is cut on one line', async () => {
    const page = await newPage({ locale: 'fr-FR' })
    await signUp(page, server.url, longUser)
    await page.getByTestId('sign-out').filter({ hasText: 'Se déconnecter' }).waitFor()
    const sidebar = await measure(page, '[data-testid="sidebar"]')
    for (const id of ['sign-out', 'sign-out-everywhere']) {
      const button = await measure(page, `[data-testid="${id}"]`)
      assert.ok(button.right <= sidebar.right, `${id} ends inside the sidebar`)
      assert.ok(button.left >= sidebar.left, `${id} starts inside the sidebar`)
      assert.ok(button.scrollWidth <= button.clientWidth, `${id}: its text fits`)
    }
    const me = await measure(page, '[data-testid="me"]')
    assert.equal(me.textOverflow, 'ellipsis')
    assert.equal(me.whiteSpace, 'nowrap')
    assert.equal(me.title, longUser)
    assert.ok(me.scrollWidth > me.clientWidth, 'the name is cut')
    assert.ok(me.height < me.lineHeight * 1.5, `one line (${me.height}px)`)
    await shot(page, 'desktop-sidebar-fr')
  })
})

describe('typing', () => {
  it('clearing the draft ends the typing line on the other screen at once', async () => {
    const a = await newPage()
    await signUp(a, server.url, 'typist')
    const b = await newPage()
    await signUp(b, server.url, 'watcher')
    const line = b.getByTestId('typing').filter({ hasText: 'typist is typing…' })
    await a.getByTestId('composer-input').pressSequentially('hel')
    await line.waitFor()
    await a.getByTestId('composer-input').fill('')
    // The notice alone would last 5 s; the stop ends it well before.
    await line.waitFor({ state: 'detached', timeout: 1500 })
  })
})

describe('rooms', () => {
  it('browsing has its own entry; a title is offered as a room name; leaving asks first', async () => {
    const page = await newPage()
    await signUp(page, server.url, 'organiser')
    // Browse rooms is visible without opening anything.
    const browse = page.getByTestId('room-browse-toggle')
    assert.equal(await browse.isVisible(), true)
    assert.equal((await browse.innerText()).trim(), 'Browse rooms')

    await page.getByTestId('room-create-toggle').click()
    await page.getByTestId('room-create-name').fill('Design Team')
    await page
      .getByTestId('room-create-result')
      .filter({ hasText: 'Will be created as #design-team.' })
      .waitFor()
    await page.getByTestId('room-create-submit').click()
    await title(page, 'design-team').waitFor()
    await room(page, 'design-team').waitFor()

    // Leave is a quiet icon that asks; Cancel keeps the room.
    const leave = page.getByTestId('leave-room')
    assert.equal((await leave.innerText()).trim(), '')
    assert.equal(await leave.getAttribute('aria-label'), 'Leave room…')
    await leave.click()
    const confirm = page.getByTestId('leave-room-confirm')
    await confirm.filter({ hasText: 'Leave #design-team?' }).waitFor()
    await shot(page, 'desktop-leave-confirm')
    await page.getByTestId('leave-room-cancel').click()
    await confirm.waitFor({ state: 'detached' })
    await title(page, 'design-team').waitFor()
    assert.equal(await room(page, 'design-team').count(), 1)

    await leave.click()
    await page.getByTestId('leave-room-yes').click()
    await room(page, 'design-team').waitFor({ state: 'detached' })
    await title(page, 'general').waitFor()
    // And it is there to join again.
    await browse.click()
    await page.getByTestId('join-design-team').waitFor()
  })
})

describe('open mode', () => {
  it('the join page says that names are not protected, in English and French', async () => {
    const open = await startChatd({ auth: 'open' })
    try {
      const page = await newPage()
      await page.goto(open.url + '/')
      const warning = page.getByTestId('open-mode-warning')
      await warning
        .filter({ hasText: 'whoever joins next with your name sees your direct messages' })
        .waitFor()
      await shot(page, 'desktop-join-open')
      await page.getByTestId('language').selectOption('fr')
      await warning
        .filter({ hasText: 'quiconque entre avec votre nom voit vos messages' })
        .waitFor()
    } finally {
      await open.close()
    }
  })
})

describe('reconnecting', () => {
  it('is online again within 2 s of a killed server answering again', async (t) => {
    const page = await newPage()
    await signUp(page, server.url, 'reconnector')
    const dropped = page
      .locator('[data-testid="connection-status"]:not([data-status="online"])')
      .waitFor()
    await server.restart({ kill: true })
    const back = Date.now()
    await dropped
    await waitOnline(page, 5000)
    const took = Date.now() - back
    t.diagnostic(`online ${took} ms after the server came back`)
    assert.ok(took < 2000, `online ${took} ms after the server came back`)
  })
})
