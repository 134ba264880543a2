// The classify and batch views for the tasks beyond one label per text: a multi-label model (chips, thresholds,
// a slider that sends `threshold`) and a text-pair regression model (two texts in, a named number out).
import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it } from 'vitest'
import BatchView from '../src/views/BatchView.vue'
import ClassifyView from '../src/views/ClassifyView.vue'
import { setLocale } from '../src/i18n'
import {
  AID_LABELS,
  catchCsvExports,
  json,
  multiLabelModel,
  multiLabelPrediction,
  pairRegressionModel,
  sentBody,
  stubFetch,
  uploadText,
} from './helpers'

beforeEach(() => setLocale('en'))

const SCORES = { aid_related: 0.72, food: 0.41, water: 0.2, shelter: 0.05 }

/** A multi-label server: the request's threshold, else the tuned ones. */
function stubMultiLabel() {
  return stubFetch((_url, init) => {
    const { inputs, threshold } = JSON.parse(String(init.body)) as { inputs: string | string[]; threshold?: number }
    const texts = Array.isArray(inputs) ? inputs : [inputs]
    const predictions = texts.map((text) =>
      multiLabelPrediction(/water/i.test(text) ? { ...SCORES, water: 0.9 } : SCORES, threshold ?? null),
    )
    return json({ model: 'disaster-messages', predictions })
  })
}

/** A pair regression server: the value is the length of the second text, so each answer is its own. */
function stubPairs() {
  return stubFetch((_url, init) => {
    const { inputs } = JSON.parse(String(init.body)) as { inputs: { text: string; text_pair: string }[] | { text: string; text_pair: string } }
    const pairs = Array.isArray(inputs) ? inputs : [inputs]
    return json({ model: 'sts-b', predictions: pairs.map((pair) => ({ value: pair.text_pair.length / 10, truncated: false })) })
  })
}

async function submit(wrapper: ReturnType<typeof mount>) {
  await wrapper.get('form').trigger('submit')
  await flushPromises()
}

describe('ClassifyView, multi-label', () => {
  it('shows the labels that reach their tuned threshold as chips, and every score against its threshold', async () => {
    const fetch = stubMultiLabel()
    const wrapper = mount(ClassifyView, { props: { model: multiLabelModel() } })
    expect(wrapper.get('[data-testid="threshold-state"]').text()).toBe('tuned per label (0.30 to 0.60)')
    await wrapper.get('textarea').setValue('We need food.')
    await submit(wrapper)

    expect(sentBody(fetch)).toEqual({ inputs: 'We need food.', model: 'disaster-messages' }) // no threshold: the tuned ones
    expect(wrapper.findAll('[data-testid="predicted-labels"] li').map((li) => li.text())).toEqual(['aid_related', 'food'])
    const rows = wrapper.findAll('.bars li')
    expect(rows.map((row) => row.find('.check').exists())).toEqual([true, true, false, false])
    expect(rows[1].text()).toContain('41.0%')
    expect(rows[1].text()).toContain('threshold 35.0%')
    expect(rows[1].get('.tick').attributes('style')).toContain('left: 35%')
  })

  it('sends the slider’s threshold once moved, answers again, and goes back to the tuned ones', async () => {
    const fetch = stubMultiLabel()
    const wrapper = mount(ClassifyView, { props: { model: multiLabelModel() } })
    await wrapper.get('textarea').setValue('We need food.')
    await submit(wrapper)
    const slider = wrapper.get('[data-testid="threshold"]')
    await slider.setValue('0.1')
    await slider.trigger('change')
    await flushPromises()

    expect(sentBody(fetch, 1)).toEqual({ inputs: 'We need food.', model: 'disaster-messages', threshold: 0.1 })
    expect(wrapper.get('[data-testid="threshold-state"]').text()).toBe('0.10 for every label')
    expect(wrapper.findAll('[data-testid="predicted-labels"] li').map((li) => li.text())).toEqual(['aid_related', 'food', 'water'])

    await wrapper.findAll('button').find((b) => b.text() === 'Back to the tuned thresholds')!.trigger('click')
    await flushPromises()
    expect(sentBody(fetch, 2)).toEqual({ inputs: 'We need food.', model: 'disaster-messages' })
    expect(wrapper.findAll('[data-testid="predicted-labels"] li')).toHaveLength(2)
  })

  it('says so when no label reaches its threshold', async () => {
    stubMultiLabel()
    const wrapper = mount(ClassifyView, { props: { model: multiLabelModel() } })
    await wrapper.get('[data-testid="threshold"]').setValue('0.99')
    await wrapper.get('textarea').setValue('Thank you.')
    await submit(wrapper)
    expect(wrapper.get('[data-testid="no-label"]').text()).toBe('none: no label reaches its threshold')
  })
})

describe('ClassifyView, a text-pair regression model', () => {
  it('takes two texts and shows the value with its name', async () => {
    const fetch = stubPairs()
    const wrapper = mount(ClassifyView, { props: { model: pairRegressionModel() } })
    const [first, second] = wrapper.findAll('textarea')
    expect(wrapper.findAll('label').map((l) => l.text())).toEqual(['First text', 'Second text (text_pair)'])
    expect(wrapper.find('[data-testid="threshold"]').exists()).toBe(false)
    await first.setValue('A man is playing a guitar.')
    await second.setValue('Someone plays music.')
    await submit(wrapper)

    expect(sentBody(fetch)).toEqual({ inputs: { text: 'A man is playing a guitar.', text_pair: 'Someone plays music.' }, model: 'sts-b' })
    expect(wrapper.get('[data-testid="predicted-value"]').text()).toBe('2')
    expect(wrapper.get('[data-testid="value-name"]').text()).toBe('score')
    expect(wrapper.text()).toContain('In the units of the training column “score”.')
    expect(wrapper.find('.bars').exists()).toBe(false)
  })

  it('asks for both texts before asking the server', async () => {
    const fetch = stubPairs()
    const wrapper = mount(ClassifyView, { props: { model: pairRegressionModel() } })
    await wrapper.get('textarea').setValue('Only one text.')
    await submit(wrapper)
    expect(fetch).not.toHaveBeenCalled()
    expect(wrapper.get('[role="alert"]').text()).toBe('Enter both texts first.')
  })

  it('in French', async () => {
    setLocale('fr')
    stubPairs()
    const wrapper = mount(ClassifyView, { props: { model: pairRegressionModel() } })
    const [first, second] = wrapper.findAll('textarea')
    await first.setValue('Un homme joue.')
    await second.setValue('Quelqu’un joue de la guitare.')
    await submit(wrapper)
    expect(wrapper.text()).toContain('Valeur prédite')
    expect(wrapper.get('[data-testid="predicted-value"]').text()).toBe('2,9')
  })
})

describe('BatchView for the tasks', () => {
  it('reads pairs from two CSV columns, shows each value and exports the pair columns', async () => {
    const fetch = stubPairs()
    const exports = catchCsvExports()
    const wrapper = mount(BatchView, { props: { model: pairRegressionModel() } })
    await uploadText(wrapper, 'sts.csv', 'sentence1,sentence2,score\nA man plays.,Someone plays music.,4.2\nA cat.,Stocks fell.,0.1\n')
    expect(wrapper.get('[data-testid="text-column"]').element).toHaveProperty('value', '0')
    expect(wrapper.get('[data-testid="pair-column"]').element).toHaveProperty('value', '1')
    expect(wrapper.text()).toContain('2 pairs ready')
    await submit(wrapper)

    expect(sentBody(fetch).inputs).toEqual([
      { text: 'A man plays.', text_pair: 'Someone plays music.' },
      { text: 'A cat.', text_pair: 'Stocks fell.' },
    ])
    const rows = wrapper.findAll('tbody tr').map((row) => row.findAll('td').map((cell) => cell.text()))
    expect(rows).toEqual([
      ['1', 'A man plays.', 'Someone plays music.', '2'],
      ['2', 'A cat.', 'Stocks fell.', '1.2'],
    ])
    expect(wrapper.findAll('thead th').map((th) => th.text())).toEqual(['Row', 'Text', 'Second text', 'score'])
    expect(wrapper.get('[data-testid="value-summary"]').text()).toBe('score: mean 1.6, from 1.2 to 2')

    await wrapper.findAll('button').find((b) => b.text() === 'Export as CSV')!.trigger('click')
    const records = await exports.records()
    expect(records[0]).toEqual(['row', 'text', 'text_pair', 'score', 'truncated'])
    expect(records[1]).toEqual(['1', 'A man plays.', 'Someone plays music.', '2', 'false'])
  })

  it('reads pasted pairs, one per line with a tab between the texts', async () => {
    const fetch = stubPairs()
    const wrapper = mount(BatchView, { props: { model: pairRegressionModel() } })
    expect(wrapper.find('label').text()).toBe('Paste lines') // the source radio buttons, then the textarea
    await wrapper.get('textarea').setValue('A man plays.\tSomeone plays.\nno tab here\n')
    expect(wrapper.text()).toContain('1 pair ready')
    await submit(wrapper)
    expect(sentBody(fetch).inputs).toEqual([{ text: 'A man plays.', text_pair: 'Someone plays.' }])
  })

  it('a multi-label batch: chips per row, the slider’s threshold on every request, labels joined in the export', async () => {
    const fetch = stubMultiLabel()
    const exports = catchCsvExports()
    const wrapper = mount(BatchView, { props: { model: multiLabelModel() } })
    await wrapper.get('textarea').setValue('We need water.\nThank you.\n')
    await wrapper.get('[data-testid="threshold"]').setValue('0.4')
    await submit(wrapper)

    expect(sentBody(fetch)).toEqual({ inputs: ['We need water.', 'Thank you.'], model: 'disaster-messages', threshold: 0.4 })
    const chips = wrapper.findAll('tbody tr').map((row) => row.findAll('.chip').map((chip) => chip.text()))
    expect(chips).toEqual([['water', 'aid_related', 'food'], ['aid_related', 'food']])
    expect(wrapper.find('.summary').text()).toContain('aid_related · 2')
    expect(wrapper.find('.summary').text()).toContain('water · 1')

    await wrapper.findAll('button').find((b) => b.text() === 'Export as CSV')!.trigger('click')
    const records = await exports.records()
    expect(records[0]).toEqual(['row', 'text', 'labels', ...AID_LABELS.map((l) => `p_${l}`), 'truncated'])
    expect(records[1].slice(0, 4)).toEqual(['1', 'We need water.', 'water|aid_related|food', '0.72'])
  })
})
