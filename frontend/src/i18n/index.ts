// A small typed i18n module: one catalogue per language (locales/*.ts), a reactive current
// locale, and t() / tn() whose keys are checked by TypeScript. The language comes from
// localStorage ('chatd.locale'), else navigator.language, else English.
import { ref } from 'vue'
import en from './locales/en'
import fr from './locales/fr'

type Widen<T> = { [K in keyof T]: T[K] extends string ? string : Widen<T[K]> }
/** The shape every catalogue has: English's, with any strings. */
export type Catalog = Widen<typeof en>

type Plural = { one: string; other: string }
type Join<P extends string, K extends string> = P extends '' ? K : `${P}.${K}`
type Paths<T, P extends string = ''> = {
  [K in keyof T & string]: T[K] extends string
    ? Join<P, K>
    : T[K] extends Plural
      ? never
      : Paths<T[K], Join<P, K>>
}[keyof T & string]
type PluralPaths<T, P extends string = ''> = {
  [K in keyof T & string]: T[K] extends string
    ? never
    : T[K] extends Plural
      ? Join<P, K>
      : PluralPaths<T[K], Join<P, K>>
}[keyof T & string]

/** A key of a plain string, e.g. 'auth.signIn'. */
export type MessageKey = Paths<Catalog>
/** A key of a plural pair, e.g. 'chat.unread'. */
export type PluralKey = PluralPaths<Catalog>
export type Params = Record<string, string | number>

export const LOCALES = ['en', 'fr'] as const
export type Locale = (typeof LOCALES)[number]
export const LOCALE_NAMES: Record<Locale, string> = { en: 'English', fr: 'Français' }

const catalogs: Record<Locale, Catalog> = { en, fr }
const STORAGE_KEY = 'chatd.locale'

function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value)
}

/** Stored choice, then the browser's languages, then English. */
export function detectLocale(
  stored: string | null = readStored(),
  languages: readonly string[] = typeof navigator === 'undefined'
    ? []
    : navigator.languages?.length
      ? navigator.languages
      : [navigator.language],
): Locale {
  if (isLocale(stored)) return stored
  for (const language of languages) {
    const base = language?.toLowerCase().split('-')[0]
    if (isLocale(base)) return base
  }
  return 'en'
}

function readStored(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY)
  } catch {
    return null
  }
}

/** The current locale; components re-render when it changes. */
export const locale = ref<Locale>(detectLocale())

export function setLocale(next: Locale): void {
  locale.value = next
  try {
    localStorage.setItem(STORAGE_KEY, next)
  } catch {
    // private mode: the choice lasts for this page only
  }
  if (typeof document !== 'undefined') document.documentElement.lang = next
}

function lookup(catalog: Catalog, key: string): unknown {
  let node: unknown = catalog
  for (const part of key.split('.')) {
    if (typeof node !== 'object' || node === null) return undefined
    node = (node as Record<string, unknown>)[part]
  }
  return node
}

function fill(template: string, params?: Params): string {
  if (!params) return template
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  )
}

/** Translates a key; falls back to English, then to the key itself. */
export function t(key: MessageKey, params?: Params): string {
  const value = lookup(catalogs[locale.value], key) ?? lookup(en, key)
  return typeof value === 'string' ? fill(value, params) : key
}

/** True when `key` exists as a plain string (for server error codes mapped to messages). */
export function hasKey(key: string): key is MessageKey {
  return typeof lookup(en, key) === 'string'
}

/** Plural form for `n` (Intl.PluralRules: French uses "one" for 0 and 1), with {n} filled in. */
export function tn(key: PluralKey, n: number, params?: Params): string {
  const value = (lookup(catalogs[locale.value], key) ?? lookup(en, key)) as Plural | undefined
  if (!value) return key
  const form = new Intl.PluralRules(locale.value).select(n) === 'one' ? value.one : value.other
  return fill(form, { n, ...params })
}
