// Numbers as a reader of the current locale expects them (92.5% / 92,5 %).
import { locale } from './i18n'

export function percent(value: number, digits = 1): string {
  return new Intl.NumberFormat(locale.value, {
    style: 'percent',
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(value)
}

export function decimal(value: number, digits = 3): string {
  return new Intl.NumberFormat(locale.value, { maximumFractionDigits: digits }).format(value)
}

export function fixed(value: number, digits: number): string {
  return new Intl.NumberFormat(locale.value, { minimumFractionDigits: digits, maximumFractionDigits: digits }).format(value)
}

/** A metric from a run's metrics.json, by what its name says it measures. */
export function metricValue(name: string, value: number): string {
  if (/accuracy|f1|precision|recall/.test(name) && value >= 0 && value <= 1) return percent(value)
  if (name.endsWith('_bytes')) return `${decimal(value / 2 ** 30, 2)} GiB`
  if (name.endsWith('_seconds')) return `${decimal(value / 60, 1)} min`
  if (Number.isInteger(value)) return decimal(value, 0)
  return Math.abs(value) < 1e-3 ? value.toExponential(2) : decimal(value, 4)
}

/** A file size: 812 B, 41.2 KB, 3.1 MB (41,2 Ko in French; powers of 1024, as file managers show them). */
export function bytes(value: number): string {
  const [b, kb, mb] = locale.value === 'fr' ? ['o', 'Ko', 'Mo'] : ['B', 'KB', 'MB']
  if (value < 1024) return `${decimal(value, 0)} ${b}`
  if (value < 1024 ** 2) return `${decimal(value / 1024, 1)} ${kb}`
  return `${decimal(value / 1024 ** 2, 1)} ${mb}`
}
