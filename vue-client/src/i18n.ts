// English and French, switchable at run time. A message may have a singular and a plural form
// separated by "|", chosen with the locale's plural rules from the `count` parameter.
import { ref, watchEffect } from 'vue'
import { en, type MessageKey } from './locales/en'
import { fr } from './locales/fr'

export type { MessageKey }

export const messages = { en, fr }
export type Locale = keyof typeof messages
export const locales: Locale[] = ['en', 'fr']
const LOCALE_STORAGE = 'tp.locale'

function initialLocale(): Locale {
  const saved = localStorage.getItem(LOCALE_STORAGE)
  if (saved === 'en' || saved === 'fr') return saved
  return navigator.language.toLowerCase().startsWith('fr') ? 'fr' : 'en'
}

export const locale = ref<Locale>(initialLocale())

watchEffect(() => {
  document.documentElement.lang = locale.value
})

export function setLocale(next: Locale): void {
  locale.value = next
  localStorage.setItem(LOCALE_STORAGE, next)
}

export function isMessageKey(key: string): key is MessageKey {
  return key in en
}

export type Params = Record<string, string | number>

/** The message in the current locale, with {name} placeholders filled (numbers formatted for the locale). */
export function t(key: MessageKey, params: Params = {}): string {
  let message = messages[locale.value][key]
  if (message.includes('|') && typeof params.count === 'number') {
    const [one, other] = message.split('|')
    message = new Intl.PluralRules(locale.value).select(params.count) === 'one' ? one : other
  }
  return message.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const value = params[name]
    if (value === undefined) return whole
    return typeof value === 'number' ? value.toLocaleString(locale.value) : value
  })
}

export function useI18n() {
  return { t, locale, setLocale }
}
