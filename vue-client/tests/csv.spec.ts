import { describe, expect, it } from 'vitest'
import { detectDelimiter, guessTextColumn, parseCsv, readTable, toCsv } from '../src/csv'

describe('parseCsv', () => {
  it('reads quoted fields with delimiters, doubled quotes and line breaks (RFC 4180)', () => {
    const text = 'id,text\r\n1,"Shares rose, then fell"\r\n2,"He said ""no""\nand left"\n'
    expect(parseCsv(text)).toEqual([
      ['id', 'text'],
      ['1', 'Shares rose, then fell'],
      ['2', 'He said "no"\nand left'],
    ])
  })

  it('drops a byte-order mark and blank lines, keeps a last line without a line break', () => {
    expect(parseCsv('\uFEFFa,b\n\n1,2')).toEqual([
      ['a', 'b'],
      ['1', '2'],
    ])
  })
})

describe('detectDelimiter', () => {
  it('finds the comma, the semicolon of French spreadsheets, or a tab, ignoring quoted text', () => {
    expect(detectDelimiter('a,b,c\n1;2')).toBe(',')
    expect(detectDelimiter('titre;texte\n"a, b";c')).toBe(';')
    expect(detectDelimiter('"x;y;z"\tlabel\ttext')).toBe('\t')
    expect(detectDelimiter('text\nalone')).toBe(',')
  })
})

describe('readTable and guessTextColumn', () => {
  it('pads short rows and names unnamed columns', () => {
    expect(readTable('a,,c\n1\n')).toEqual({ columns: ['a', '#2', 'c'], rows: [['1', '', '']] })
  })

  it('prefers a column named like text, else the longest values', () => {
    expect(guessTextColumn(readTable('id;Texte;label\n1;x;y'))).toBe(1)
    expect(guessTextColumn(readTable('id,body_of_article,label\n1,a long article about markets,business'))).toBe(1)
  })
})

describe('toCsv', () => {
  it('quotes only what needs it and reads back the same', () => {
    const rows = [['row', 'text'], [1, 'plain'], [2, 'with, comma'], [3, 'a "quote"\nand a line']]
    const csv = toCsv(rows)
    expect(csv.split('\r\n')[1]).toBe('1,plain')
    expect(parseCsv(csv)).toEqual(rows.map((row) => row.map(String)))
  })
})
