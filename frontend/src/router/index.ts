import { createRouter, createWebHistory } from 'vue-router'
import LoginView from '@/views/LoginView.vue'
import { useSessionStore } from '@/stores/session'
import { safeRedirect } from './links'

// The chat screen is its own chunk: the sign-in page loads without it. Every chat route uses this
// one component, so moving between rooms keeps the screen (and its socket) mounted.
const ChatView = () => import('@/views/ChatView.vue')

const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes: [
    // `/` opens the room used last on this device (useChatRoute), then names it in the URL.
    { path: '/', name: 'chat', component: ChatView, meta: { requiresAuth: true } },
    { path: '/r/:room/:id?', name: 'room', component: ChatView, meta: { requiresAuth: true } },
    { path: '/dm/:user/:id?', name: 'dm', component: ChatView, meta: { requiresAuth: true } },
    { path: '/people', name: 'people', component: ChatView, meta: { requiresAuth: true } },
    { path: '/login', name: 'login', component: LoginView },
    { path: '/:pathMatch(.*)*', redirect: '/' },
  ],
})

// The first navigation waits for the server to say whether the session cookie signs us in.
router.beforeEach(async (to) => {
  const session = useSessionStore()
  await session.restore()
  if (to.meta.requiresAuth && !session.signedIn) {
    // Signing in continues to the page first asked for (LoginView follows `redirect`).
    return to.fullPath === '/'
      ? { name: 'login' }
      : { name: 'login', query: { redirect: to.fullPath } }
  }
  if (to.name === 'login' && session.signedIn) {
    return safeRedirect(to.query.redirect) ?? { name: 'chat' }
  }
  return true
})

export default router
