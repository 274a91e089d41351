// Accessibility in Debian's Chromium against a real chatd: axe-core (injected into the page) finds
// no violation of any impact on the sign-in page, the chat view (messages, a reply's quote,
// reactions, the composer's @ suggestions, an away user), the thread panel and the people
// directory, on a desktop and a phone, light and dark; and focus goes where the next keystroke
// belongs (name field, composer, the phone drawer, which keeps it while open).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import { after, before, describe, it } from 'node:test'
import { apiClient } from './support/chatd.mjs'
import {
  DESKTOP,
  PHONE,
  TIMEOUT,
  sendFrames,
  shot,
  signUp,
  startSuite,
  tokenOf,
  waitOnline,
  openPage,
} from './support/ui.mjs'

const AXE_SOURCE = fs.readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
)

/** @type {Awaited<ReturnType<typeof startSuite>>['server']} */
let server
/** @type {import('playwright-core').Browser} */
let browser
/** Page errors and CSP refusals of every page opened (none may happen). */
const errors = []

/** @param {{ viewport?: { width: number, height: number }, colorScheme?: 'light' | 'dark' }} [options] */
function newPage(options) {
  return openPage(browser, errors, options)
}

/**
 * Runs axe-core on the whole page (every rule it runs by default, best practices included) and
 * returns its violations, each with where it was found. The script is evaluated through the
 * DevTools protocol, so the page's Content-Security-Policy stays as it is.
 */
async function axeViolations(page) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE)
  return page.evaluate(async () => {
    // axe is the global the script above defined.
    const result = await window.axe.run(document, { resultTypes: ['violations'] })
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    }))
  })
}

async function assertNoViolations(page, where) {
  const violations = await axeViolations(page)
  assert.deepEqual(violations, [], `${where}: ${JSON.stringify(violations, null, 2)}`)
}

function focusedTestId(page) {
  return page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null)
}

/** Waits until the element with this data-testid has the focus. */
function waitFocus(page, testId) {
  return page.waitForFunction(
    (id) => document.activeElement?.getAttribute('data-testid') === id,
    testId,
    { timeout: TIMEOUT },
  )
}

let rootId = 0

before(async () => {
  ;({ server, browser } = await startSuite())
  // A conversation to look at: alice's message, bob's reply to it (shown with a quote) and
  // reactions; the reply also makes a thread to open. A second room to switch to.
  const alice = await newPage()
  await signUp(alice, server.url, 'alice')
  const bob = await newPage()
  // bob goes away a second after signing in (the test hook): his away indicator is checked too.
  await bob.addInitScript(() => localStorage.setItem('chatd.awayAfterMs', '1000'))
  await signUp(bob, server.url, 'bob')
  const [root] = await sendFrames(alice, await tokenOf(alice), [
    { type: 'send', room: 'general', content: 'Welcome, **everyone**!', client_msg_id: 'a11y-1' },
  ])
  rootId = root.id
  await sendFrames(bob, await tokenOf(bob), [
    {
      type: 'send',
      room: 'general',
      content: 'Thanks, glad to be here.',
      client_msg_id: 'a11y-2',
      reply_to: rootId,
    },
    { type: 'react', room: 'general', id: rootId, emoji: '👍', client_msg_id: 'a11y-3' },
    { type: 'react', room: 'general', id: rootId, emoji: '🎉', client_msg_id: 'a11y-4' },
  ])
  await apiClient(server.url)('POST', '/api/rooms', { name: 'design-team' }, await tokenOf(alice))
})

after(async () => {
  assert.deepEqual(errors, [])
  await browser?.close()
  await server?.close()
})

describe('accessibility (axe-core)', () => {
  const combinations = [
    { label: 'desktop-light', viewport: DESKTOP, colorScheme: 'light' },
    { label: 'desktop-dark', viewport: DESKTOP, colorScheme: 'dark' },
    { label: 'phone-light', viewport: PHONE, colorScheme: 'light' },
    { label: 'phone-dark', viewport: PHONE, colorScheme: 'dark' },
  ]
  for (const { label, viewport, colorScheme } of combinations) {
    it(`${label}: sign-in page, chat view, notification levels, thread panel and people directory have no violations`, async () => {
      const page = await newPage({ viewport, colorScheme })
      await page.goto(server.url + '/')
      await page.getByTestId('login-form').waitFor()
      await assertNoViolations(page, `${label} sign-in`)
      await page.getByTestId('login-toggle').click()
      await assertNoViolations(page, `${label} sign-up`)

      await signUp(page, server.url, `reader-${label}`)
      const root = page.locator(`[data-testid="message"][data-id="${rootId}"]`)
      await root.getByTestId('reaction').nth(1).waitFor()
      await page.getByTestId('reply-quote-text').filter({ hasText: 'Welcome' }).waitFor()
      await page.getByTestId('emoji-picker').waitFor({ state: 'detached' })
      await assertNoViolations(page, `${label} chat`)
      await shot(page, `a11y-${label}-chat`)

      const composer = page.getByTestId('composer-input')
      await composer.pressSequentially('@')
      await page.getByTestId('mention-suggestion').first().waitFor()
      await assertNoViolations(page, `${label} mention suggestions`)
      await composer.press('Escape')
      await page.getByTestId('mention-suggestions').waitFor({ state: 'hidden' })
      await composer.fill('')

      // The room's notification levels, open, then the room muted (its row dimmed, a named icon).
      await page.getByTestId('notify-level').click()
      await page.getByTestId('notify-level-muted').check()
      await page.locator('[data-testid="notify-level"][data-level="muted"]').waitFor()
      await assertNoViolations(page, `${label} notification levels`)
      await page.keyboard.press('Escape')
      await page.getByTestId('notify-levels').waitFor({ state: 'detached' })
      await page
        .locator('[data-testid="room-item"][data-room="general"] [data-testid="muted-icon"]')
        .waitFor({ state: 'attached' })
      await assertNoViolations(page, `${label} muted room`)

      await root.getByTestId('thread-summary').click()
      await page.getByTestId('thread-panel').getByTestId('message-text').last().waitFor()
      await assertNoViolations(page, `${label} thread`)
      await shot(page, `a11y-${label}-thread`)
      await page.getByTestId('thread-close').click()
      await page.getByTestId('thread-panel').waitFor({ state: 'detached' })

      // A profile card, opened from a message's author; focus returns to the name.
      await root.getByTestId('message-author').click()
      await page.getByTestId('profile-card-status').waitFor()
      await assertNoViolations(page, `${label} profile card`)
      await shot(page, `a11y-${label}-card`)
      await page.keyboard.press('Escape')
      await page.getByTestId('profile-card').waitFor({ state: 'detached' })

      // The sessions dialog, opened from the sidebar (the drawer on a phone).
      if (viewport === PHONE) await page.getByTestId('menu').click()
      await page.getByTestId('sidebar').getByTestId('open-sessions').click()
      await page.getByTestId('sessions-list').waitFor()
      await assertNoViolations(page, `${label} sessions`)
      await shot(page, `a11y-${label}-sessions`)
      await page.keyboard.press('Escape')
      await page.getByTestId('sessions-dialog').waitFor({ state: 'detached' })

      if (viewport === PHONE) {
        await page.getByTestId('menu').click()
        await page.getByTestId('sidebar').getByTestId('sign-out').waitFor({ state: 'visible' })
        await assertNoViolations(page, `${label} drawer`)
        await page.keyboard.press('Escape')
        await page.getByTestId('sidebar').waitFor({ state: 'hidden' })
      }

      // The people directory, in the chat screen's main pane.
      if (viewport === PHONE) await page.getByTestId('menu').click()
      await page.getByTestId('people-link').click()
      const alice = page.locator('[data-testid="person"][data-user="alice"]')
      await alice.getByTestId('person-select').check()
      await page.getByTestId('people-message-selected').waitFor()
      await page
        .locator('[data-user="bob"] [data-testid="person-status"][data-status="away"]')
        .waitFor()
      await assertNoViolations(page, `${label} people`)
      await shot(page, `a11y-${label}-people`)
    })
  }
})

describe('focus', () => {
  it('starts in the name field, then the composer after sign-in and after switching rooms', async () => {
    const page = await newPage()
    await page.goto(server.url + '/')
    await waitFocus(page, 'login-name')
    await signUp(page, server.url, 'focus-desktop')
    await waitFocus(page, 'composer-input')

    await page.getByTestId('room-browse-toggle').click()
    await page.getByTestId('join-design-team').click()
    await page.locator('[data-testid="room-title"]', { hasText: 'design-team' }).waitFor()
    await waitFocus(page, 'composer-input')
    await page.locator('[data-testid="room-item"][data-room="general"]').click()
    await page.locator('[data-testid="room-title"]', { hasText: 'general' }).waitFor()
    await waitFocus(page, 'composer-input')
    // Typing right away lands in the composer.
    await page.keyboard.type('typed at once')
    assert.equal(await page.getByTestId('composer-input').inputValue(), 'typed at once')
  })

  it('the phone drawer takes focus, keeps it while open, and gives it back when closed', async () => {
    const page = await newPage({ viewport: PHONE })
    await signUp(page, server.url, 'focus-phone')
    await waitFocus(page, 'composer-input')
    const sidebar = page.getByTestId('sidebar')
    const focusInSidebar = () =>
      page.evaluate(() =>
        Boolean(
          document.querySelector('[data-testid="sidebar"]')?.contains(document.activeElement),
        ),
      )

    await page.getByTestId('menu').click()
    await sidebar.getByTestId('sign-out').waitFor({ state: 'visible' })
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="sidebar"]')?.contains(document.activeElement),
    )
    // Tab goes round the drawer's controls and never behind it, forwards and backwards.
    const count = await sidebar.locator('button:visible, select:visible, a[href]:visible').count()
    assert.ok(count >= 4, `the drawer has controls (${count})`)
    const seen = new Set()
    for (let i = 0; i < count + 3; i++) {
      await page.keyboard.press('Tab')
      assert.ok(await focusInSidebar(), `Tab ${i + 1} stays in the drawer`)
      seen.add(await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 80)))
    }
    assert.ok(seen.size >= Math.min(count, 4), `Tab visits the drawer's controls (${seen.size})`)
    for (let i = 0; i < count + 3; i++) {
      await page.keyboard.press('Shift+Tab')
      assert.ok(await focusInSidebar(), `Shift+Tab ${i + 1} stays in the drawer`)
    }
    // What is behind the drawer cannot be reached meanwhile.
    assert.equal(
      await page.evaluate(() => document.querySelector('main')?.hasAttribute('inert')),
      true,
    )

    await page.keyboard.press('Escape')
    await sidebar.waitFor({ state: 'hidden' })
    await waitFocus(page, 'menu')
    assert.equal(
      await page.evaluate(() => document.querySelector('main')?.hasAttribute('inert')),
      false,
    )

    // Choosing a room closes the drawer and puts focus in the composer.
    await page.getByTestId('menu').click()
    await sidebar.locator('[data-testid="room-item"][data-room="general"]').click()
    await sidebar.waitFor({ state: 'hidden' })
    await waitFocus(page, 'composer-input')
    assert.equal(await focusedTestId(page), 'composer-input')
    await waitOnline(page)
  })
})
