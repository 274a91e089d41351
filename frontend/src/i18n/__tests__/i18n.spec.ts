import { afterEach, describe, expect, it } from 'vitest'
import en from '../locales/en'
import fr from '../locales/fr'
import { detectLocale, locale, setLocale, t, tn } from '../index'

function keys(node: unknown, prefix = ''): string[] {
  if (typeof node === 'string') return [prefix]
  return Object.entries(node as Record<string, unknown>).flatMap(([k, v]) =>
    keys(v, prefix ? `${prefix}.${k}` : k),
  )
}

afterEach(() => {
  setLocale('en')
  localStorage.clear()
})

describe('i18n', () => {
  it('has the same keys in every language, with the same placeholders', () => {
    expect(keys(fr).sort()).toEqual(keys(en).sort())
    for (const key of keys(en)) {
      const get = (cat: unknown) =>
        key.split('.').reduce((n, k) => (n as Record<string, unknown>)[k], cat) as string
      const placeholders = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort()
      expect(placeholders(get(fr)), key).toEqual(placeholders(get(en)))
    }
  })

  it('picks the stored language, then the browser’s, then English', () => {
    expect(detectLocale('fr', ['en-US'])).toBe('fr')
    expect(detectLocale(null, ['fr-CA', 'en'])).toBe('fr')
    expect(detectLocale(null, ['de-DE', 'en-GB'])).toBe('en')
    expect(detectLocale('xx', ['de'])).toBe('en')
  })

  it('switches, persists, and fills placeholders', () => {
    setLocale('fr')
    expect(locale.value).toBe('fr')
    expect(localStorage.getItem('chatd.locale')).toBe('fr')
    expect(document.documentElement.lang).toBe('fr')
    expect(t('typing.one', { a: 'alice' })).toBe('alice est en train d’écrire…')
    setLocale('en')
    expect(t('typing.two', { a: 'alice', b: 'bob' })).toBe('alice and bob are typing…')
  })

  it('uses each language’s plural rules', () => {
    expect(tn('chat.unread', 1)).toBe('1 unread message')
    expect(tn('chat.unread', 0)).toBe('0 unread messages')
    setLocale('fr')
    expect(tn('chat.unread', 0)).toBe('0 message non lu')
    expect(tn('chat.unread', 2)).toBe('2 messages non lus')
  })
})
