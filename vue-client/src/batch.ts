// A batch: its texts (pasted lines, a .txt file, a .csv column), the requests they are split into,
// and the results as a CSV file.
import type { Prediction } from './api'
import { toCsv, type Table } from './csv'

/** A text to classify, with the row it came from (1-based, a CSV header excluded). */
export interface BatchItem {
  row: number
  text: string
}

export interface BatchResult extends BatchItem {
  prediction: Prediction
}

// Well under the server's default body limit (TP_MAX_REQUEST_BYTES, 1 MiB), which GET /models does not state.
export const MAX_REQUEST_BYTES = 256 * 1024

/** Non-blank lines of a .txt file or a pasted list. */
export function linesToItems(text: string): BatchItem[] {
  return text
    .split(/\r?\n/)
    .map((line, i) => ({ row: i + 1, text: line.trim() }))
    .filter((item) => item.text !== '')
}

/** Non-blank cells of one column. */
export function columnToItems(table: Table, column: number): BatchItem[] {
  return table.rows
    .map((row, i) => ({ row: i + 1, text: (row[column] ?? '').trim() }))
    .filter((item) => item.text !== '')
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

/** Requests of at most `maxItems` texts and about `maxBytes` of text each (one long text still goes alone). */
export function chunkItems(items: BatchItem[], maxItems: number, maxBytes = MAX_REQUEST_BYTES): BatchItem[][] {
  const encoder = new TextEncoder()
  return chunkBySize(items, maxItems, (item) => encoder.encode(item.text).length + 8, maxBytes) // quotes, comma, a few escapes
}

/** One line per text (or image file): where it came from, the text, the label, its probability, then every label's. */
export function resultsToCsv(results: BatchResult[], labels: string[], textColumn = 'text'): string {
  const header = ['row', textColumn, 'label', 'score', ...labels.map((label) => `p_${label}`), 'truncated']
  const lines = results.map(({ row, text, prediction }) => {
    const scores = new Map(prediction.scores.map((s) => [s.label, s.score]))
    return [row, text, prediction.label, prediction.score, ...labels.map((l) => scores.get(l) ?? ''), prediction.truncated]
  })
  return toCsv([header, ...lines])
}
