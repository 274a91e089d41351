// End-to-end: edits, deletes, reactions, replies and threads in Debian's Chromium against a real
// chatd, two users on desktops and one on a phone. Every wait is on a selector or an event,
// bounded.
import assert from 'node:assert/strict'
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

/** @type {Awaited<ReturnType<typeof startSuite>>['server']} */
let server
/** @type {import('playwright-core').Browser} */
let browser
/** @type {Record<string, { context: import('playwright-core').BrowserContext, page: import('playwright-core').Page, errors: string[] }>} */
const users = {}

async function newUser(name, viewport = DESKTOP, locale = 'en-US') {
  const errors = []
  const page = await openPage(browser, errors, { viewport, locale })
  const context = page.context()
  page.on('dialog', (dialog) => void dialog.dismiss())
  await signUp(page, server.url, name)
  users[name] = { context, page, errors }
  return users[name]
}

/** The room's row for the last message with this exact text. */
function messageRow(page, text) {
  return page
    .getByTestId('messages')
    .locator('[data-testid="message"]')
    .filter({ has: page.getByTestId('message-text').getByText(text, { exact: true }) })
    .last()
}

function rowById(page, id) {
  return page.getByTestId('messages').locator(`[data-testid="message"][data-id="${id}"]`)
}

async function send(page, text) {
  await page.getByTestId('composer-input').fill(text)
  await page.getByTestId('composer-input').press('Enter')
  const row = page
    .locator('[data-testid="message"][data-status="sent"]')
    .filter({ hasText: text })
    .last()
  await row.waitFor()
  return Number(await row.getAttribute('data-id'))
}

function reaction(row, emoji) {
  return row.locator(`[data-testid="reaction"][data-emoji="${emoji}"]`)
}

async function reactionCount(row, emoji) {
  return Number(await reaction(row, emoji).getByTestId('reaction-count').innerText())
}

/** Waits until a locator's text is `expected`. */
async function waitTextOf(locator, expected) {
  await locator.filter({ hasText: expected }).waitFor()
  assert.equal((await locator.innerText()).trim(), expected)
}

before(async () => {
  ;({ server, browser } = await startSuite())
  await newUser('alice')
  await newUser('bob')
})

after(async () => {
  for (const { errors } of Object.values(users)) assert.deepEqual(errors, [])
  await browser?.close()
  await server?.close()
})

describe('room events in the web client', () => {
  it('shows message actions on hover on a desktop, and as a menu on a phone', async () => {
    const { page: a } = users.alice
    const { page: b } = users.bob
    const id = await send(a, 'hover me')
    const mine = rowById(a, id)
    await mine.hover()
    await mine.getByTestId('action-edit').waitFor({ state: 'visible' })
    await mine.getByTestId('action-delete').waitFor({ state: 'visible' })
    await shot(a, 'desktop-message-actions')
    // the emoji picker loads its data from chatd itself (the CSP allows no other origin)
    const emojiData = a.waitForResponse((r) => r.url().endsWith('/emoji/en.json'))
    await mine.getByTestId('action-react').click()
    assert.equal((await emojiData).status(), 200)
    const picker = mine.getByTestId('emoji-picker')
    await picker.locator('#search').fill('rocket')
    await picker
      .getByRole('option', { name: /rocket/ })
      .first()
      .waitFor()
    await shot(a, 'desktop-emoji-picker')
    await picker.locator('#search').press('Escape')
    await picker.waitFor({ state: 'detached' })
    const theirs = rowById(b, id)
    await theirs.waitFor()
    await theirs.hover()
    await theirs.getByTestId('action-reply').waitFor({ state: 'visible' })
    assert.equal(await theirs.getByTestId('action-edit').count(), 0)

    const { page: c } = await newUser('carol', PHONE)
    const row = rowById(c, id)
    await row.waitFor()
    // no hover toolbar on a phone: a visible "more" button instead
    assert.equal(await row.getByTestId('message-actions').isVisible(), false)
    await row.getByTestId('action-more').click()
    await row.getByTestId('message-menu').waitFor()
    assert.equal(await row.getByTestId('menu-edit').count(), 0, 'not carol’s message')
    await shot(c, 'phone-message-menu')
    await c.keyboard.press('Escape')
    await row.getByTestId('message-menu').waitFor({ state: 'detached' })
    // a long press opens the same menu
    const box = await row.boundingBox()
    assert.ok(box)
    await row.dispatchEvent('touchstart', {
      touches: [{ identifier: 1, clientX: box.x + 20, clientY: box.y + 10 }],
    })
    await row.getByTestId('message-menu').waitFor()
    await row.dispatchEvent('touchend')
  })

  it('edits: Up in the empty composer, Enter saves, both see "(edited)"', async () => {
    const { page: a } = users.alice
    const { page: b } = users.bob
    const id = await send(a, 'helo wrld')
    await a.getByTestId('composer-input').press('ArrowUp')
    const editor = rowById(a, id).getByTestId('message-editor-input')
    await editor.waitFor()
    // Escape cancels
    await editor.press('Escape')
    await editor.waitFor({ state: 'detached' })
    await a.getByTestId('composer-input').press('ArrowUp')
    await editor.fill('hello world')
    await editor.press('Enter')
    for (const page of [a, b]) {
      await waitTextOf(rowById(page, id).getByTestId('message-text'), 'hello world')
      const mark = rowById(page, id).getByTestId('message-edited')
      await mark.waitFor()
      assert.match(await mark.getAttribute('title'), /^Edited /)
    }
  })

  it('reacts and unreacts: both users see each other’s reactions live', async () => {
    const { page: a } = users.alice
    const { page: b } = users.bob
    const id = await send(a, 'react to me')
    const onB = rowById(b, id)
    await onB.hover()
    await onB.locator('[data-testid="quick-reaction"][data-emoji="👍"]').click()
    const onA = rowById(a, id)
    await reaction(onA, '👍').waitFor()
    assert.equal(await reactionCount(onA, '👍'), 1)
    assert.equal(await reaction(onA, '👍').getAttribute('title'), 'bob reacted with 👍')
    assert.equal(await reaction(onA, '👍').getAttribute('aria-pressed'), 'false')
    // Alice adds hers by clicking the chip: highlighted for her, counted for both
    await reaction(onA, '👍').click()
    await onA.locator('[data-testid="reaction"][aria-pressed="true"][data-emoji="👍"]').waitFor()
    await waitTextOf(reaction(onB, '👍').getByTestId('reaction-count'), '2')
    // another emoji from the picker
    await onA.hover()
    await onA.getByTestId('action-react').click()
    await onA.getByTestId('emoji-picker').locator('#search').fill('rocket')
    await onA
      .getByTestId('emoji-picker')
      .getByRole('option', { name: /rocket/ })
      .first()
      .click()
    await reaction(onB, '🚀').waitFor()
    await shot(a, 'desktop-reactions')
    // Bob takes his back: one left on both sides
    await reaction(onB, '👍').click()
    await waitTextOf(reaction(onA, '👍').getByTestId('reaction-count'), '1')
    await waitTextOf(reaction(onB, '👍').getByTestId('reaction-count'), '1')
    assert.equal(await reaction(onA, '👍').getAttribute('title'), 'you reacted with 👍')
  })

  it('deletes after a confirmation: a tombstone in place for both', async () => {
    const { page: a } = users.alice
    const { page: b } = users.bob
    const id = await send(a, 'oops, wrong room')
    await rowById(b, id).waitFor()
    const row = rowById(a, id)
    await row.hover()
    await row.getByTestId('action-delete').click()
    await row.getByTestId('delete-confirm').waitFor()
    await row.getByTestId('delete-confirm-yes').click()
    for (const page of [a, b]) {
      await waitTextOf(rowById(page, id).getByTestId('message-deleted'), 'message deleted')
      assert.equal(await rowById(page, id).getByTestId('message-text').count(), 0)
    }
  })

  it('replies with a quote; the quote scrolls to its parent, loading older history', async () => {
    const { page: a } = users.alice
    const { page: b } = users.bob
    const api = apiClient(server.url)
    const token = await tokenOf(a)
    await api('POST', '/api/rooms', { name: 'threads' }, token)
    const [parentAck] = await sendFrames(a, token, [
      { type: 'send', room: 'threads', content: 'the question', client_msg_id: 'q-1' },
    ])
    const filler = Array.from({ length: 160 }, (_, i) => ({
      type: 'send',
      room: 'threads',
      content: `filler ${i + 1}`,
      client_msg_id: `f-${i + 1}`,
    }))
    await sendFrames(a, token, filler)
    await sendFrames(a, token, [
      {
        type: 'send',
        room: 'threads',
        content: 'the answer',
        client_msg_id: 'r-1',
        reply_to: parentAck.id,
      },
    ])
    await b.getByTestId('room-browse-toggle').click()
    await b.getByTestId('join-threads').click()
    const reply = messageRow(b, 'the answer')
    await reply.waitFor()
    // the parent is far older than the first page: the quote comes from GET …/messages/{id}
    await waitTextOf(reply.getByTestId('reply-quote-text'), 'the question')
    assert.equal(await rowById(b, parentAck.id).count(), 0)
    await reply.getByTestId('reply-quote').click()
    const parent = rowById(b, parentAck.id)
    await parent.waitFor()
    await b.waitForFunction(
      (id) => {
        const el = document.querySelector(`[data-testid="messages"] [data-id="${id}"]`)
        const box = document.querySelector('[data-testid="message-scroller"]')
        if (!el || !box) return false
        const r = el.getBoundingClientRect()
        const v = box.getBoundingClientRect()
        return r.top >= v.top && r.bottom <= v.bottom
      },
      parentAck.id,
      { timeout: TIMEOUT },
    )
    // the root shows its reply count
    await parent
      .getByTestId('thread-summary')
      .filter({ hasText: /^1 reply/ })
      .waitFor()
  })

  it('lists a thread in the side panel and replies into it; the count follows', async () => {
    const { page: a } = users.alice
    const { page: b } = users.bob
    await a.locator('[data-testid="room-item"][data-room="threads"]').click()
    const root = messageRow(a, 'the question')
    const summary = root.getByTestId('thread-summary')
    // Alice's log starts at the newest page: load back to the root through the quote
    await messageRow(a, 'the answer').getByTestId('reply-quote').click()
    await summary.click()
    const panel = a.getByTestId('thread-panel')
    await panel.waitFor()
    await panel.getByTestId('thread-messages').getByText('the answer', { exact: true }).waitFor()
    await panel.getByTestId('thread-composer-input').fill('and a follow-up')
    await panel.getByTestId('thread-composer-input').press('Enter')
    await panel
      .getByTestId('thread-messages')
      .locator('[data-testid="message"][data-status="sent"]')
      .filter({ hasText: 'and a follow-up' })
      .waitFor()
    await shot(a, 'desktop-thread')
    await messageRow(b, 'and a follow-up').getByTestId('reply-quote').waitFor()
    await b
      .locator('[data-testid="thread-summary"]')
      .filter({ hasText: /^2 replies/ })
      .waitFor()
    await panel.getByTestId('thread-close').click()
    await panel.waitFor({ state: 'detached' })
  })

  it('recovers edits, deletes and reactions made while offline, without a reload', async () => {
    const { page: a } = users.alice
    const { page: b, context: bobContext } = users.bob
    for (const page of [a, b]) {
      await page.locator('[data-testid="room-item"][data-room="general"]').click()
    }
    const keep = await send(a, 'to be edited')
    const gone = await send(a, 'to be deleted')
    const liked = await send(a, 'to be liked')
    await rowById(b, liked).waitFor()
    await bobContext.setOffline(true)
    await b.locator('[data-testid="connection-status"]:not([data-status="online"])').waitFor()
    const token = await tokenOf(a)
    await sendFrames(a, token, [
      { type: 'edit', room: 'general', id: keep, content: 'edited offline', client_msg_id: 'o-1' },
      { type: 'delete', room: 'general', id: gone, client_msg_id: 'o-2' },
      { type: 'react', room: 'general', id: liked, emoji: '🎉', client_msg_id: 'o-3' },
      { type: 'react', room: 'general', id: liked, emoji: '👀', client_msg_id: 'o-4' },
      { type: 'unreact', room: 'general', id: liked, emoji: '👀', client_msg_id: 'o-5' },
    ])
    await bobContext.setOffline(false)
    await waitOnline(b, 20_000)
    await waitTextOf(rowById(b, keep).getByTestId('message-text'), 'edited offline')
    await rowById(b, keep).getByTestId('message-edited').waitFor()
    await rowById(b, gone).getByTestId('message-deleted').waitFor()
    await reaction(rowById(b, liked), '🎉').waitFor()
    assert.equal(await reaction(rowById(b, liked), '👀').count(), 0)
    // no change became a row, and no message shows twice
    const ids = await b
      .getByTestId('messages')
      .locator('[data-testid="message"]')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')))
    assert.equal(new Set(ids).size, ids.length)
    await shot(b, 'desktop-recovered')
  })

  it('in French on a phone: the edit mark, the tombstone, the thread summary and the menu', async () => {
    const { page: a } = users.alice
    const { page: f } = await newUser('francoise', PHONE, 'fr-FR')
    const edited = await send(a, 'bonjour a tous')
    const gone = await send(a, 'a supprimer')
    const token = await tokenOf(a)
    await sendFrames(a, token, [
      {
        type: 'edit',
        room: 'general',
        id: edited,
        content: 'bonjour à tous',
        client_msg_id: 'fr-1',
      },
      { type: 'delete', room: 'general', id: gone, client_msg_id: 'fr-2' },
      {
        type: 'send',
        room: 'general',
        content: 'une réponse',
        client_msg_id: 'fr-3',
        reply_to: edited,
      },
    ])
    const row = rowById(f, edited)
    await waitTextOf(row.getByTestId('message-text'), 'bonjour à tous')
    await waitTextOf(row.getByTestId('message-edited'), '(modifié)')
    assert.match(await row.getByTestId('message-edited').getAttribute('title'), /^Modifié le /)
    await waitTextOf(rowById(f, gone).getByTestId('message-deleted'), 'message supprimé')
    await row
      .getByTestId('thread-summary')
      .filter({ hasText: /^1 réponse/ })
      .waitFor()
    await row.getByTestId('action-more').click()
    await waitTextOf(row.getByTestId('menu-reply'), 'Répondre')
    await shot(f, 'phone-fr-message-menu')
    await f.keyboard.press('Escape')
    await row.getByTestId('message-menu').waitFor({ state: 'detached' })
  })
})
