// End-to-end: the built client (frontend/dist) served by a real chatd, driven in Debian's
// Chromium through playwright-core. Two users in two browser contexts. Every wait is on a
// selector or an event, bounded by the default timeout; there are no fixed sleeps.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { apiClient } from './support/chatd.mjs'
import {
  DESKTOP,
  PHONE,
  shot,
  signUp as signUpAt,
  startSuite,
  tokenOf,
  waitOnline,
  openPage,
} from './support/ui.mjs'

/** @type {Awaited<ReturnType<typeof startSuite>>['server']} */
let server
/** @type {import('playwright-core').Browser} */
let browser
/** @type {Record<string, { context: import('playwright-core').BrowserContext, page: import('playwright-core').Page, dialogs: string[], errors: string[] }>} */
const users = {}

async function newUser(name, viewport = DESKTOP) {
  const dialogs = []
  const errors = []
  const page = await openPage(browser, errors, { viewport })
  const context = page.context()
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  users[name] = { context, page, dialogs, errors }
  return users[name]
}

function signUp(page, name) {
  return signUpAt(page, server.url, name)
}

function room(page, name) {
  return page.locator(`[data-testid="room-item"][data-room="${name}"]`)
}

function messageTexts(page) {
  return page.getByTestId('messages').getByTestId('message-text').allInnerTexts()
}

async function send(page, text) {
  await page.getByTestId('composer-input').fill(text)
  await page.getByTestId('composer-input').press('Enter')
}

/** Waits until the last message with this text is stored (acked). */
async function waitSent(page, text) {
  await page
    .locator('[data-testid="message"][data-status="sent"]')
    .filter({ hasText: text })
    .last()
    .waitFor()
}

function waitText(page, text) {
  return page.getByTestId('messages').getByText(text, { exact: true }).last().waitFor()
}

before(async () => {
  ;({ server, browser } = await startSuite())
})

after(async () => {
  await browser?.close()
  await server?.close()
})

describe('chatd web client', () => {
  it('signs up two users who see each other online', async () => {
    const alice = await newUser('alice')
    await alice.page.goto(server.url + '/')
    await alice.page.getByTestId('login-form').waitFor()
    await shot(alice.page, 'desktop-login')
    await signUp(alice.page, 'alice')

    const bob = await newUser('bob')
    await signUp(bob.page, 'bob')

    const online = (page, name) =>
      page.locator(`[data-testid="online-user"][data-user="${name}"]`).waitFor()
    await online(alice.page, 'bob')
    await online(bob.page, 'alice')
    assert.equal(await alice.page.getByTestId('me').innerText(), 'alice')
  })

  it('chats in a room: create, join, typing, messages in order', async () => {
    const { page: a } = users.alice
    const { page: b } = users.bob
    await a.getByTestId('room-create-toggle').click()
    await a.getByTestId('room-create-name').fill('e2e-room')
    await a.getByTestId('room-create-name').press('Enter')
    await a.locator('[data-testid="room-title"]', { hasText: 'e2e-room' }).waitFor()

    await b.getByTestId('room-browse-toggle').click()
    await b.getByTestId('join-e2e-room').click()
    await b.locator('[data-testid="room-title"]', { hasText: 'e2e-room' }).waitFor()
    // Alice sees Bob join the room (a membership notice).
    await a.getByTestId('notice').filter({ hasText: 'bob joined the room' }).waitFor()

    // Typing indicator: Bob types, Alice sees it.
    await b.getByTestId('composer-input').pressSequentially('hel')
    await a.getByTestId('typing').filter({ hasText: 'bob is typing…' }).waitFor()
    await b.getByTestId('composer-input').fill('')

    await send(a, 'hello bob')
    await waitText(b, 'hello bob')
    await send(b, 'hi alice')
    await send(b, 'line one\nline two') // typed with fill; Enter sends
    await waitText(a, 'hi alice')
    await a.getByTestId('messages').getByText('line two').waitFor()
    assert.deepEqual(await messageTexts(a), ['hello bob', 'hi alice', 'line one\nline two'])
    // Two consecutive messages from Bob: the second is grouped under the first.
    assert.equal(await a.locator('[data-testid="message"].grouped').count(), 1)
    await shot(a, 'desktop-room')
    await shot(b, 'desktop-room-bob')

    // Bob leaves the room, once he confirms: it goes from his list, and Alice sees him leave.
    await b.getByTestId('leave-room').click()
    await b.getByTestId('leave-room-yes').click()
    await room(b, 'e2e-room').waitFor({ state: 'detached' })
    await b.locator('[data-testid="room-title"]', { hasText: 'general' }).waitFor()
    await a.getByTestId('notice').filter({ hasText: 'bob left the room' }).waitFor()
  })

  it('Shift+Enter adds a line, Enter sends', async () => {
    const { page: a } = users.alice
    const input = a.getByTestId('composer-input')
    await input.pressSequentially('first')
    await input.press('Shift+Enter')
    await input.pressSequentially('second')
    assert.equal(await input.inputValue(), 'first\nsecond')
    await input.press('Enter')
    await waitSent(a, 'second')
    assert.equal(await input.inputValue(), '')
  })

  it('sends a direct message from the online list (through the card), with an unread badge', async () => {
    const { page: a } = users.alice
    const { page: b } = users.bob
    await b.locator('[data-testid="room-item"][data-room="general"]').click()
    // The online list opens bob's card, whose "Message" opens the DM.
    await a.locator('[data-testid="online-user"][data-user="bob"]').click()
    await a.getByTestId('profile-card-message').click()
    await a.locator('[data-testid="room-title"]', { hasText: 'bob' }).waitFor()
    await send(a, 'psst, private')
    await waitSent(a, 'psst, private')

    const dm = room(b, 'dm:alice:bob')
    await dm.getByTestId('unread-badge').filter({ hasText: '1' }).waitFor()
    await dm.click()
    await waitText(b, 'psst, private')
    await dm.getByTestId('unread-badge').waitFor({ state: 'detached' })
  })

  it('renders an XSS payload as text, links safely', async () => {
    const { page: a } = users.alice
    const { page: b, dialogs } = users.bob
    const payloads = [
      '<img src=x onerror="alert(1)">',
      '<script>alert(2)</script>',
      'see https://example.com/a_(b) and javascript:alert(3)',
    ]
    for (const text of payloads) await send(a, text)
    for (const text of payloads) await waitText(b, text)
    const list = b.getByTestId('messages')
    assert.equal(await list.locator('img').count(), 0)
    assert.equal(await list.locator('script').count(), 0)
    const link = list.locator('a', { hasText: 'https://example.com/a_(b)' })
    assert.equal(await link.getAttribute('href'), 'https://example.com/a_(b)')
    assert.equal(await link.getAttribute('target'), '_blank')
    assert.equal(await link.getAttribute('rel'), 'noopener noreferrer nofollow ugc')
    assert.equal(await list.locator('a[href^="javascript"]').count(), 0)
    assert.deepEqual(dialogs, [])
    assert.deepEqual(users.alice.dialogs, [])
  })

  it('recovers every message once, in order, after going offline', async () => {
    const { page: a } = users.alice
    const { page: b, context: bobContext } = users.bob
    await a.locator('[data-testid="room-item"][data-room="general"]').click()
    await b.locator('[data-testid="room-item"][data-room="general"]').click()
    await send(a, 'before offline')
    await waitText(b, 'before offline')

    await bobContext.setOffline(true)
    await b.locator('[data-testid="connection-status"]:not([data-status="online"])').waitFor()
    const missed = ['missed 1', 'missed 2', 'missed 3', 'missed 4', 'missed 5']
    for (const text of missed) await send(a, text)
    for (const text of missed) await waitSent(a, text)
    // Bob, offline, writes too: it waits in the outbox, shown as sending.
    await send(b, 'written offline')
    await b
      .locator('[data-testid="message"][data-status="sending"]')
      .filter({ hasText: 'written offline' })
      .waitFor()

    await bobContext.setOffline(false)
    await waitOnline(b, 20_000)
    await waitText(b, 'missed 5')
    await waitSent(b, 'written offline')
    await waitText(a, 'written offline')

    const texts = await messageTexts(b)
    const start = texts.indexOf('before offline')
    assert.deepEqual(texts.slice(start, start + 1 + missed.length), ['before offline', ...missed])
    for (const text of [...missed, 'written offline']) {
      assert.equal(texts.filter((t) => t === text).length, 1, `${text} shown once on bob's side`)
      const aliceTexts = await messageTexts(a)
      assert.equal(aliceTexts.filter((t) => t === text).length, 1, `${text} once on alice's side`)
    }
  })

  it('survives a server restart: queued sends go once, nothing is missed', async () => {
    const { page: a } = users.alice
    const { page: b } = users.bob
    await server.stop()
    await a.locator('[data-testid="connection-status"][data-status="waiting"]').waitFor()
    await b.locator('[data-testid="connection-status"][data-status="waiting"]').waitFor()
    await send(a, 'queued while down')
    await a
      .locator('[data-testid="message"][data-status="sending"]')
      .filter({ hasText: 'queued while down' })
      .waitFor()
    await shot(a, 'desktop-offline')

    await server.restart()
    // The quick retries reconnect both within about a second of the server answering.
    await waitOnline(a, 20_000)
    await waitOnline(b, 20_000)
    await waitSent(a, 'queued while down')
    await waitText(b, 'queued while down')
    for (const page of [a, b]) {
      const texts = await messageTexts(page)
      assert.equal(texts.filter((t) => t === 'queued while down').length, 1)
    }
  })

  it('loads history while scrolling up', async () => {
    const { page: a } = users.alice
    const { page: b } = users.bob
    // Alice seeds 220 messages in a new room through the API and a WebSocket of her own,
    // outside the UI; then Bob joins the room and reads its history.
    const api = apiClient(server.url)
    const token = await tokenOf(a)
    await api('POST', '/api/rooms', { name: 'history' }, token)
    const count = 220
    await a.evaluate(
      async ({ token, count }) => {
        const ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`)
        await new Promise((resolve, reject) => {
          let acked = 0
          ws.onerror = reject
          ws.onmessage = (event) => {
            const frame = JSON.parse(event.data)
            if (frame.type === 'welcome') {
              for (let i = 1; i <= count; i++) {
                const content = `seed ${String(i).padStart(3, '0')}`
                ws.send(
                  JSON.stringify({
                    type: 'send',
                    room: 'history',
                    content,
                    client_msg_id: `seed-${i}`,
                  }),
                )
              }
            } else if (frame.type === 'ack' && ++acked === count) resolve(undefined)
            else if (frame.type === 'error') reject(new Error(frame.message))
          }
        })
        ws.close()
      },
      { token, count },
    )
    await b.getByTestId('room-browse-toggle').click()
    await b.getByTestId('join-history').click()
    await b.locator('[data-testid="room-title"]', { hasText: 'history' }).waitFor()
    await waitText(b, `seed ${count}`)
    const first = await messageTexts(b)
    assert.ok(first.length < count, `the first view is one page, not all (${first.length})`)
    // Scroll to the top until the beginning of the room shows.
    const scroller = b.getByTestId('message-scroller')
    const beginning = b.getByTestId('room-beginning')
    let pages = 0
    while (!(await beginning.isVisible())) {
      assert.ok(++pages <= 10, 'history ends within 10 pages')
      const before = (await messageTexts(b)).length
      await scroller.evaluate((el) => {
        el.scrollTop = 0
      })
      await b.waitForFunction(
        (n) =>
          document.querySelectorAll('[data-testid="message-text"]').length > n ||
          document.querySelector('[data-testid="room-beginning"]') !== null,
        before,
      )
    }
    assert.ok(pages >= 2, `scrolled through several pages (${pages})`)
    const texts = await messageTexts(b)
    const expected = Array.from(
      { length: count },
      (_, i) => `seed ${String(i + 1).padStart(3, '0')}`,
    )
    assert.deepEqual(texts, expected)

    // Bob reads old messages; a new one arrives below: a button offers to jump to it.
    await room(a, 'history').click()
    await send(a, 'news at the bottom')
    await b.getByTestId('jump-to-latest').click()
    await b.getByTestId('jump-to-latest').waitFor({ state: 'detached' })
    await b.getByText('news at the bottom').waitFor()
    const gap = await scroller.evaluate((el) => el.scrollHeight - el.scrollTop - el.clientHeight)
    assert.ok(gap < 80, `scrolled to the bottom (${gap}px left)`)
  })

  it('switches to French and keeps the choice', async () => {
    const { page: a } = users.alice
    await room(a, 'general').click()
    await a.getByTestId('language').selectOption('fr')
    await a.getByTestId('sign-out').filter({ hasText: 'Se déconnecter' }).waitFor()
    await a.reload()
    await waitOnline(a)
    await a.getByTestId('sign-out').filter({ hasText: 'Se déconnecter' }).waitFor()
    await a.getByTestId('language').selectOption('en')
    await a.getByTestId('sign-out').filter({ hasText: 'Sign out' }).waitFor()
  })

  it('works on a phone-sized window with a drawer', async () => {
    const carol = await newUser('carol', PHONE)
    const p = carol.page
    await p.goto(server.url + '/')
    await p.getByTestId('login-form').waitFor()
    await shot(p, 'phone-login')
    await signUp(p, 'carol')
    await waitText(p, 'queued while down')
    const sidebar = p.getByTestId('sidebar')
    assert.equal(await sidebar.isVisible(), false, 'the sidebar is a closed drawer')
    await shot(p, 'phone-chat')
    await p.getByTestId('menu').click()
    await room(p, 'general').waitFor({ state: 'visible' })
    await shot(p, 'phone-drawer')
    // Escape closes the drawer (keyboard use).
    await p.keyboard.press('Escape')
    await sidebar.waitFor({ state: 'hidden' })
    await send(p, 'hello from a phone')
    await waitSent(p, 'hello from a phone')
    await shot(users.bob.page, 'desktop-chat-bob')
    await users.bob.page.emulateMedia({ colorScheme: 'dark' })
    await shot(users.bob.page, 'desktop-chat-dark')
    await p.emulateMedia({ colorScheme: 'dark' })
    await shot(p, 'phone-chat-dark')
  })

  it('signs out', async () => {
    const { page: b } = users.bob
    await b.getByTestId('sign-out').click()
    await b.getByTestId('login-form').waitFor()
    const cookies = await b.context().cookies()
    assert.equal(
      cookies.find((c) => c.name === 'chatd_session'),
      undefined,
      'the cookie is cleared',
    )
    for (const user of Object.values(users)) assert.deepEqual(user.errors, [])
  })
})
