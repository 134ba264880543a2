import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it } from 'vitest'
import PipelineView from '../src/views/PipelineView.vue'
import { setLocale } from '../src/i18n'
import { explanation, json, model, sentBody, stubFetch } from './helpers'

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
})
