import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, URL } from 'node:url'
import zlib from 'node:zlib'
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

/**
 * Precompressed copies of the build: `file.br` (brotli, quality 11) and `file.gz` (gzip, level 9)
 * beside every compressible file of dist/ (the bundle, the copied public files, the emoji data),
 * kept only when smaller than the file. chatd sends the copy the browser accepts as it is, so
 * nothing is compressed per request and the slowest settings cost only build time. Node's zlib
 * does both codings, so this needs no plugin from npm.
 */
const COMPRESSIBLE = /\.(html|js|mjs|css|json|svg|txt|xml|ico|map|webmanifest)$/
function precompress(): Plugin {
  let outDir = 'dist'
  return {
    name: 'chatd-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir)
    },
    closeBundle() {
      const files = fs
        .readdirSync(outDir, { recursive: true, encoding: 'utf8' })
        .filter((name) => COMPRESSIBLE.test(name))
      for (const name of files) {
        const file = path.join(outDir, name)
        const source = fs.readFileSync(file)
        const copies: [string, Buffer][] = [
          [
            '.br',
            zlib.brotliCompressSync(source, {
              params: {
                [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
                [zlib.constants.BROTLI_PARAM_MODE]: zlib.constants.BROTLI_MODE_TEXT,
                [zlib.constants.BROTLI_PARAM_SIZE_HINT]: source.length,
              },
            }),
          ],
          ['.gz', zlib.gzipSync(source, { level: zlib.constants.Z_BEST_COMPRESSION })],
        ]
        for (const [suffix, copy] of copies) {
          if (copy.length < source.length) fs.writeFileSync(file + suffix, copy)
          else fs.rmSync(file + suffix, { force: true })
        }
      }
    },
  }
}

// The dev server forwards every chatd endpoint to a chatd running on 127.0.0.1:8080
// (`make run`), so `npm run dev` works against a real server with hot reload. The Host header is
// passed unchanged (no changeOrigin): chatd accepts the session cookie's requests and WebSocket
// only from an Origin naming the Host it was asked for, here the dev server's.
const chatd = process.env.CHATD_URL ?? 'http://127.0.0.1:8080'
const proxied = ['/api', '/send', '/users', '/healthz', '/readyz']

export default defineConfig({
  plugins: [vue(), emojiData(), precompress()],
  resolve: {
    alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) },
  },
  server: {
    host: '127.0.0.1',
    proxy: {
      ...Object.fromEntries(proxied.map((path) => [path, { target: chatd }])),
      '/ws': { target: chatd, ws: true },
      '/receive': { target: chatd, ws: true },
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
