// A batch: its texts or text pairs (pasted lines, a .txt file, .csv columns), the requests they are split into,
// and the results as a CSV file with the columns of the model's problem.
import type { AnyPrediction } from './api'
import { toCsv, type Table } from './csv'
import { isMultiLabel, isRegression, type Problem } from './task'

/** A text (and, for a pair model, its second text) to classify, with the row it came from (1-based, a CSV header
 * excluded). */
export interface BatchItem {
  row: number
  text: string
  textPair?: string
}

export interface BatchResult extends BatchItem {
  prediction: AnyPrediction
}

/** What the export writes: the model's problem, whether its inputs are pairs, the name of a regression's value. */
export interface ResultShape {
  problem?: Problem
  pairs?: boolean
  valueName?: string
}

export const LABEL_SEPARATOR = '|' // a multi-label row's labels in one CSV cell, as `tp predict --label-separator`

// Well under the server's default body limit (TP_MAX_REQUEST_BYTES, 1 MiB), which GET /models does not state.
export const MAX_REQUEST_BYTES = 256 * 1024

/** Non-blank lines of a .txt file or a pasted list. */
export function linesToItems(text: string): BatchItem[] {
  return text
    .split(/\r?\n/)
    .map((line, i) => ({ row: i + 1, text: line.trim() }))
    .filter((item) => item.text !== '')
}

/** Lines of a pasted list or a .txt file of pairs: the first text, a tab, the second; lines without both are left out. */
export function linesToPairs(text: string): BatchItem[] {
  return text
    .split(/\r?\n/)
    .map((line, i) => {
      const [first = '', ...rest] = line.split('\t')
      return { row: i + 1, text: first.trim(), textPair: rest.join('\t').trim() }
    })
    .filter((item) => item.text !== '' && item.textPair !== '')
}

/** Non-blank cells of one column; with `pairColumn`, rows whose two cells are both filled. */
export function columnToItems(table: Table, column: number, pairColumn?: number): BatchItem[] {
  if (pairColumn === undefined) {
    return table.rows
      .map((row, i) => ({ row: i + 1, text: (row[column] ?? '').trim() }))
      .filter((item) => item.text !== '')
  }
  return table.rows
    .map((row, i) => ({ row: i + 1, text: (row[column] ?? '').trim(), textPair: (row[pairColumn] ?? '').trim() }))
    .filter((item) => item.text !== '' && item.textPair !== '')
}

/** Requests of at most `maxItems` items and about `maxBytes` each (one large item still goes alone). */
export function chunkBySize<T>(items: T[], maxItems: number, size: (item: T) => number, maxBytes = MAX_REQUEST_BYTES): T[][] {
  const chunks: T[][] = []
  let chunk: T[] = []
  let bytes = 0
  for (const item of items) {
    const itemBytes = size(item)
    if (chunk.length && (chunk.length >= maxItems || bytes + itemBytes > maxBytes)) {
      chunks.push(chunk)
      chunk = []
      bytes = 0
    }
    chunk.push(item)
    bytes += itemBytes
  }
  if (chunk.length) chunks.push(chunk)
  return chunks
}

/** Requests of at most `maxItems` texts (or pairs) and about `maxBytes` of text each (one long text still goes alone). */
export function chunkItems(items: BatchItem[], maxItems: number, maxBytes = MAX_REQUEST_BYTES): BatchItem[][] {
  const encoder = new TextEncoder()
  // quotes, comma, a few escapes (a pair: its keys too)
  const size = (item: BatchItem) => encoder.encode(item.text).length + (item.textPair === undefined ? 8 : encoder.encode(item.textPair).length + 32)
  return chunkBySize(items, maxItems, size, maxBytes)
}

/** One line per text (or image file): where it came from, the text (and the second text of a pair), then the
 * answer in the problem's columns: the label, its probability and every label's (single-label); the labels joined
 * by LABEL_SEPARATOR and every label's score (multi-label); the value, named after it (regression). */
export function resultsToCsv(results: BatchResult[], labels: string[], textColumn = 'text', shape: ResultShape = {}): string {
  const texts = shape.pairs ? [textColumn, 'text_pair'] : [textColumn]
  const scoreColumns = labels.map((label) => `p_${label}`)
  const header =
    shape.problem === 'regression'
      ? [...texts, shape.valueName ?? 'value']
      : shape.problem === 'multi'
        ? [...texts, 'labels', ...scoreColumns]
        : [...texts, 'label', 'score', ...scoreColumns]
  const lines = results.map(({ row, text, textPair, prediction }) => {
    const source = shape.pairs ? [row, text, textPair ?? ''] : [row, text]
    if (isRegression(prediction)) return [...source, prediction.value, prediction.truncated]
    const scores = new Map<string, number>(prediction.scores.map((s) => [s.label, s.score]))
    const every = labels.map((l) => scores.get(l) ?? '')
    const answer = isMultiLabel(prediction)
      ? [prediction.labels.join(LABEL_SEPARATOR)]
      : [prediction.label, prediction.score]
    return [...source, ...answer, ...every, prediction.truncated]
  })
  return toCsv([['row', ...header, 'truncated'], ...lines])
}
