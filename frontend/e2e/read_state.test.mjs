// End-to-end: read state on the server, in Debian's Chromium against a real chatd. One user in two
// browser contexts (a desktop in English, a phone in French): a message from another user shows
// unread in both, reading it in one clears the other at once, a room opened with unread messages
// shows the "New messages" line above the first of them, and "Mark all as read" clears every
// room. Every wait is on a selector, bounded.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { apiClient } from './support/chatd.mjs'
import {
  DESKTOP,
  PASSWORD,
  PHONE,
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
let desk
/** @type {import('playwright-core').Page} */
let phone
/** @type {import('playwright-core').Page} */
let bob
/** @type {string} */
let bobToken
/** @type {ReturnType<typeof apiClient>} */
let api
const DM = 'dm:alice:bob'

function newPage(viewport, locale) {
  return openPage(browser, errors, { viewport, locale })
}

async function signIn(page, name) {
  await page.goto(server.url + '/')
  await page.getByTestId('login-name').fill(name)
  await page.getByTestId('login-password').fill(PASSWORD)
  await page.getByTestId('login-submit').click()
  await waitOnline(page)
}

const badge = (page, room) =>
  page.locator(`[data-testid="room-item"][data-room="${room}"] [data-testid="unread-badge"]`)

/** bob sends `content` to `room` from his page, on a socket of his own; resolves with the ack. */
function bobSays(room, content) {
  return sendMessage(bob, bobToken, room, content)
}

before(async () => {
  ;({ server, browser } = await startSuite())
  api = apiClient(server.url)
  bob = await newPage(DESKTOP, 'en-US')
  await signUp(bob, server.url, 'bob')
  bobToken = await tokenOf(bob)
  desk = await newPage(DESKTOP, 'en-US')
  await signUp(desk, server.url, 'alice')
  phone = await newPage(PHONE, 'fr-FR')
  await signIn(phone, 'alice')
  await api('POST', '/api/dm/alice', undefined, bobToken)
  for (const page of [desk, phone]) {
    await page
      .locator(`[data-testid="room-item"][data-room="${DM}"]`)
      .waitFor({ state: 'attached' })
  }
})

after(async () => {
  assert.deepEqual(errors, [])
  await browser?.close()
  await server?.close()
})

describe('read state in the web client', () => {
  it('a message from another user is unread on both devices; reading it on one clears the other', async () => {
    await bobSays(DM, 'are you there?')
    for (const page of [desk, phone]) {
      await badge(page, DM).waitFor({ state: 'attached' })
      assert.equal(
        (await badge(page, DM).locator('[aria-hidden="true"]').textContent()).trim(),
        '1',
      )
    }
    await shot(phone, 'read-state-phone-unread')
    await desk.locator(`[data-testid="room-item"][data-room="${DM}"]`).click()
    await desk.getByTestId('new-messages-line').waitFor()
    await badge(desk, DM).waitFor({ state: 'detached' })
    await badge(phone, DM).waitFor({ state: 'detached' })
    await shot(desk, 'read-state-desktop-read')
  })

  it('counts survive a reload: the server has them', async () => {
    await desk.locator('[data-testid="room-item"][data-room="general"]').click()
    await bobSays(DM, 'one more thing')
    await bobSays('general', 'hello everyone')
    await badge(desk, DM).waitFor({ state: 'attached' })
    await phone.reload()
    await waitOnline(phone)
    await badge(phone, DM).waitFor({ state: 'attached' })
  })

  it('"Mark all as read" clears every room on both devices, in English and in French', async () => {
    assert.equal(
      await desk.getByTestId('mark-all-read').getAttribute('aria-label'),
      'Mark all as read',
    )
    assert.equal(
      await phone.getByTestId('mark-all-read').getAttribute('aria-label'),
      'Tout marquer comme lu',
    )
    await phone.getByTestId('menu').click()
    await phone.getByTestId('mark-all-read').click()
    for (const page of [phone, desk]) {
      await badge(page, DM).waitFor({ state: 'detached' })
    }
    await shot(phone, 'read-state-phone-all-read')
    const read = await api('GET', '/api/read', undefined, await tokenOf(desk))
    assert.deepEqual(
      read.rooms.map((state) => state.unread),
      read.rooms.map(() => 0),
    )
  })

  it('a room read while offline stays read, and the other device learns it on reconnect', async () => {
    await desk.locator('[data-testid="room-item"][data-room="general"]').click()
    await bobSays(DM, 'read me on the train')
    await badge(desk, DM).waitFor({ state: 'attached' })
    await badge(phone, DM).waitFor({ state: 'attached' })
    await desk.context().setOffline(true)
    await desk.locator('[data-testid="connection-status"]:not([data-status="online"])').waitFor()
    await desk.locator(`[data-testid="room-item"][data-room="${DM}"]`).click()
    await badge(desk, DM).waitFor({ state: 'detached' })
    // The server has not heard of it yet: the phone still shows the message unread.
    assert.equal(await badge(phone, DM).count(), 1)
    await desk.context().setOffline(false)
    await waitOnline(desk, 20_000)
    await badge(phone, DM).waitFor({ state: 'detached' })
    assert.equal(await badge(desk, DM).count(), 0, 'the welcome did not bring the badge back')
    const read = await api('GET', '/api/read', undefined, await tokenOf(desk))
    assert.equal(read.rooms.find((state) => state.room === DM)?.unread, 0)
  })
})
