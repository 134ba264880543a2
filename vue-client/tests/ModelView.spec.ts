import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it } from 'vitest'
import ModelView from '../src/views/ModelView.vue'
import { setLocale } from '../src/i18n'
import { evaluation, json, model, stubFetch } from './helpers'

beforeEach(() => setLocale('en'))

describe('ModelView', () => {
  it('shows the labels, limits, named metrics and the confusion matrix', async () => {
    const fetch = stubFetch(() => json(evaluation()))
    const wrapper = mount(ModelView, { props: { model: model() } })
    await flushPromises()

    expect(String(fetch.mock.calls[0][0])).toMatch(/\/api\/v1\/models\/bbc-news-minilm\/evaluation$/)
    expect(wrapper.findAll('[data-testid="model-labels"] li').map((li) => li.text())).toEqual([
      'business', 'entertainment', 'politics', 'sports', 'tech',
    ])
    const text = wrapper.text()
    expect(text).toContain('Accuracy98.2%')
    expect(text).toContain('Peak memory while training2.99 GiB')
    expect(text).toContain('custom0.5') // a metric without a translation keeps its name
    expect(text).toContain('Characters per text50,000')
    expect(wrapper.get('[data-testid="model-runtime"]').text()).toBe('PyTorch')
    await wrapper.setProps({ model: model({ runtime: 'onnxruntime' }) })
    expect(wrapper.get('[data-testid="model-runtime"]').text()).toBe('ONNX Runtime')
    const matrix = wrapper.get('table.matrix')
    const firstRow = matrix.findAll('tbody tr')[0].findAll('td').map((td) => td.text())
    expect(firstRow).toEqual(['97', '0', '3', '0', '2'])
    expect(matrix.text()).toContain('445 test texts')
  })

  it('says when the model has no recorded evaluation', async () => {
    stubFetch(() => json({ detail: "Model 'hub' has no recorded test evaluation." }, 404))
    const wrapper = mount(ModelView, { props: { model: model({ name: 'hub', metrics: {} }) } })
    await flushPromises()
    expect(wrapper.get('.notice').text()).toContain('No test evaluation is recorded for this model.')
    expect(wrapper.find('[role="alert"]').exists()).toBe(false)
  })

  it('loads the evaluation again when the model changes', async () => {
    const fetch = stubFetch(() => json(evaluation()))
    const wrapper = mount(ModelView, { props: { model: model() } })
    await flushPromises()
    await wrapper.setProps({ model: model({ name: 'other' }) })
    await flushPromises()
    expect(String(fetch.mock.calls[1][0])).toMatch(/\/models\/other\/evaluation$/)
  })
})
