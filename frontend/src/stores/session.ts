// Who is signed in, and the HTTP client that carries their token. The token lives in
// sessionStorage: one identity per browser tab, kept across reloads, gone when the tab closes
// (docs/web-client.md explains the choice).
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'
import { createApiClient, type AuthMode, type ServerConfig, type SessionInfo } from '@/api/http'

const STORAGE_KEY = 'chatd.session'

interface StoredSession {
  token: string
  user_name: string
  expires_ms: number
}

function readStored(): StoredSession | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY)
    if (!raw) return null
    const value = JSON.parse(raw) as Partial<StoredSession>
    if (typeof value.token !== 'string' || typeof value.user_name !== 'string') return null
    const expires = typeof value.expires_ms === 'number' ? value.expires_ms : 0
    if (expires > 0 && expires < Date.now()) return null
    return { token: value.token, user_name: value.user_name, expires_ms: expires }
  } catch {
    return null
  }
}

export const useSessionStore = defineStore('session', () => {
  const stored = readStored()
  /** Bearer token for HTTP and `/ws?token=`; null when signed out. */
  const token = ref<string | null>(stored?.token ?? null)
  const userName = ref<string | null>(stored?.user_name ?? null)
  /** `GET /api/config`, loaded once. */
  const config = ref<ServerConfig | null>(null)
  /** Set when the server refused our token, so the sign-in screen can say why. */
  const expired = ref(false)

  const signedIn = computed(() => token.value !== null && userName.value !== null)
  const authMode = computed<AuthMode>(() => config.value?.auth ?? 'password')
  const maxMessageLength = computed(() => config.value?.limits.max_message_length ?? 4000)

  const api = createApiClient({
    getToken: () => token.value,
    onUnauthorized: () => expire(),
  })

  async function loadConfig(): Promise<ServerConfig> {
    if (!config.value) config.value = await api.config()
    return config.value
  }

  function adopt(session: SessionInfo) {
    token.value = session.token
    userName.value = session.user_name
    expired.value = false
    try {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session))
    } catch {
      // storage disabled: the session lasts until reload
    }
  }

  function clear() {
    token.value = null
    userName.value = null
    try {
      sessionStorage.removeItem(STORAGE_KEY)
    } catch {
      // nothing stored
    }
  }

  /** Password mode: user name and password. Open mode: a name only. */
  async function signIn(name: string, password?: string) {
    adopt(await api.login(name, authMode.value === 'open' ? undefined : password))
  }

  async function signUp(name: string, password: string) {
    adopt(await api.register(name, password))
  }

  /** Revokes the token on the server (best effort) and forgets it here. */
  async function signOut() {
    if (token.value) {
      try {
        await api.logout()
      } catch {
        // the token is forgotten locally anyway
      }
    }
    clear()
  }

  /**
   * Signs out everywhere: every session of this user stops working on the server and its
   * sockets are closed; this one is forgotten here. Throws when the server could not do it,
   * and keeps this session then, so the user can try again.
   */
  async function signOutEverywhere() {
    if (token.value) await api.logoutAll()
    clear()
  }

  /** The server no longer accepts our token. */
  function expire() {
    if (!token.value) return
    clear()
    expired.value = true
  }

  return {
    token,
    userName,
    config,
    expired,
    signedIn,
    signOutEverywhere,
    authMode,
    maxMessageLength,
    api,
    loadConfig,
    signIn,
    signUp,
    signOut,
    expire,
  }
})
