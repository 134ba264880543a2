import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it } from 'vitest'
import PipelineView from '../src/views/PipelineView.vue'
import { setLocale } from '../src/i18n'
import { AID_LABELS, explanation, json, model, multiLabelModel, pairRegressionModel, sentBody, stubFetch } from './helpers'

beforeEach(() => setLocale('en'))

describe('PipelineView', () => {
  it("offers the methods the server lists for the model's task, its first one selected", async () => {
    const fetch = stubFetch(() => json(explanation({ method: 'integrated_gradients', steps: 16 })))
    const wrapper = mount(PipelineView, { props: { model: model({ explain_methods: ['integrated_gradients'] }) } })
    const options = wrapper.findAll('select')[0].findAll('option')
    expect(options.map((option) => option.attributes('value'))).toEqual(['integrated_gradients'])
    await wrapper.get('textarea').setValue('striker scored')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(sentBody(fetch)).toMatchObject({ method: 'integrated_gradients' })
  })

  it('shows the tokens coloured by attribution, the logits with softmax, and the prediction', async () => {
    const fetch = stubFetch(() => json(explanation()))
    const wrapper = mount(PipelineView, { props: { model: model() } })
    await wrapper.get('textarea').setValue('striker scored')
    await wrapper.get('form').trigger('submit')
    await flushPromises()

    expect(sentBody(fetch)).toEqual({
      inputs: 'striker scored',
      model: 'bbc-news-minilm',
      method: 'gradient_x_input',
      steps: 16,
      target: null,
    })
    const tokens = wrapper.findAll('[data-testid="tokens"] li')
    expect(tokens.map((token) => token.text())).toEqual([
      '[CLS] special token',
      'striker +1.00',
      'scored −0.50',
      '[SEP] special token',
    ])
    expect(tokens[1].attributes('style')).toMatch(/rgba?\(22,? 163,? 74/)
    expect(tokens[2].attributes('style')).toMatch(/rgba?\(220,? 38,? 38/)
    expect(tokens[0].classes()).toContain('special')

    const rows = wrapper.findAll('tbody tr')
    expect(rows).toHaveLength(5)
    expect(rows[3].text()).toMatch(/sports.*3\.08.*92\.5%/)
    expect(rows[3].classes()).toContain('predicted')
    expect(wrapper.get('[data-testid="pipeline-prediction"]').text()).toBe('sports, with a probability of 92.5%.')
  })

  it('sends integrated gradients with its steps and the label to explain', async () => {
    const fetch = stubFetch(() => json(explanation({ target: 'tech', method: 'integrated_gradients', steps: 8 })))
    const wrapper = mount(PipelineView, { props: { model: model() } })
    await wrapper.get('textarea').setValue('chips')
    const [method, target] = wrapper.findAll('select')
    await method.setValue('integrated_gradients')
    await wrapper.get('input[type="number"]').setValue(8)
    await target.setValue('tech')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(sentBody(fetch)).toMatchObject({ method: 'integrated_gradients', steps: 8, target: 'tech' })
    expect(wrapper.text()).toContain('pushed the label “tech”')
  })

  it('asks for a text before sending anything', async () => {
    const fetch = stubFetch(() => json(explanation()))
    const wrapper = mount(PipelineView, { props: { model: model() } })
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(fetch).not.toHaveBeenCalled()
    expect(wrapper.get('[role="alert"]').text()).toBe('Enter a text to explain first.')
  })

  it('explains a text pair of a regression model: two boxes, tokens by text, the value attributed', async () => {
    const tokens = [
      { index: 0, id: 101, token: '[CLS]', special: true, segment: null, start: null, end: null, attribution: 0, attribution_scaled: 0 },
      { index: 1, id: 2158, token: 'man', special: false, segment: 0, start: 2, end: 5, attribution: 0.4, attribution_scaled: 1 },
      { index: 2, id: 102, token: '[SEP]', special: true, segment: null, start: null, end: null, attribution: 0, attribution_scaled: 0 },
      { index: 3, id: 2619, token: 'someone', special: false, segment: 1, start: 0, end: 7, attribution: -0.2, attribution_scaled: -0.5 },
      { index: 4, id: 102, token: '[SEP]', special: true, segment: null, start: null, end: null, attribution: 0, attribution_scaled: 0 },
    ]
    const answer = explanation({ problem_type: 'regression', tokens, logits: [3.2], probabilities: [3.2], id2label: { '0': 'score' },
      label: 'score', score: 3.2, value: 3.2, target: 'score' })
    const fetch = stubFetch(() => json(answer))
    const wrapper = mount(PipelineView, { props: { model: pairRegressionModel() } })
    expect(wrapper.find('[data-testid="pipeline-target"]').exists()).toBe(false) // a value has no label to pick
    const boxes = wrapper.findAll('textarea')
    expect(boxes).toHaveLength(2)
    await boxes[0].setValue('A man plays.')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(fetch).not.toHaveBeenCalled()
    expect(wrapper.get('[role="alert"]').text()).toBe('Enter both texts first.')

    await boxes[1].setValue('Someone plays.')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(sentBody(fetch)).toEqual({ inputs: { text: 'A man plays.', text_pair: 'Someone plays.' }, model: 'sts-b',
      method: 'gradient_x_input', steps: 16, target: null })
    const groups = wrapper.findAll('.group')
    expect(groups.map((group) => group.get('h3').text())).toEqual(['First text', 'Second text (text_pair)'])
    expect(groups[0].findAll('li').map((li) => li.text())).toEqual(['[CLS] special token', 'man +1.00', '[SEP] special token'])
    expect(groups[1].findAll('li').map((li) => li.text())).toEqual(['someone −0.50', '[SEP] special token'])
    expect(wrapper.text()).toContain('pushed the predicted “score” up (green) or down (red)')
    expect(wrapper.get('[data-testid="predicted-value"]').text()).toBe('3.2')
    expect(wrapper.get('[data-testid="value-name"]').text()).toBe('score')
    expect(wrapper.find('table').exists()).toBe(false) // no softmax of one number

    setLocale('fr')
    await flushPromises()
    expect(wrapper.text()).toContain('La valeur expliquée')
  })

  it('explains the label a user picks of a multi-label model, and marks the labels over their thresholds', async () => {
    const probabilities = [0.7, 0.2, 0.45, 0.1] // aid_related 0.4, food 0.35, water 0.3, shelter 0.6
    const answer = explanation({ problem_type: 'multi_label_classification', logits: [0.85, -1.39, -0.2, -2.2], probabilities,
      id2label: Object.fromEntries(AID_LABELS.map((label, id) => [String(id), label])), label: 'aid_related', score: 0.7,
      target: 'water' })
    const fetch = stubFetch(() => json(answer))
    const wrapper = mount(PipelineView, { props: { model: multiLabelModel() } })
    const target = wrapper.get('[data-testid="pipeline-target"]')
    expect(target.findAll('option').map((option) => option.text())).toEqual(['The highest-scoring label', ...AID_LABELS])
    await wrapper.get('textarea').setValue('We need water.')
    await target.setValue('water')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(sentBody(fetch)).toMatchObject({ inputs: 'We need water.', target: 'water' })
    expect(wrapper.text()).toContain('pushed the label “water”')
    expect(wrapper.find('.group h3').exists()).toBe(false) // one text: no headings
    expect(wrapper.text()).toContain('Logits and sigmoid scores')
    expect(wrapper.findAll('thead th').map((th) => th.text())).toContain('Score (sigmoid, each label alone)')
    expect(wrapper.get('[data-testid="pipeline-prediction"]').text()).toBe('Predicted labels: aid_related, water')
  })
})
