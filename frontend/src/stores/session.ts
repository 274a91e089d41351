// Who is signed in, and the HTTP client. The session is an HttpOnly cookie that no script sees
// (docs/security.md "Staying signed in"): every tab and a restarted browser share it, and a page
// asks `GET /api/me` once (restore) whether it is signed in. The CSRF token that state-changing
// requests carry lives in memory only; `/api/me` and the sign-in answers hand it to each page.
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { createApiClient, type AuthMode, type ServerConfig, type SessionInfo } from '@/api/http'

export const useSessionStore = defineStore('session', () => {
  const userName = ref<string | null>(null)
  /** The session's CSRF token (`X-CSRF-Token`); null when signed out. */
  const csrfToken = ref<string | null>(null)
  /** `GET /api/config`, loaded once. */
  const config = ref<ServerConfig | null>(null)
  /** Set when the server refused our session, so the sign-in screen can say why. */
  const expired = ref(false)

  const signedIn = computed(() => userName.value !== null)
  const authMode = computed<AuthMode>(() => config.value?.auth ?? 'password')
  const maxMessageLength = computed(() => config.value?.limits.max_message_length ?? 4000)

  const api = createApiClient({
    getCsrfToken: () => csrfToken.value,
    onCsrfToken: (value) => {
      csrfToken.value = value
    },
    onUnauthorized: () => expire(),
  })

  async function loadConfig(): Promise<ServerConfig> {
    if (!config.value) config.value = await api.config()
    return config.value
  }

  let restoring: Promise<void> | null = null
  /**
   * Asks the server once per page whether the cookie signs us in. Without an answer (no
   * session, or the server unreachable) the page starts signed out.
   */
  function restore(): Promise<void> {
    restoring ??= api.me().then(
      (me) => {
        if (userName.value === null) userName.value = me.user_name
      },
      () => undefined,
    )
    return restoring
  }

  function adopt(session: SessionInfo) {
    userName.value = session.user_name
    expired.value = false
  }

  function clear() {
    userName.value = null
    csrfToken.value = null
  }

  /** Password mode: user name and password. Open mode: a name only. */
  async function signIn(name: string, password?: string) {
    adopt(await api.login(name, authMode.value === 'open' ? undefined : password))
  }

  async function signUp(name: string, password: string) {
    adopt(await api.register(name, password))
  }

  /** Ends the session on the server, which clears the cookie (best effort), and here. */
  async function signOut() {
    if (signedIn.value) {
      try {
        await api.logout()
      } catch {
        // signed out here anyway
      }
    }
    clear()
  }

  /**
   * Signs out everywhere: every session of this user stops working on the server and its
   * sockets are closed. Throws when the server could not do it, and keeps this session then, so
   * the user can try again.
   */
  async function signOutEverywhere() {
    if (signedIn.value) await api.logoutAll()
    clear()
  }

  /** The server no longer accepts our session. */
  function expire() {
    if (!signedIn.value) return
    clear()
    expired.value = true
  }

  return {
    userName,
    csrfToken,
    config,
    expired,
    signedIn,
    signOutEverywhere,
    authMode,
    maxMessageLength,
    api,
    loadConfig,
    restore,
    signIn,
    signUp,
    signOut,
    expire,
  }
})
