// What the browser suites share: viewports, the test password, one chatd and one Chromium per
// suite, signing up, waiting for the live connection, tokens, frames sent outside the UI and
// screenshots.
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { launchBrowser } from './browser.mjs'
import { FRONTEND, startChatd } from './chatd.mjs'

export const TIMEOUT = 10_000
export const DESKTOP = { width: 1280, height: 800 }
export const PHONE = { width: 390, height: 844 }
export const PASSWORD = 'correct-horse-1'
const SHOTS = path.join(FRONTEND, 'e2e', 'screenshots')

/**
 * A chatd whose rate limit the suite's bursts stay under, and a headless Chromium.
 * @returns {Promise<{ server: Awaited<ReturnType<typeof startChatd>>, browser: import('playwright-core').Browser }>}
 */
export async function startSuite() {
  fs.mkdirSync(SHOTS, { recursive: true })
  const server = await startChatd({ args: ['--rate-per-second', '500', '--rate-burst', '500'] })
  const browser = await launchBrowser()
  return { server, browser }
}

export function waitOnline(page, timeout = TIMEOUT) {
  return page
    .locator('[data-testid="connection-status"][data-status="online"]')
    .waitFor({ timeout })
}

/** Creates the account `name` through the sign-up form at `url` and waits until online. */
export async function signUp(page, url, name) {
  await page.goto(url + '/')
  await page.getByTestId('login-toggle').click()
  await page.getByTestId('login-name').fill(name)
  await page.getByTestId('login-password').fill(PASSWORD)
  await page.getByTestId('login-submit').click()
  await waitOnline(page)
}

/**
 * Token of a signed-in page: its context's HttpOnly session cookie (no script of the page can
 * read it), used by the tests as a bearer token.
 */
export async function tokenOf(page) {
  const cookie = (await page.context().cookies()).find((c) => c.name === 'chatd_session')
  if (!cookie?.value) throw new Error('the page has no session cookie')
  return cookie.value
}

export async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) })
}

/** Sends frames on a WebSocket of the page's user, outside the UI; resolves with the acks. */
export function sendFrames(page, token, frames) {
  return page.evaluate(
    async ({ token, frames }) => {
      const ws = new WebSocket(`ws://${location.host}/ws?token=${encodeURIComponent(token)}`)
      const acks = await new Promise((resolve, reject) => {
        const got = []
        ws.onerror = reject
        ws.onmessage = (event) => {
          const frame = JSON.parse(event.data)
          if (frame.type === 'welcome') for (const f of frames) ws.send(JSON.stringify(f))
          else if (frame.type === 'ack' && got.push(frame) === frames.length) resolve(got)
          else if (frame.type === 'error') reject(new Error(`${frame.code}: ${frame.message}`))
        }
      })
      ws.close()
      return acks
    },
    { token, frames },
  )
}

/** Sends one message as the page's user, outside the UI; resolves with its ack. */
export async function sendMessage(page, token, room, content) {
  const [ack] = await sendFrames(page, token, [
    { type: 'send', room, content, client_msg_id: `e2e-${randomUUID()}` },
  ])
  return ack
}

/**
 * Collects every Content-Security-Policy refusal in `page` into `into`: each
 * `securitypolicyviolation` event (composed, so it leaves shadow roots such as the emoji
 * picker's) and Chromium's console report of it. Call before the first navigation.
 * @param {import('playwright-core').Page} page
 * @param {string[]} into
 */
export async function watchCsp(page, into) {
  await page.addInitScript(() => {
    document.addEventListener(
      'securitypolicyviolation',
      (event) =>
        console.error(
          `CSP violation: ${event.effectiveDirective} refused ${event.blockedURI || 'inline'} ` +
            `at ${event.sourceFile}:${event.lineNumber}`,
        ),
      true,
    )
  })
  page.on('console', (message) => {
    if (/Content Security Policy|CSP violation/i.test(message.text())) into.push(message.text())
  })
}

/** The policy's source list for one directive ("script-src"), or undefined. */
export function cspDirective(policy, name) {
  const directive = (policy ?? '')
    .split(';')
    .map((part) => part.trim().split(/\s+/))
    .find(([directiveName]) => directiveName === name)
  return directive?.slice(1)
}

/**
 * A page in a new browser context: the viewport (a phone one with touch), locale and colour
 * scheme asked for, reduced motion and the suites' timeout. Its page errors and
 * Content-Security-Policy refusals are pushed to `errors`, which a suite expects to stay empty.
 * @param {import('playwright-core').Browser} browser
 * @param {string[]} errors
 * @param {{ viewport?: { width: number, height: number }, locale?: string, colorScheme?: 'light' | 'dark' }} [options]
 */
export async function openPage(
  browser,
  errors,
  { viewport = DESKTOP, locale = 'en-US', colorScheme = 'light' } = {},
) {
  const phone = viewport === PHONE
  const context = await browser.newContext({
    viewport,
    locale,
    colorScheme,
    reducedMotion: 'reduce',
    hasTouch: phone,
    isMobile: phone,
  })
  context.setDefaultTimeout(TIMEOUT)
  const page = await context.newPage()
  page.on('pageerror', (error) => errors.push(String(error)))
  await watchCsp(page, errors)
  return page
}
