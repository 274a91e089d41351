import fs from 'node:fs'
import { fileURLToPath, URL } from 'node:url'
import type { Plugin } from 'vite'
import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

/**
 * The emoji picker's data (emoji-picker-element-data, emojibase, English and French) served from
 * our own origin at /emoji/{locale}.json: the Content-Security-Policy allows no other, and the
 * client needs no network beyond chatd. Copied into the build; served from node_modules in dev.
 */
export const EMOJI_LOCALES = ['en', 'fr'] as const
function emojiData(): Plugin {
  const file = (locale: string) =>
    fileURLToPath(
      new URL(
        `./node_modules/emoji-picker-element-data/${locale}/emojibase/data.json`,
        import.meta.url,
      ),
    )
  return {
    name: 'chatd-emoji-data',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const match = /^\/emoji\/(en|fr)\.json$/.exec(req.url ?? '')
        if (!match) return next()
        res.setHeader('content-type', 'application/json')
        fs.createReadStream(file(match[1]!)).pipe(res)
      })
    },
    generateBundle() {
      for (const locale of EMOJI_LOCALES) {
        this.emitFile({
          type: 'asset',
          fileName: `emoji/${locale}.json`,
          source: fs.readFileSync(file(locale)),
        })
      }
    },
  }
}

// The dev server forwards every chatd endpoint to a chatd running on 127.0.0.1:8080
// (`make run`), so `npm run dev` works against a real server with hot reload.
const chatd = process.env.CHATD_URL ?? 'http://127.0.0.1:8080'
const proxied = ['/api', '/send', '/users', '/healthz', '/readyz']

export default defineConfig({
  plugins: [vue(), emojiData()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      ...Object.fromEntries(proxied.map((path) => [path, { target: chatd, changeOrigin: true }])),
      '/ws': { target: chatd, ws: true, changeOrigin: true },
      '/receive': { target: chatd, ws: true, changeOrigin: true },
    },
  },
  build: {
    target: 'es2022',
    sourcemap: false,
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/__tests__/*.spec.ts'],
    restoreMocks: true,
  },
})
