// End-to-end: staying signed in and the sessions list. Debian's Chromium against a real chatd.
// A session is an HttpOnly cookie: a new tab and a restarted browser (a new context from the
// saved storage state) are still signed in; from a phone in French the Sessions dialog lists
// both devices and signs the desktop out, whose open tab then goes back to the sign-in page.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import {
  DESKTOP,
  PASSWORD,
  PHONE,
  TIMEOUT,
  openPage,
  shot,
  signUp,
  startSuite,
  waitOnline,
  watchCsp,
} from './support/ui.mjs'

/** @type {Awaited<ReturnType<typeof startSuite>>['server']} */
let server
/** @type {import('playwright-core').Browser} */
let browser
const errors = []

before(async () => {
  ;({ server, browser } = await startSuite())
})

after(async () => {
  assert.deepEqual(errors, [])
  await browser?.close()
  await server?.close()
})

describe('staying signed in and sessions', () => {
  /** @type {import('playwright-core').Page} */
  let desk

  it('a new tab and a restarted browser stay signed in; no script can read the session', async () => {
    desk = await openPage(browser, errors, { viewport: DESKTOP })
    await signUp(desk, server.url, 'sam')
    const cookie = (await desk.context().cookies()).find((c) => c.name === 'chatd_session')
    assert.ok(cookie, 'the session cookie is set')
    assert.equal(cookie.httpOnly, true)
    assert.equal(cookie.sameSite, 'Strict')
    assert.equal(await desk.evaluate(() => document.cookie.includes('chatd_session')), false)
    const stored = await desk.evaluate(() =>
      [sessionStorage, localStorage].flatMap((store) => Object.values(store)).join('\n'),
    )
    assert.ok(!stored.includes(cookie.value), 'the token is in no script storage')

    const tab = await desk.context().newPage()
    await watchCsp(tab, errors)
    await tab.goto(server.url + '/')
    await waitOnline(tab)
    assert.equal(await tab.getByTestId('me').textContent(), 'sam')
    await tab.close()

    const state = await desk.context().storageState()
    const restarted = await browser.newContext({ storageState: state, viewport: DESKTOP })
    restarted.setDefaultTimeout(TIMEOUT)
    const again = await restarted.newPage()
    await watchCsp(again, errors)
    await again.goto(server.url + '/')
    await waitOnline(again)
    assert.equal(await again.getByTestId('me').textContent(), 'sam')
    await restarted.close()
  })

  it('from a phone in French, the Sessions dialog lists both devices and signs the desktop out', async () => {
    const phone = await openPage(browser, errors, { viewport: PHONE, locale: 'fr-FR' })
    await phone.goto(server.url + '/')
    await phone.getByTestId('login-name').fill('sam')
    await phone.getByTestId('login-password').fill(PASSWORD)
    await phone.getByTestId('login-submit').click()
    await waitOnline(phone)

    await phone.getByTestId('menu').click()
    await phone.getByTestId('sidebar').getByTestId('open-sessions').click()
    const dialog = phone.getByTestId('sessions-dialog')
    await dialog.getByTestId('sessions-list').waitFor()
    await dialog.getByRole('heading', { name: 'Où vous êtes connecté' }).waitFor()
    const rows = dialog.getByTestId('session')
    assert.equal(await rows.count(), 2)
    assert.equal(
      await dialog
        .getByTestId('this-device')
        .textContent()
        .then((s) => s?.trim()),
      'Cet appareil',
    )
    const other = dialog.locator('[data-testid="session"]:not([data-current])')
    assert.match(await other.textContent(), /Chrome sur Linux/)
    await shot(phone, 'phone-fr-sessions')

    await other.getByTestId('session-sign-out').click()
    await desk.getByTestId('login-form').waitFor()
    assert.equal(new URL(desk.url()).pathname, '/login')
    await phone.waitForFunction(
      () => document.querySelectorAll('[data-testid="session"]').length === 1,
      undefined,
      { timeout: TIMEOUT },
    )
    await phone.keyboard.press('Escape')
    await dialog.waitFor({ state: 'detached' })
    await waitOnline(phone)
  })
})
