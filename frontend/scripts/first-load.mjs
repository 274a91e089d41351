// First load of the web client in Debian's Chromium against a real chatd (docs/benchmarks.md,
// "First load of the web client"): bytes over the wire and time from navigation to the page
// being usable, cold (a new browser profile, empty cache) and warm (a reload), for the sign-in
// page (usable: the name field is shown) and for a signed-in user (usable: the connection status
// says "Connected"). Measured twice, against the build as it is (with its .br and .gz copies)
// and against the same build without them, which is what chatd sent before it had them.
//
//   node scripts/first-load.mjs [--runs N] [--json FILE]
//
// Needs `npm run build` and a chatd binary (CHATD_BIN, else the newest build/{ci,dev,release}).
// Bytes are what Chromium's network stack received for every HTTP request of the load (headers
// included; WebSocket frames not), from the DevTools protocol's Network.loadingFinished;
// requests are those the page made, answered from the cache or not.
// Times are the median of the runs, bytes and requests those of the last run.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { launchBrowser } from '../e2e/support/browser.mjs'
import { FRONTEND, startChatd } from '../e2e/support/chatd.mjs'
import { DESKTOP, signUp } from '../e2e/support/ui.mjs'

const { values: flags } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, json: { type: 'string' } },
})
const RUNS = Number(flags.runs)
const TIMEOUT = 30_000
const DIST = path.join(FRONTEND, 'dist')
const READY = {
  login: '[data-testid="login-name"]',
  chat: '[data-testid="connection-status"][data-status="online"]',
}

/** Records, in the page, when each READY selector first matches (ms since navigation start). */
function recordReadiness(selectors) {
  const seen = {}
  Object.defineProperty(window, '__firstLoad', { value: seen })
  const check = () => {
    for (const [name, selector] of Object.entries(selectors)) {
      if (!(name in seen) && document.querySelector(selector)) seen[name] = performance.now()
    }
  }
  new MutationObserver(check).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['data-status', 'data-testid'],
  })
}

/** One page with its network counters; `load` navigates (or reloads) and measures. */
async function measuredPage(context) {
  const page = await context.newPage()
  await page.addInitScript(recordReadiness, READY)
  const cdp = await context.newCDPSession(page)
  await cdp.send('Network.enable')
  let bytes = 0
  let requests = 0
  cdp.on('Network.requestWillBeSent', (event) => {
    if (!event.request.url.startsWith('data:')) requests++
  })
  cdp.on('Network.loadingFinished', (event) => {
    bytes += event.encodedDataLength
  })
  return {
    page,
    /** @param {'login' | 'chat'} ready @param {() => Promise<unknown>} navigate */
    async load(ready, navigate) {
      bytes = 0
      requests = 0
      await navigate()
      await page.locator(READY[ready]).waitFor({ timeout: TIMEOUT })
      await page.waitForLoadState('networkidle', { timeout: TIMEOUT })
      const ms = await page.evaluate((name) => window.__firstLoad[name], ready)
      return { bytes, requests, ms }
    },
  }
}

/** Cold and warm loads of the sign-in page, then of the chat for a user who signed in there. */
async function oneRun(browser, url, name) {
  const anonymous = await browser.newContext({ viewport: DESKTOP, locale: 'en-US' })
  const first = await measuredPage(anonymous)
  const loginCold = await first.load('login', () => first.page.goto(url + '/login'))
  const loginWarm = await first.load('login', () => first.page.reload())
  await signUp(first.page, url, name)
  // Whatever keeps the session (cookies, localStorage, sessionStorage) goes to a fresh profile.
  const storageState = await anonymous.storageState()
  const session = await first.page.evaluate(() => Object.entries(sessionStorage))
  await anonymous.close()

  const signedIn = await browser.newContext({ viewport: DESKTOP, locale: 'en-US', storageState })
  await signedIn.addInitScript((entries) => {
    for (const [key, value] of entries) {
      if (sessionStorage.getItem(key) === null) sessionStorage.setItem(key, value)
    }
  }, session)
  const second = await measuredPage(signedIn)
  const chatCold = await second.load('chat', () => second.page.goto(url + '/'))
  const chatWarm = await second.load('chat', () => second.page.reload())
  await signedIn.close()
  return {
    'login-cold': loginCold,
    'login-warm': loginWarm,
    'chat-cold': chatCold,
    'chat-warm': chatWarm,
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

async function measure(browser, label, webRoot) {
  const server = await startChatd({ webRoot })
  try {
    const runs = []
    for (let run = 0; run < RUNS; run++) {
      runs.push(await oneRun(browser, server.url, `${label}${run}`))
    }
    const summary = {}
    for (const load of Object.keys(runs[0])) {
      const last = runs.at(-1)[load]
      summary[load] = {
        bytes: last.bytes,
        requests: last.requests,
        ms_median: Math.round(median(runs.map((r) => r[load].ms))),
        ms: runs.map((r) => Math.round(r[load].ms)),
      }
    }
    return summary
  } finally {
    await server.close()
  }
}

if (!fs.existsSync(path.join(DIST, 'index.html.br'))) {
  throw new Error(`${DIST} has no precompressed copies: run npm run build first`)
}
const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'chatd-first-load-'))
fs.cpSync(DIST, plain, { recursive: true, filter: (source) => !/\.(br|gz)$/.test(source) })
const loadBefore = os
  .loadavg()
  .map((l) => l.toFixed(2))
  .join(' ')
const browser = await launchBrowser()
try {
  const result = {
    date: new Date().toISOString(),
    runs: RUNS,
    chromium: browser.version(),
    load_before: loadBefore,
    precompressed: await measure(browser, 'fast', DIST),
    identity: await measure(browser, 'plain', plain),
    load_after: os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
  }
  console.log(
    `Chromium ${result.chromium}; ${RUNS} runs; load ${loadBefore} -> ${result.load_after}`,
  )
  console.log('load        | precompressed: bytes  requests  ms | identity: bytes  requests  ms')
  for (const load of Object.keys(result.precompressed)) {
    const a = result.precompressed[load]
    const b = result.identity[load]
    console.log(
      `${load.padEnd(11)} | ${String(a.bytes).padStart(20)} ${String(a.requests).padStart(9)} ${String(a.ms_median).padStart(3)} | ` +
        `${String(b.bytes).padStart(15)} ${String(b.requests).padStart(9)} ${String(b.ms_median).padStart(3)}`,
    )
  }
  if (flags.json) fs.writeFileSync(flags.json, JSON.stringify(result, null, 2) + '\n')
} finally {
  await browser.close()
  fs.rmSync(plain, { recursive: true, force: true })
}
