// CSV in and out: RFC 4180 quoting, the delimiter guessed from the header line, a file download.

export interface Table {
  columns: string[]
  rows: string[][]
}

const DELIMITERS = [',', ';', '\t'] as const
const TEXT_COLUMNS = ['text', 'texte', 'content', 'contenu', 'article', 'body', 'sentence', 'phrase', 'review', 'avis', 'sentence1', 'premise', 'text1', 'question1']

/** The delimiter of the header line: the most frequent of , ; and tab outside quotes (French Excel writes ;). */
export function detectDelimiter(text: string): string {
  const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]))
  let quoted = false
  for (const char of text) {
    if (char === '"') quoted = !quoted
    else if (!quoted && (char === '\n' || char === '\r')) break
    else if (!quoted && counts.has(char)) counts.set(char, counts.get(char)! + 1)
  }
  return [...counts].reduce((best, entry) => (entry[1] > best[1] ? entry : best))[0]
}

/** RFC 4180 records: quoted fields may hold delimiters, doubled quotes and line breaks. */
export function parseCsv(text: string, delimiter = detectDelimiter(text)): string[][] {
  const records: string[][] = []
  let record: string[] = []
  let field = ''
  let quoted = false
  const source = text.replace(/^\uFEFF/, '')
  for (let i = 0; i < source.length; i++) {
    const char = source[i]
    if (quoted) {
      if (char === '"' && source[i + 1] === '"') {
        field += '"'
        i++
      } else if (char === '"') quoted = false
      else field += char
    } else if (char === '"' && field === '') quoted = true
    else if (char === delimiter) {
      record.push(field)
      field = ''
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && source[i + 1] === '\n') i++
      record.push(field)
      records.push(record)
      record = []
      field = ''
    } else field += char
  }
  if (field !== '' || record.length) records.push([...record, field])
  return records.filter((r) => r.some((value) => value.trim() !== ''))
}

/** A CSV file as a header and rows (short rows padded, so every row has every column). */
export function readTable(text: string): Table {
  const [header = [], ...rows] = parseCsv(text)
  const columns = header.map((name, i) => name.trim() || `#${i + 1}`)
  return { columns, rows: rows.map((row) => columns.map((_, i) => row[i] ?? '')) }
}

/** The column that most likely holds the texts: a familiar name, else the longest values on average. */
export function guessTextColumn(table: Table): number {
  const named = table.columns.findIndex((name) => TEXT_COLUMNS.includes(name.toLowerCase()))
  if (named >= 0) return named
  const length = (i: number) => table.rows.reduce((sum, row) => sum + row[i].length, 0)
  return table.columns.reduce((best, _, i) => (length(i) > length(best) ? i : best), 0)
}

const PAIR_COLUMNS = ['text_pair', 'sentence2', 'hypothesis', 'text2', 'texte2', 'phrase2', 'question2', 'second']

/** The column that most likely holds the second texts of pairs: a familiar name, else the longest values on
 * average among the columns other than `textColumn`. */
export function guessPairColumn(table: Table, textColumn: number): number {
  const named = table.columns.findIndex((name, i) => i !== textColumn && PAIR_COLUMNS.includes(name.toLowerCase()))
  if (named >= 0) return named
  const others = table.columns.map((_, i) => i).filter((i) => i !== textColumn)
  const length = (i: number) => table.rows.reduce((sum, row) => sum + row[i].length, 0)
  return others.reduce((best, i) => (length(i) > length(best) ? i : best), others[0] ?? textColumn)
}

function quote(value: string | number | boolean): string {
  const text = String(value)
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** Rows as CSV text (comma-separated, CRLF line ends, quoted where needed). */
export function toCsv(rows: (string | number | boolean)[][]): string {
  return rows.map((row) => row.map(quote).join(',')).join('\r\n') + '\r\n'
}

/** Hand CSV text to the browser as a file download (with a BOM: Excel then reads it as UTF-8). */
export function downloadCsv(csv: string, fileName: string): void {
  const url = URL.createObjectURL(new Blob(['\uFEFF', csv], { type: 'text/csv;charset=utf-8' }))
  const link = document.createElement('a')
  link.href = url
  link.download = fileName
  link.click()
  setTimeout(() => URL.revokeObjectURL(url), 0)
}
