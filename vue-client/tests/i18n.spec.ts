import { nextTick } from 'vue'
import { afterEach, describe, expect, it } from 'vitest'
import { locale, messages, setLocale, t } from '../src/i18n'

afterEach(() => setLocale('en'))

describe('i18n', () => {
  it('has every English message in French, none empty, with the same placeholders', () => {
    const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()
    for (const [key, english] of Object.entries(messages.en)) {
      const french = messages.fr[key as keyof typeof messages.en]
      expect(french, key).toBeTruthy()
      expect(placeholders(french), key).toEqual(placeholders(english))
    }
  })

  it('fills placeholders, formats numbers for the locale and picks the plural form', () => {
    expect(t('counter.chars', { count: 1234, max: 50000 })).toBe('1,234 / 50,000 characters')
    expect(t('batch.ready', { count: 1 })).toBe('1 text ready')
    expect(t('batch.ready', { count: 3 })).toBe('3 texts ready')
    setLocale('fr')
    expect(t('counter.chars', { count: 1234, max: 50000 })).toMatch(/^1\s234 \/ 50\s000 caractères$/)
    expect(t('batch.ready', { count: 0 })).toBe('0 texte prêt') // French singular covers 0 and 1
  })

  it('switches the page language and remembers the choice', async () => {
    setLocale('fr')
    expect(locale.value).toBe('fr')
    expect(localStorage.getItem('tp.locale')).toBe('fr')
    await nextTick()
    expect(document.documentElement.lang).toBe('fr')
  })
})
