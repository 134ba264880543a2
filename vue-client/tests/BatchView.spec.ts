import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it } from 'vitest'
import BatchView from '../src/views/BatchView.vue'
import { setLocale } from '../src/i18n'
import { catchCsvExports, json, LABELS, model, prediction, stubFetch, uploadText } from './helpers'

beforeEach(() => setLocale('en'))

/** A server that labels every text "sports", except texts that mention money ("business"). */
function stubPredict() {
  return stubFetch((_url, init) => {
    const { inputs } = JSON.parse(String(init.body)) as { inputs: string[] }
    const predictions = inputs.map((text) => prediction(/money|shares/i.test(text) ? 'business' : 'sports'))
    return json({ model: 'bbc-news-minilm', predictions })
  })
}

describe('BatchView', () => {
  it('classifies pasted lines in requests of at most max_items texts', async () => {
    const fetch = stubPredict()
    const wrapper = mount(BatchView, { props: { model: model({ limits: { ...model().limits, max_items: 2 } }) } })
    await wrapper.get('textarea').setValue('Goal!\n\nShares rose.\nA late winner.\n')
    expect(wrapper.text()).toContain('3 texts ready')
    await wrapper.get('form').trigger('submit')
    await flushPromises()

    expect(fetch).toHaveBeenCalledTimes(2)
    const rows = wrapper.findAll('tbody tr').map((row) => row.findAll('td').map((cell) => cell.text()))
    expect(rows.map((row) => [row[0], row[1], row[2]])).toEqual([
      ['1', 'Goal!', 'sports'],
      ['3', 'Shares rose.', 'business'],
      ['4', 'A late winner.', 'sports'],
    ])
    expect(wrapper.text()).toContain('sports · 2')
  })

  it('reads the chosen column of an uploaded CSV (semicolons, quoted line breaks)', async () => {
    const fetch = stubPredict()
    const wrapper = mount(BatchView, { props: { model: model() } })
    await uploadText(wrapper, 'news.csv', 'id;titre;texte\n1;Foot;"The striker\nscored"\n2;Bourse;Shares and money\n')
    const select = wrapper.get('select')
    expect(select.findAll('option').map((o) => o.text())).toEqual(['id', 'titre', 'texte'])
    expect((select.element as HTMLSelectElement).value).toBe('2') // guessed: "texte"
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(JSON.parse(String(fetch.mock.calls[0][1]!.body)).inputs).toEqual(['The striker\nscored', 'Shares and money'])

    await select.setValue('1')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(JSON.parse(String(fetch.mock.calls[1][1]!.body)).inputs).toEqual(['Foot', 'Bourse'])
  })

  it('reads a .txt file one text per line and exports the results as CSV', async () => {
    stubPredict()
    const { click, records: exported } = catchCsvExports()
    const wrapper = mount(BatchView, { props: { model: model() } })
    await uploadText(wrapper, 'texts.txt', 'Money talks\nGoal\n')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    await wrapper.findAll('button').find((b) => b.text() === 'Export as CSV')!.trigger('click')

    expect(click).toHaveBeenCalledTimes(1)
    expect((click.mock.contexts[0] as HTMLAnchorElement).download).toBe('texts-bbc-news-minilm.csv')
    const records = await exported()
    expect(records[0]).toEqual(['row', 'text', 'label', 'score', ...LABELS.map((l) => `p_${l}`), 'truncated'])
    expect(records.slice(1).map((r) => r.slice(0, 3))).toEqual([
      ['1', 'Money talks', 'business'],
      ['2', 'Goal', 'sports'],
    ])
  })

  it('asks for texts when there are none', async () => {
    const fetch = stubPredict()
    const wrapper = mount(BatchView, { props: { model: model() } })
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(fetch).not.toHaveBeenCalled()
    expect(wrapper.get('[role="alert"]').text()).toContain('Paste at least one line')
  })

  it('stops between requests and keeps what it has', async () => {
    let calls = 0
    let wrapper!: ReturnType<typeof mount>
    stubFetch(async (_url, init) => {
      calls++
      if (calls === 2) {
        await wrapper.findAll('button').find((b) => b.text() === 'Stop')!.trigger('click')
        throw new DOMException('aborted', 'AbortError')
      }
      const { inputs } = JSON.parse(String(init.body)) as { inputs: string[] }
      return json({ model: 'm', predictions: inputs.map(() => prediction('tech')) })
    })
    wrapper = mount(BatchView, { props: { model: model({ limits: { ...model().limits, max_items: 1 } }) } })
    await wrapper.get('textarea').setValue('a\nb\nc')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(wrapper.findAll('tbody tr')).toHaveLength(1)
    expect(wrapper.get('[role="status"]').text()).toBe('Stopped after 1 of 3 texts.')
    expect(wrapper.find('[role="alert"]').exists()).toBe(false)
  })
})
