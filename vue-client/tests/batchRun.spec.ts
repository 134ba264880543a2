import { flushPromises, mount } from '@vue/test-utils'
import { defineComponent } from 'vue'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { UserError } from '../src/action'
import type { Prediction } from '../src/api'
import { chunkItems, type BatchItem } from '../src/batch'
import { useBatchRun, type BatchRunOptions } from '../src/batchRun'
import { parseCsv } from '../src/csv'
import { json, LABELS, model, prediction, stubFetch } from './helpers'

const mounted: { unmount: () => void }[] = []
afterEach(() => mounted.splice(0).forEach((wrapper) => wrapper.unmount()))

/** The composable inside a component, as a view uses it (useAction cancels on unmount). */
function batchRun<T>(options: BatchRunOptions<T>) {
  let batch!: ReturnType<typeof useBatchRun<T>>
  const wrapper = mount(defineComponent({ setup: () => ((batch = useBatchRun(options)), () => null) }))
  mounted.push(wrapper)
  return batch
}

const texts = (...values: string[]): BatchItem[] => values.map((text, i) => ({ row: i + 1, text }))

function textRun(items: BatchItem[], maxItems = 2) {
  return batchRun({
    model: () => model({ limits: { ...model().limits, max_items: maxItems } }),
    items: () => items,
    empty: 'batch.empty',
    chunk: chunkItems,
    input: (item) => item.text,
    describe: (item) => item,
  })
}

/** A server whose answers the test releases one at a time; a cancelled request fails as fetch does. */
function heldServer() {
  const pending: { inputs: string[]; release: () => void }[] = []
  const fetch = stubFetch((_url, init) => {
    const { inputs } = JSON.parse(String(init.body)) as { inputs: string[] }
    return new Promise<Response>((resolve, reject) => {
      pending.push({ inputs, release: () => resolve(json({ model: 'm', predictions: inputs.map(() => prediction('tech')) })) })
      init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))
    })
  })
  return { fetch, pending }
}

describe('useBatchRun', () => {
  it('sends the chunks in order, one request at a time, with results and progress as they come', async () => {
    const { fetch, pending } = heldServer()
    const batch = textRun(texts('a', 'b', 'c', 'd', 'e'))
    const done = batch.run()
    await flushPromises()
    expect(batch.busy.value).toBe(true)
    expect(fetch).toHaveBeenCalledTimes(1) // the next chunk waits for this answer
    expect(batch.progress.value).toEqual({ done: 0, total: 5 })

    pending[0].release()
    await flushPromises()
    expect(fetch).toHaveBeenCalledTimes(2)
    expect(batch.progress.value).toEqual({ done: 2, total: 5 })
    expect(batch.results.value.map((r) => r.text)).toEqual(['a', 'b'])

    pending[1].release()
    await flushPromises()
    pending[2].release()
    await done
    expect(pending.map((request) => request.inputs)).toEqual([['a', 'b'], ['c', 'd'], ['e']])
    expect(batch.results.value.map((r) => [r.row, r.text, (r.prediction as Prediction).label])).toEqual([
      [1, 'a', 'tech'],
      [2, 'b', 'tech'],
      [3, 'c', 'tech'],
      [4, 'd', 'tech'],
      [5, 'e', 'tech'],
    ])
    expect(batch.progress.value).toEqual({ done: 5, total: 5 })
    expect(batch.busy.value).toBe(false)
    expect(batch.stopped.value).toBe(false)
    expect(JSON.parse(String(fetch.mock.calls[0][1]!.body)).model).toBe('bbc-news-minilm')
  })

  it('stop cancels the request in flight, sends no more and keeps the results so far', async () => {
    const { fetch, pending } = heldServer()
    const batch = textRun(texts('a', 'b', 'c', 'd', 'e'))
    const done = batch.run()
    await flushPromises()
    pending[0].release()
    await flushPromises()
    expect(fetch).toHaveBeenCalledTimes(2)

    batch.stop()
    await done
    await flushPromises()
    expect(fetch).toHaveBeenCalledTimes(2)
    expect(batch.results.value.map((r) => r.text)).toEqual(['a', 'b'])
    expect(batch.stopped.value).toBe(true)
    expect(batch.busy.value).toBe(false)
    expect(batch.error.value).toBeNull() // a stop is not an error
    expect(batch.progress.value).toEqual({ done: 2, total: 5 })
  })

  it('refuses an empty batch without asking the server', async () => {
    const fetch = stubFetch(() => json({}))
    const batch = textRun([])
    await batch.run()
    expect(fetch).not.toHaveBeenCalled()
    expect(batch.error.value).toBeInstanceOf(UserError)
    expect((batch.error.value as UserError).key).toBe('batch.empty')
  })

  it('keeps the results before a server error, and the error', async () => {
    let calls = 0
    stubFetch((_url, init) => {
      if (++calls === 2) return json({ detail: 'Too busy.' }, 503)
      const { inputs } = JSON.parse(String(init.body)) as { inputs: string[] }
      return json({ model: 'm', predictions: inputs.map(() => prediction('sports')) })
    })
    const batch = textRun(texts('a', 'b', 'c'), 1)
    await batch.run()
    expect(calls).toBe(2)
    expect(batch.results.value.map((r) => r.text)).toEqual(['a'])
    expect(String(batch.error.value)).toContain('Too busy.')
    expect(batch.stopped.value).toBe(false)

    batch.reset()
    expect(batch.results.value).toEqual([])
    expect(batch.error.value).toBeNull()
  })

  it('sends what `input` makes of each item and shows what `describe` says (image files)', async () => {
    const fetch = stubFetch((_url, init) => {
      const { inputs } = JSON.parse(String(init.body)) as { inputs: unknown[] }
      return json({ model: 'm', predictions: inputs.map(() => prediction('tech')) })
    })
    const files = [{ name: 'a.png', data: 'AAA' }, { name: 'b.png', data: 'BBB' }]
    const batch = batchRun({
      model: () => model(),
      items: () => files.map((file, i) => ({ row: i + 1, file })),
      empty: 'imageBatch.empty',
      chunk: (rows) => rows.map((row) => [row]), // one image a request
      input: (item) => ({ image: item.file.data }),
      describe: (item) => ({ row: item.row, text: item.file.name }),
    })
    await batch.run()
    const sent = fetch.mock.calls.map((call) => JSON.parse(String(call[1]!.body)).inputs)
    expect(sent).toEqual([[{ image: 'AAA' }], [{ image: 'BBB' }]])
    expect(batch.results.value.map((r) => [r.row, r.text])).toEqual([
      [1, 'a.png'],
      [2, 'b.png'],
    ])
  })

  it('exports a CSV with a header and one line per result, named after the source and the model', async () => {
    stubFetch((_url, init) => {
      const { inputs } = JSON.parse(String(init.body)) as { inputs: string[] }
      return json({ model: 'm', predictions: inputs.map((text) => prediction(text.includes('money') ? 'business' : 'sports')) })
    })
    const blobs: Blob[] = []
    const createObjectURL = (blob: Blob) => (blobs.push(blob), 'blob:x')
    vi.stubGlobal('URL', Object.assign(URL, { createObjectURL, revokeObjectURL: () => {} }))
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {})
    const batch = textRun(texts('money, money', 'a goal', 'another "goal"'))
    await batch.run()

    batch.exportCsv('news.final.csv')
    batch.exportCsv('images', 'file')
    expect(click.mock.contexts.map((link) => (link as HTMLAnchorElement).download)).toEqual([
      'news.final-bbc-news-minilm.csv',
      'images-bbc-news-minilm.csv',
    ])
    expect([...new Uint8Array(await blobs[0].arrayBuffer()).slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]) // a BOM: Excel reads UTF-8
    expect(blobs[0].type).toBe('text/csv;charset=utf-8')
    const records = parseCsv((await blobs[0].text()).replace(/^\uFEFF/, ''))
    expect(records[0]).toEqual(['row', 'text', 'label', 'score', ...LABELS.map((l) => `p_${l}`), 'truncated'])
    expect(records.slice(1).map((r) => r.slice(0, 3))).toEqual([
      ['1', 'money, money', 'business'],
      ['2', 'a goal', 'sports'],
      ['3', 'another "goal"', 'sports'],
    ])
    expect(parseCsv((await blobs[1].text()).replace(/^\uFEFF/, ''))[0].slice(0, 2)).toEqual(['row', 'file'])
  })
})
