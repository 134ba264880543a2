import { describe, expect, it } from 'vitest'
import { chunkBySize, chunkItems, columnToItems, linesToItems, linesToPairs, resultsToCsv } from '../src/batch'
import { guessPairColumn, guessTextColumn, parseCsv, readTable } from '../src/csv'
import { LABELS, prediction } from './helpers'

describe('batch items', () => {
  it('keeps non-blank lines with their line numbers', () => {
    expect(linesToItems('first\n\n  second  \r\n')).toEqual([
      { row: 1, text: 'first' },
      { row: 3, text: 'second' },
    ])
  })

  it('takes one column of a table, skipping empty cells', () => {
    const table = readTable('id;text\n1;hello\n2;\n3;world')
    expect(columnToItems(table, 1)).toEqual([
      { row: 1, text: 'hello' },
      { row: 3, text: 'world' },
    ])
  })
})

describe('batch pairs', () => {
  it('splits each line at its first tab, leaving out lines without both texts', () => {
    expect(linesToPairs('a man plays\tsomeone plays\nno tab\n\tonly the second\nx\ty\tz\n')).toEqual([
      { row: 1, text: 'a man plays', textPair: 'someone plays' },
      { row: 4, text: 'x', textPair: 'y\tz' },
    ])
  })

  it('takes two columns of a table, guessed from their names, skipping rows without both', () => {
    const table = readTable('id,premise,hypothesis\n1,A man plays.,Someone plays.\n2,,Empty first.\n3,A cat.,A pet.')
    const text = guessTextColumn(table)
    expect([text, guessPairColumn(table, text)]).toEqual([1, 2])
    expect(columnToItems(table, 1, 2)).toEqual([
      { row: 1, text: 'A man plays.', textPair: 'Someone plays.' },
      { row: 3, text: 'A cat.', textPair: 'A pet.' },
    ])
  })

  it('guesses the longest other column when no name says which', () => {
    const table = readTable('a,b,c\nlong first text,x,a longer second text here\n')
    expect(guessPairColumn(table, 0)).toBe(2)
  })
})

describe('chunkItems', () => {
  const items = Array.from({ length: 10 }, (_, i) => ({ row: i + 1, text: 'x'.repeat(100) }))

  it('splits by the server’s max_items', () => {
    expect(chunkItems(items, 4).map((chunk) => chunk.length)).toEqual([4, 4, 2])
  })

  it('splits by size too, and sends a text larger than the budget on its own', () => {
    expect(chunkItems(items, 64, 250).map((chunk) => chunk.length)).toEqual([2, 2, 2, 2, 2])
    expect(chunkItems([{ row: 1, text: 'y'.repeat(1000) }, ...items.slice(0, 1)], 64, 250)).toHaveLength(2)
  })
})

describe('chunkBySize', () => {
  it('splits any items by a size of their own (images by their base64 length)', () => {
    const images = [300, 100, 100, 900, 50].map((size, i) => ({ name: `${i}.png`, size }))
    const chunks = chunkBySize(images, 3, (image) => image.size, 500)
    expect(chunks.map((chunk) => chunk.map((image) => image.name))).toEqual([['0.png', '1.png', '2.png'], ['3.png'], ['4.png']])
  })
})

describe('resultsToCsv', () => {
  it('writes the row, the text, the label, its score and every label’s probability', () => {
    const csv = resultsToCsv([{ row: 3, text: 'Goal, then "another"', prediction: prediction('sports', 0.8, true) }], LABELS)
    const [header, line] = parseCsv(csv)
    expect(header).toEqual(['row', 'text', 'label', 'score', ...LABELS.map((l) => `p_${l}`), 'truncated'])
    expect(line.slice(0, 4)).toEqual(['3', 'Goal, then "another"', 'sports', '0.8'])
    expect(Number(line[4 + LABELS.indexOf('sports')])).toBe(0.8)
    expect(line.at(-1)).toBe('true')
  })

  it('names the second column after what was classified (image files)', () => {
    const [header] = parseCsv(resultsToCsv([{ row: 1, text: '7.png', prediction: prediction('tech') }], LABELS, 'file'))
    expect(header.slice(0, 3)).toEqual(['row', 'file', 'label'])
  })
})
