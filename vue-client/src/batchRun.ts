// A batch run, shared by the text and the image batch views: the items sent one request after another
// (split as the server accepts), results and progress as they come, a stop, and the results as a CSV file.
import { ref, shallowRef } from 'vue'
import { api, type ImageInput, type ModelPublic, type PredictRequest, type TextPairInput } from './api'
import { UserError, useAction } from './action'
import { resultsToCsv, type BatchItem, type BatchResult } from './batch'
import { downloadCsv } from './csv'
import type { MessageKey } from './i18n'
import { problemOf, valueName } from './task'

export interface BatchRunOptions<T> {
  /** The model to ask (read when a run starts). */
  model: () => ModelPublic
  /** What to classify (read when a run starts). */
  items: () => T[]
  /** The message when there is nothing to classify. */
  empty: MessageKey
  /** The requests, at most `maxItems` items each. */
  chunk: (items: T[], maxItems: number) => T[][]
  /** What the server is sent for an item. */
  input: (item: T) => string | TextPairInput | ImageInput
  /** The request's other options (a multi-label `threshold`), read for each request. */
  options?: () => Pick<PredictRequest, 'threshold'>
  /** The row and text (or file name) an item's result is shown and exported with. */
  describe: (item: T) => BatchItem
}

export type BatchProgress = { done: number; total: number }

export function useBatchRun<T>(options: BatchRunOptions<T>) {
  const results = shallowRef<BatchResult[]>([])
  const progress = ref<BatchProgress>({ done: 0, total: 0 })
  const stopped = ref(false)

  const { busy, error, run, cancel } = useAction(async (signal) => {
    const items = options.items()
    if (!items.length) throw new UserError(options.empty)
    const { name: model, limits } = options.model()
    results.value = []
    stopped.value = false
    progress.value = { done: 0, total: items.length }
    for (const chunk of options.chunk(items, limits.max_items)) {
      const inputs = chunk.map(options.input) as PredictRequest['inputs']
      const answer = await api.predict({ inputs, model, ...options.options?.() }, signal)
      const rows = chunk.map((item, i) => ({ ...options.describe(item), prediction: answer.predictions[i] }))
      results.value = [...results.value, ...rows]
      progress.value = { ...progress.value, done: results.value.length }
    }
  })

  /** Cancel the request in flight; the results so far are kept. */
  function stop(): void {
    stopped.value = true
    cancel()
  }

  /** Forget the last run (new items were chosen). */
  function reset(): void {
    results.value = []
    error.value = null
    stopped.value = false
  }

  /** Download the results as `<source without its extension>-<model>.csv`. */
  function exportCsv(source: string, textColumn = 'text'): void {
    const model = options.model()
    const shape = { problem: problemOf(model), pairs: model.text_pair, valueName: valueName(model) }
    downloadCsv(resultsToCsv(results.value, model.labels, textColumn, shape), `${source.replace(/\.[^.]+$/, '')}-${model.name}.csv`)
  }

  return { busy, error, results, progress, stopped, run, stop, reset, exportCsv }
}
