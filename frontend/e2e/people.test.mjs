// The people directory in Debian's Chromium against a real chatd: search by the start of a name,
// status and last seen, and "Message" opening a DM with someone who is offline, whose message
// then reaches them when they come back; several people picked for a group conversation, titled
// by their display names in the sidebar and after a reload; in English on a desktop and in
// French on a phone. And away status: a user idle for a while (shortened through the test hook)
// shows as away to others, and active again at their next input.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { apiClient } from './support/chatd.mjs'
import { DESKTOP, PHONE, openPage, shot, signUp, startSuite, waitOnline } from './support/ui.mjs'

/** @type {Awaited<ReturnType<typeof startSuite>>['server']} */
let server
/** @type {import('playwright-core').Browser} */
let browser
const errors = []

before(async () => {
  ;({ server, browser } = await startSuite())
  // Accounts that never connected: offline, never seen.
  const api = apiClient(server.url)
  for (const name of ['olivia', 'oscar', 'zed']) {
    await api('POST', '/api/register', { user_name: name, password: 'correct-horse-1' })
  }
})

after(async () => {
  assert.deepEqual(errors, [])
  await browser?.close()
  await server?.close()
})

describe('people', () => {
  const cases = [
    {
      label: 'desktop-en',
      viewport: DESKTOP,
      locale: 'en-US',
      offline: 'Not seen yet',
      name: 'pia',
      saved: 'Saved.',
      tooLong: 'too long',
      skip: 'Skip to people search',
      selected: '2 selected:',
      messageThem: 'Message them',
    },
    {
      label: 'phone-fr',
      viewport: PHONE,
      locale: 'fr-FR',
      offline: 'Pas encore vu',
      name: 'paul',
      seen: /^Vu /,
      saved: 'Enregistré.',
      tooLong: 'trop long',
      skip: 'Aller à la recherche de personnes',
      selected: '2 choisies :',
      messageThem: 'Leur écrire',
    },
  ]
  for (const {
    label,
    viewport,
    locale,
    offline,
    name,
    seen,
    saved,
    tooLong,
    skip,
    selected,
    messageThem,
  } of cases) {
    it(`${label}: search, status, last seen, a display name, a DM to someone offline that reaches them later, a group DM, the profile card and a live rename`, async () => {
      const page = await openPage(browser, errors, { viewport, locale })
      await signUp(page, server.url, name)
      if (viewport === PHONE) await page.getByTestId('menu').click()
      await page.getByTestId('people-link').click()
      await page.waitForURL(/\/people$/)
      const list = page.getByTestId('people-list')
      await list.locator(`[data-user="${name}"]`).waitFor()
      // The skip link leads to the search box here, and says so.
      const skipLink = page.locator('.skip-link')
      assert.equal((await skipLink.textContent())?.trim(), skip)
      assert.equal(await skipLink.getAttribute('href'), '#people-search')
      if (viewport === PHONE) {
        // The pane's own menu button opens the drawer, and Escape gives it back the focus.
        await page.getByTestId('menu').click()
        await page.keyboard.press('Escape')
        await page.waitForFunction(
          () => document.activeElement?.getAttribute('data-testid') === 'menu',
        )
      }

      // The start of a name, in any case: olivia and oscar, not zed.
      await page.getByTestId('people-search').fill('O')
      await page.waitForFunction(() => {
        const users = [...document.querySelectorAll('[data-testid="person"]')].map((e) =>
          e.getAttribute('data-user'),
        )
        return users.join(',') === 'olivia,oscar'
      })
      // oscar never connected; olivia did in the first case: a last seen, in the page's language.
      const oscar = list.locator('[data-user="oscar"]')
      assert.equal(await oscar.getByTestId('person-status').textContent(), offline)
      assert.equal(await oscar.getByTestId('person-status').getAttribute('data-status'), 'offline')
      await page.getByTestId('people-search').fill(name.toUpperCase())
      const self = list.locator(`[data-user="${name}"]`)
      await self.waitFor()
      assert.equal(await self.getByTestId('person-status').getAttribute('data-status'), 'online')
      assert.equal(await self.getByTestId('person-message').count(), 0, 'no DM with oneself')
      if (seen) {
        await page.getByTestId('people-search').fill('olivia')
        const status = list.locator('[data-user="olivia"]').getByTestId('person-status')
        await status.waitFor()
        assert.match(await status.textContent(), seen)
      }
      await shot(page, `people-${label}`)

      // A display name, found by others' searches and shown instead of the user name.
      await page.getByTestId('profile-display-name').fill(`Zoé ${label}`)
      await page.getByTestId('profile-save').click()
      await page.getByTestId('profile-note').filter({ hasText: saved }).waitFor()
      await page.getByTestId('people-search').fill('zOÉ')
      await list
        .locator(`[data-user="${name}"]`)
        .getByTestId('person-name')
        .filter({ hasText: `Zoé ${label}` })
        .waitFor()
      await page.getByTestId('profile-display-name').fill('x'.repeat(65))
      await page.getByTestId('profile-save').click()
      await page.getByTestId('profile-note').filter({ hasText: tooLong }).waitFor()

      await page.getByTestId('people-search').fill('oli')
      await list.locator('[data-user="olivia"]').getByTestId('person-message').click()
      await page.waitForURL(/\/dm\/olivia$/)
      await waitOnline(page)
      await page.getByTestId('composer-input').fill(`hello olivia from ${name}`)
      await page.getByTestId('composer-input').press('Enter')
      await page
        .getByTestId('message-text')
        .filter({ hasText: `from ${name}` })
        .waitFor()

      // A group: olivia and oscar picked from one search, opened together.
      if (viewport === PHONE) await page.getByTestId('menu').click()
      await page.getByTestId('people-link').click()
      await page.getByTestId('people-search').fill('o')
      for (const who of ['oscar', 'olivia']) {
        await list.locator(`[data-user="${who}"]`).getByTestId('person-select').check()
      }
      const bar = page.getByTestId('people-selection')
      await bar.filter({ hasText: selected }).waitFor()
      await bar.getByTestId('people-message-selected').filter({ hasText: messageThem }).click()
      await page.waitForURL(/\/dm\/olivia,oscar$/)
      await waitOnline(page)
      await page.getByTestId('room-title').filter({ hasText: 'olivia, oscar' }).waitFor()
      await page.getByTestId('composer-input').fill(`hello both from ${name}`)
      await page.getByTestId('composer-input').press('Enter')
      await page
        .getByTestId('message-text')
        .filter({ hasText: `both from ${name}` })
        .waitFor()
      // A reload lands in the same conversation.
      await page.reload()
      await waitOnline(page)
      await page
        .getByTestId('message-text')
        .filter({ hasText: `both from ${name}` })
        .waitFor()
      assert.equal(new URL(page.url()).pathname, '/dm/olivia,oscar')
      await shot(page, `people-group-${label}`)

      // olivia signs in later and finds it.
      const other = await openPage(browser, errors, { viewport, locale })
      await other.goto(server.url + '/')
      await other.getByTestId('login-name').fill('olivia')
      await other.getByTestId('login-password').fill('correct-horse-1')
      await other.getByTestId('login-submit').click()
      await waitOnline(other)
      await other.goto(server.url + `/dm/${name}`)
      await other
        .getByTestId('message-text')
        .filter({ hasText: `hello olivia from ${name}` })
        .waitFor()
      // The group is in her direct messages, titled by the others' display names.
      if (viewport === PHONE) await other.getByTestId('menu').click()
      await other
        .getByTestId('dm-list')
        .locator('a', { hasText: `oscar, Zoé ${label}` })
        .click()
      await other.waitForURL(new RegExp(`/dm/oscar,${name}$`))
      await other
        .getByTestId('message-text')
        .filter({ hasText: `both from ${name}` })
        .waitFor()

      // The author's display name opens the card; Escape closes it, focus back on the name.
      const author = other.getByTestId('message-author').filter({ hasText: `Zoé ${label}` })
      await author.last().click()
      const card = other.getByTestId('profile-card')
      await card
        .getByTestId('profile-card-name')
        .filter({ hasText: `Zoé ${label}` })
        .waitFor()
      assert.equal(await card.getByTestId('profile-card-user').textContent(), `@${name}`)
      assert.equal(
        await card.getByTestId('profile-card-status').getAttribute('data-status'),
        'online',
      )
      await other.keyboard.press('Escape')
      await card.waitFor({ state: 'detached' })
      await other.waitForFunction(
        () => document.activeElement?.getAttribute('data-testid') === 'message-author',
      )

      // A new display name reaches her open screen live: rows and the sidebar's title.
      if (viewport === PHONE) await page.getByTestId('menu').click()
      await page.getByTestId('people-link').click()
      await page.getByTestId('profile-display-name').fill(`Renamed ${label}`)
      await page.getByTestId('profile-save').click()
      await page.getByTestId('profile-note').filter({ hasText: saved }).waitFor()
      await other
        .getByTestId('message-author')
        .filter({ hasText: `Renamed ${label}` })
        .first()
        .waitFor()
      await other
        .getByTestId('room-title')
        .filter({ hasText: `oscar, Renamed ${label}` })
        .waitFor()
      await other.context().close()
      await page.context().close()
    })
  }

  it('away: an idle user shows as away to others (French, phone), and online again after input', async () => {
    const watcher = await openPage(browser, errors, { viewport: PHONE, locale: 'fr-FR' })
    await signUp(watcher, server.url, 'wendy')
    const idle = await openPage(browser, errors)
    // The test hook: away after 1.5 s without input instead of 10 minutes.
    await idle.addInitScript(() => localStorage.setItem('chatd.awayAfterMs', '1500'))
    await signUp(idle, server.url, 'ivy')

    await watcher.getByTestId('menu').click()
    const ivyOnline = watcher.locator('[data-testid="online-user"][data-user="ivy"]')
    await ivyOnline.locator('[data-status="away"]').waitFor()
    await watcher.getByTestId('people-link').click()
    await watcher.waitForURL(/\/people$/)
    await watcher.getByTestId('people-search').fill('ivy')
    const status = watcher
      .getByTestId('people-list')
      .locator('[data-user="ivy"]')
      .getByTestId('person-status')
    await watcher.waitForFunction(
      () =>
        document
          .querySelector('[data-user="ivy"] [data-testid="person-status"]')
          ?.getAttribute('data-status') === 'away',
    )
    assert.equal(await status.textContent(), 'Absent')
    const indicator = watcher
      .getByTestId('people-list')
      .locator('[data-user="ivy"] [data-testid="presence-indicator"]')
    assert.equal(await indicator.getAttribute('title'), 'Absent')
    await shot(watcher, 'people-away-phone-fr')

    // Input on ivy's page: active again at once, seen live.
    await idle.mouse.move(200, 200)
    await idle.mouse.move(220, 240)
    await watcher.waitForFunction(
      () =>
        document
          .querySelector('[data-user="ivy"] [data-testid="person-status"]')
          ?.getAttribute('data-status') === 'online',
    )
    assert.equal(await status.textContent(), 'En ligne')
    await idle.context().close()
    await watcher.context().close()
  })
})
