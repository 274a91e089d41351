// End-to-end: mentions, in Debian's Chromium against a real chatd. alice writes "@bob" in their
// direct conversation; bob, signed in on a desktop in English whose tab is hidden and on a phone
// in French, gets the mention badge on the room, the title count, a desktop notification (the
// permission granted to the context, notifications captured by an init script that wraps
// window.Notification), and once he opens the room a highlighted row with his name marked. A
// name inside code mentions nobody. The phone, never granted, offers notifications once, politely,
// and remembers "Plus tard". Typing `@` offers the room's members: alice picks bob with the
// keyboard and he is mentioned; bob's phone inserts a name by a tap. Every wait is on a selector or
// a condition, bounded.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import { after, before, describe, it } from 'node:test'
import { apiClient } from './support/chatd.mjs'
import {
  DESKTOP,
  PASSWORD,
  PHONE,
  TIMEOUT,
  shot,
  signUp,
  startSuite,
  tokenOf,
  waitOnline,
  openPage,
  sendMessage,
} from './support/ui.mjs'

/** @type {Awaited<ReturnType<typeof startSuite>>['server']} */
let server
/** @type {import('playwright-core').Browser} */
let browser
/** @type {string[]} */
const errors = []
/** @type {import('playwright-core').Page} */
let alice
/** @type {import('playwright-core').Page} */
let desk
/** @type {import('playwright-core').Page} */
let phone
/** @type {string} */
let aliceToken
const DM = 'dm:alice:bob'
const AXE_SOURCE = fs.readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
)

/** axe-core's violations on the whole page (as e2e/a11y.test.mjs runs it). */
async function axeViolations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE)
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] })
    return result.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target) }))
  })
}

// Records every notification the page makes, and lets the test hide the tab.
function captureNotificationsAndVisibility() {
  window.__notifications = []
  const Real = window.Notification
  function Captured(title, options) {
    window.__notifications.push({ title, body: options?.body })
    try {
      return new Real(title, options)
    } catch {
      return {}
    }
  }
  Object.defineProperty(Captured, 'permission', { get: () => Real.permission })
  Captured.requestPermission = (...args) => Real.requestPermission(...args)
  window.Notification = Captured
  let hidden = false
  Object.defineProperty(document, 'visibilityState', { get: () => (hidden ? 'hidden' : 'visible') })
  window.__setHidden = (value) => {
    hidden = value
    document.dispatchEvent(new Event('visibilitychange'))
  }
}

async function signIn(page, name) {
  await page.goto(server.url + '/')
  await page.getByTestId('login-name').fill(name)
  await page.getByTestId('login-password').fill(PASSWORD)
  await page.getByTestId('login-submit').click()
  await waitOnline(page)
}

const row = (page, room) => page.locator(`[data-testid="room-item"][data-room="${room}"]`)
const mentionBadge = (page, room) => row(page, room).locator('[data-testid="mention-badge"]')

/** alice sends `content` to `room` on a socket of her own; resolves with the ack. */
function aliceSays(room, content) {
  return sendMessage(alice, aliceToken, room, content)
}

before(async () => {
  ;({ server, browser } = await startSuite())
  const api = apiClient(server.url)
  alice = await openPage(browser, errors, { viewport: DESKTOP, locale: 'en-US' })
  await signUp(alice, server.url, 'alice')
  aliceToken = await tokenOf(alice)
  desk = await openPage(browser, errors, { viewport: DESKTOP, locale: 'en-US' })
  await desk.context().grantPermissions(['notifications'], { origin: server.url })
  await desk.addInitScript(captureNotificationsAndVisibility)
  await signUp(desk, server.url, 'bob')
  phone = await openPage(browser, errors, { viewport: PHONE, locale: 'fr-FR' })
  await signIn(phone, 'bob')
  await api('POST', '/api/dm/bob', undefined, aliceToken)
  for (const page of [desk, phone]) await row(page, DM).waitFor({ state: 'attached' })
})

after(async () => {
  assert.deepEqual(errors, [])
  await browser?.close()
  await server?.close()
})

describe('mentions in the web client', () => {
  it('offers notifications once, from a click, and remembers "not now"', async () => {
    // Granted on the desktop: nothing to offer there.
    assert.equal(await desk.getByTestId('notify-prompt').count(), 0)
    const prompt = phone.getByTestId('notify-prompt')
    await prompt.waitFor()
    assert.deepEqual(await axeViolations(phone), [], 'phone with the notification offer')
    assert.equal(
      (await phone.getByTestId('notify-enable').textContent()).trim(),
      'Activer les notifications',
    )
    await shot(phone, 'mentions-phone-prompt')
    await phone.getByTestId('notify-not-now').click()
    await prompt.waitFor({ state: 'detached' })
    await phone.reload()
    await waitOnline(phone)
    assert.equal(await phone.getByTestId('notify-prompt').count(), 0)
  })

  it('bob, mentioned while his tab is hidden, gets the badge, the title count and a notification', async () => {
    await desk.evaluate(() => window.__setHidden(true))
    await aliceSays(DM, '@bob can you look at this?')
    for (const page of [desk, phone]) {
      // attached: on the phone the room list is in the closed drawer.
      await mentionBadge(page, DM).waitFor({ state: 'attached' })
      assert.equal(
        (await mentionBadge(page, DM).locator('[aria-hidden="true"]').textContent()).trim(),
        '@1',
      )
      assert.match((await row(page, DM).getAttribute('class')) ?? '', /\bmentioned\b/)
    }
    assert.equal(
      (await mentionBadge(phone, DM).locator('.sr-only').textContent()).trim(),
      '1 mention de vous',
    )
    await desk.waitForFunction(() => document.title.startsWith('(@1'), null, { timeout: TIMEOUT })
    await desk.waitForFunction(() => window.__notifications.length === 1, null, {
      timeout: TIMEOUT,
    })
    assert.deepEqual(await desk.evaluate(() => window.__notifications), [
      { title: 'alice mentioned you in alice', body: '@bob can you look at this?' },
    ])
    await shot(phone, 'mentions-phone-badge')
    assert.deepEqual(await axeViolations(phone), [], 'phone with a mention badge')
  })

  it('opening the room shows the highlighted row and clears the mention everywhere', async () => {
    await desk.evaluate(() => window.__setHidden(false))
    await row(desk, DM).click()
    const mentioned = desk.locator('[data-testid="message"].mentions-me')
    await mentioned.waitFor()
    assert.equal((await mentioned.locator('.mention-me').textContent()).trim(), '@bob')
    await shot(desk, 'mentions-desktop-row')
    assert.deepEqual(await axeViolations(desk), [], 'desktop with a mentioning row')
    for (const page of [desk, phone]) await mentionBadge(page, DM).waitFor({ state: 'detached' })
  })

  it('a name inside code mentions nobody: a direct message, notified as one (level all)', async () => {
    await desk.locator('[data-testid="room-item"][data-room="general"]').click()
    await desk.evaluate(() => window.__setHidden(true))
    await aliceSays(DM, 'type `@bob` to mention him')
    await row(desk, DM).locator('[data-testid="unread-badge"]').waitFor()
    assert.equal(await mentionBadge(desk, DM).count(), 0)
    // A direct conversation notifies of every message by default, as a message, not a mention.
    await desk.waitForFunction(() => window.__notifications.length === 2, null, {
      timeout: TIMEOUT,
    })
    assert.deepEqual(await desk.evaluate(() => window.__notifications[1]), {
      title: 'Message from alice',
      body: 'type `@bob` to mention him',
    })
    await desk.evaluate(() => window.__setHidden(false))
  })

  it("@ offers the room's members: picked with the keyboard on a desktop, by a tap on a phone", async () => {
    await row(alice, DM).click()
    const input = alice.getByTestId('composer-input')
    await input.click()
    await input.pressSequentially('thanks @bo')
    const options = alice.getByTestId('mention-suggestion')
    await options.first().waitFor()
    assert.deepEqual(await options.allTextContents(), ['@bob'])
    assert.equal(
      await input.getAttribute('aria-activedescendant'),
      await options.first().getAttribute('id'),
    )
    assert.deepEqual(await axeViolations(alice), [], 'desktop with the mention suggestions open')
    await shot(alice, 'mentions-desktop-autocomplete')
    await input.press('ArrowDown')
    await input.press('Enter')
    assert.equal(await input.inputValue(), 'thanks @bob ')
    await input.press('Enter')
    await mentionBadge(desk, DM).waitFor({ state: 'attached' })

    // bob's phone, in general (everyone who has connected): a tap inserts the name.
    const phoneInput = phone.getByTestId('composer-input')
    await phoneInput.click()
    await phoneInput.pressSequentially('@al')
    const phoneOption = phone.getByTestId('mention-suggestion')
    await phoneOption.first().waitFor()
    assert.equal(
      await phone.getByRole('listbox').getAttribute('aria-label'),
      'Personnes à mentionner',
    )
    assert.deepEqual(await axeViolations(phone), [], 'phone with the mention suggestions open')
    await shot(phone, 'mentions-phone-autocomplete')
    await phoneOption.first().tap()
    assert.equal(await phoneInput.inputValue(), '@alice ')
    await phoneInput.fill('')
  })

  it('muted on the desktop, a room neither notifies nor badges; a French phone sees and changes the level', async () => {
    // bob mutes the direct conversation from its header's bell, in English.
    await row(desk, DM).click()
    await desk.getByTestId('notify-level').click()
    assert.equal(await desk.getByTestId('notify-level-all').isChecked(), true)
    assert.deepEqual(await axeViolations(desk), [], 'desktop with the notification levels open')
    await shot(desk, 'notify-desktop-levels')
    await desk.getByTestId('notify-level-muted').check()
    await desk.locator('[data-testid="notify-level"][data-level="muted"]').waitFor()
    assert.equal(
      await desk.getByTestId('notify-level').getAttribute('aria-label'),
      'Notifications: Muted',
    )
    await desk.keyboard.press('Escape')
    await row(desk, DM).locator('[data-testid="muted-icon"]').waitFor()
    assert.match((await row(desk, DM).getAttribute('class')) ?? '', /\bmuted\b/)

    // A mention there, then one in general (at its default, mentions): once the second is
    // notified, the first has arrived too, unnotified and unbadged.
    await desk.locator('[data-testid="room-item"][data-room="general"]').click()
    await desk.evaluate(() => window.__setHidden(true))
    const before = await desk.evaluate(() => window.__notifications.length)
    await aliceSays(DM, '@bob are you there?')
    await aliceSays('general', '@bob over here')
    await desk.waitForFunction((n) => window.__notifications.length === n + 1, before, {
      timeout: TIMEOUT,
    })
    assert.deepEqual(await desk.evaluate(() => window.__notifications.at(-1)), {
      title: 'alice mentioned you in general',
      body: '@bob over here',
    })
    assert.equal(await row(desk, DM).locator('[data-testid="unread-badge"]').count(), 0)
    assert.equal(await mentionBadge(desk, DM).count(), 0)
    // general is the open room, left out of the title; the muted one adds nothing to it.
    assert.match(await desk.title(), /^#general · chatd$/)
    await desk.evaluate(() => window.__setHidden(false))

    // The phone, in French, has it from the server: after a reload too.
    await phone.reload()
    await waitOnline(phone)
    const phoneMuted = row(phone, DM).locator('[data-testid="muted-icon"]')
    await phoneMuted.waitFor({ state: 'attached' })
    assert.equal(await phoneMuted.getAttribute('aria-label'), 'en sourdine')
    assert.equal(await mentionBadge(phone, DM).count(), 0)
    await phone.goto(server.url + '/dm/alice')
    await waitOnline(phone)
    const bell = phone.getByTestId('notify-level')
    await phone.locator('[data-testid="notify-level"][data-level="muted"]').waitFor()
    assert.equal(await bell.getAttribute('aria-label'), 'Notifications : Sourdine')
    await bell.tap()
    assert.equal(
      (
        await phone.locator('label', { has: phone.getByTestId('notify-level-all') }).textContent()
      ).trim(),
      'Tous les messages',
    )
    assert.deepEqual(await axeViolations(phone), [], 'phone with the notification levels open')
    await shot(phone, 'notify-phone-levels')
    // Back to all from the phone: the desktop follows at once.
    await phone.getByTestId('notify-level-all').tap()
    await row(desk, DM).locator('[data-testid="muted-icon"]').waitFor({ state: 'detached' })
    assert.doesNotMatch((await row(desk, DM).getAttribute('class')) ?? '', /\bmuted\b/)
  })
})
