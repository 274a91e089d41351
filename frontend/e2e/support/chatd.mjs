// Starts a real chatd for the end-to-end tests: a private port, a fresh SQLite file, the built
// web client as --web-root. restart() stops it (or kills it: restart({ kill: true })) and starts
// it again on the same port and DB.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
export const FRONTEND = path.resolve(here, '../..')
const REPO = path.resolve(FRONTEND, '..')

/** CHATD_BIN, else the newest of build/{ci,dev,release}/chatd. */
export function findChatd() {
  if (process.env.CHATD_BIN) return process.env.CHATD_BIN
  const candidates = ['ci', 'dev', 'release']
    .map((preset) => path.join(REPO, 'build', preset, 'chatd'))
    .filter((file) => fs.existsSync(file))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)
  if (!candidates.length) throw new Error('no chatd binary: build one or set CHATD_BIN')
  return candidates[0]
}

/**
 * @param {{ webRoot?: string, args?: string[], timeoutMs?: number, auth?: 'password' | 'open' }} [options]
 */
export async function startChatd(options = {}) {
  const bin = findChatd()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatd-e2e-'))
  const webRoot = options.webRoot ?? path.join(FRONTEND, 'dist')
  if (!fs.existsSync(path.join(webRoot, 'index.html'))) {
    throw new Error(`${webRoot}/index.html is missing: run npm run build first`)
  }
  const logFile = path.join(dir, 'chatd.log')
  let child = null
  let port = 0

  async function launch(listenPort) {
    const args = [
      '--listen',
      `127.0.0.1:${listenPort}`,
      '--db',
      `sqlite:${path.join(dir, 'chat.db')}`,
      '--auth',
      options.auth ?? 'password',
      '--password-cost',
      'min',
      '--sqlite-sync',
      'normal',
      '--web-root',
      webRoot,
      '--shutdown-grace-ms',
      '500',
      ...(options.args ?? []),
    ]
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const log = fs.createWriteStream(logFile, { flags: 'a' })
    proc.stdout.pipe(log)
    proc.stderr.pipe(log)
    const found = await new Promise((resolve, reject) => {
      let buffer = ''
      const timer = setTimeout(
        () => reject(new Error(`chatd did not start in time; log: ${logFile}`)),
        options.timeoutMs ?? 15_000,
      )
      const onData = (chunk) => {
        buffer += chunk
        const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(buffer)
        if (match) {
          clearTimeout(timer)
          proc.stdout.off('data', onData)
          proc.stderr.off('data', onData)
          resolve(Number(match[1]))
        }
      }
      proc.stdout.on('data', onData)
      proc.stderr.on('data', onData)
      proc.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`chatd exited with ${code} before listening; log: ${logFile}`))
      })
    })
    child = proc
    return found
  }

  /** SIGTERM: a graceful shutdown (close 1012); SIGKILL: a crash, sockets just drop. */
  async function stop(signal = 'SIGTERM') {
    const proc = child
    child = null
    if (!proc || proc.exitCode !== null) return
    const exited = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill(signal)
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  }

  port = await launch(0)
  return {
    get url() {
      return `http://127.0.0.1:${port}`
    },
    dir,
    logFile,
    stop: () => stop(),
    /** @param {{ kill?: boolean }} [how] */
    async restart(how = {}) {
      await stop(how.kill ? 'SIGKILL' : 'SIGTERM')
      // The port was ours a moment ago; retry briefly in case the kernel still holds it.
      for (let attempt = 0; ; attempt++) {
        try {
          await launch(port)
          return
        } catch (error) {
          if (attempt >= 10) throw error
          await new Promise((resolve) => setTimeout(resolve, 200))
        }
      }
    },
    async close() {
      await stop()
      if (!process.env.KEEP_E2E_DIR) fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A small JSON client for the native API (seeding data outside the browser). */
export function apiClient(base) {
  return async function api(method, url, body, token) {
    const response = await fetch(base + url, {
      method,
      headers: {
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body ? JSON.stringify(body) : undefined,
    })
    const text = await response.text()
    const json = text ? JSON.parse(text) : null
    if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text}`)
    return json
  }
}
