// A run's test metrics by name: what each is called in the user's language, how its value reads, and which
// scores a model of its problem is judged on (the main metric first). The model panel's metrics card and its
// baselines table both read them from here.
import type { BaselinePublic, ModelPublic } from './api'
import { metricValue } from './format'
import { isImageModel } from './image'
import { isMessageKey, t } from './i18n'
import { problemOf, type Problem } from './task'

// the scores a problem's baselines record (metrics.json has the model's with `test_`), in the order shown
const PROBLEM_SCORES: Record<Problem, string[]> = {
  single: ['macro_f1', 'accuracy'],
  multi: ['micro_f1', 'macro_f1', 'accuracy', 'hamming_loss'],
  regression: ['rmse', 'mae', 'r2', 'pearson', 'spearman'],
}
const LOWER_IS_BETTER = new Set(['rmse', 'mae', 'hamming_loss'])

type Model = Pick<ModelPublic, 'problem_type' | 'main_metric' | 'metrics' | 'task' | 'text_pair'>

/** The score the model is judged on, as baselines name it (`macro_f1`, `micro_f1`, `rmse`). */
export function mainScore(model: Model): string {
  const named = model.main_metric?.name.replace(/^test_/, '')
  return named ?? PROBLEM_SCORES[problemOf(model)][0]
}

/** Whether a smaller value of this score is the better one (errors and losses). */
export function lowerIsBetter(score: string): boolean {
  return LOWER_IS_BETTER.has(score.replace(/^test_/, ''))
}

/** A metric's name in the user's language: the one for images, pairs or the model's problem when it differs. */
export function metricName(name: string, model: Model): string {
  const key = `metric.${name}`
  const variants = [isImageModel(model) ? 'image' : '', model.text_pair ? 'pair' : '', problemOf(model)]
  for (const variant of variants.filter(Boolean)) {
    const specific = `${key}.${variant}`
    if (isMessageKey(specific)) return t(specific)
  }
  return isMessageKey(key) ? t(key) : name // a metric without a translation keeps its own name
}

/** The model's metrics, its problem's scores first (the main one leading), then the rest as recorded. */
export function orderedMetrics(model: Model): [string, number][] {
  const first = scoreColumns(model, []).map((score) => `test_${score}`)
  const entries = Object.entries(model.metrics)
  const rank = (name: string) => (first.includes(name) ? first.indexOf(name) : first.length)
  return entries.sort((a, b) => rank(a[0]) - rank(b[0])) // stable: the rest keep their order
}

/** A baseline's score by name; a server older than `scores` gave accuracy and macro-F1 only. */
export function baselineScore(baseline: BaselinePublic, score: string): number | null {
  const found = baseline.scores?.[score]
  if (found != null) return found
  if (score === 'accuracy') return baseline.accuracy ?? null
  if (score === 'macro_f1') return baseline.macro_f1 ?? null
  return null
}

/** The scores to compare the model and its baselines on: its problem's that either has, the main one first. */
export function scoreColumns(model: Model, baselines: BaselinePublic[]): string[] {
  const main = mainScore(model)
  const known = PROBLEM_SCORES[problemOf(model)]
  const scores = [main, ...known.filter((score) => score !== main)]
  return scores.filter(
    (score) => `test_${score}` in model.metrics || baselines.some((baseline) => baselineScore(baseline, score) != null),
  )
}

/** A score's value as the metrics card shows it (percentages for accuracy and F1); '—' when missing. */
export function scoreValue(score: string, value: number | null | undefined): string {
  return value == null ? '—' : metricValue(`test_${score}`, value)
}

/** Whether a baseline does at least as well as the model on its main score (the number to look at). */
export function baselineWins(model: Model, baseline: BaselinePublic): boolean {
  const main = mainScore(model)
  const own = model.metrics[`test_${main}`]
  const theirs = baselineScore(baseline, main)
  if (own == null || theirs == null) return false
  return lowerIsBetter(main) ? theirs <= own : theirs >= own
}
