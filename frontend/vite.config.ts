import { fileURLToPath, URL } from 'node:url'
import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'

// The dev server forwards every chatd endpoint to a chatd running on 127.0.0.1:8080
// (`make run`), so `npm run dev` works against a real server with hot reload.
const chatd = process.env.CHATD_URL ?? 'http://127.0.0.1:8080'
const proxied = ['/api', '/send', '/users', '/healthz', '/readyz']

export default defineConfig({
  plugins: [vue()],
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
