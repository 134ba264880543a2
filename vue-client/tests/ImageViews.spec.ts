import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it } from 'vitest'
import ImageBatchView from '../src/views/ImageBatchView.vue'
import ImageClassifyView from '../src/views/ImageClassifyView.vue'
import ImagePipelineView from '../src/views/ImagePipelineView.vue'
import { setLocale } from '../src/i18n'
import { chooseFiles, DIGITS, digitPrediction, imageModel, json, PNG_1X1, pngFile, sentBody, stubFetch } from './helpers'

beforeEach(() => setLocale('en'))

function imageExplanation(overrides = {}) {
  return {
    model: 'digits-vit',
    task: 'image-classification',
    label: '7',
    score: 0.8,
    target: '7',
    method: 'saliency',
    logits: DIGITS.map((d) => (d === '7' ? 4 : 0)),
    probabilities: DIGITS.map((d) => (d === '7' ? 0.8 : 0.2 / 9)),
    id2label: Object.fromEntries(DIGITS.map((d, i) => [String(i), d])),
    heatmap_png: PNG_1X1,
    overlay_png: PNG_1X1,
    width: 224,
    height: 224,
    ...overrides,
  }
}

describe('ImageClassifyView', () => {
  it('classifies a chosen file at once, sending its bytes as base64, and shows the probability bars', async () => {
    const fetch = stubFetch(() => json({ model: 'digits-vit', predictions: [digitPrediction('7', 0.97)] }))
    const wrapper = mount(ImageClassifyView, { props: { model: imageModel() } })
    expect(wrapper.get('input[type="file"]').attributes('accept')).toBe('image/png,image/jpeg,.png,.jpg,.jpeg')
    await chooseFiles(wrapper, [pngFile('seven.png')])
    await flushPromises()

    expect(sentBody(fetch)).toEqual({ inputs: { image: PNG_1X1 }, model: 'digits-vit' })
    expect(wrapper.get('[data-testid="predicted-label"]').text()).toBe('7')
    expect(wrapper.findAll('.bars li')).toHaveLength(10)
    expect(wrapper.get('[data-testid="image-preview"]').attributes('src')).toBe(`data:image/png;base64,${PNG_1X1}`)
    expect(wrapper.text()).toContain('seven.png')
    wrapper.unmount()
  })

  it('refuses a file that is not an image, or too large, without asking the server', async () => {
    const fetch = stubFetch(() => json({}))
    const wrapper = mount(ImageClassifyView, { props: { model: imageModel() } })
    await chooseFiles(wrapper, [new File(['hello'], 'notes.png', { type: 'image/png' })])
    await flushPromises()
    expect(wrapper.get('[role="alert"]').text()).toBe('notes.png is not an image this model can read (PNG, JPEG).')
    await chooseFiles(wrapper, [new File([new Uint8Array(2048)], 'big.png', { type: 'image/png' })])
    await flushPromises()
    expect(wrapper.get('[role="alert"]').text()).toBe('big.png weighs 2 KB; the limit is 1 KB.')
    expect(fetch).not.toHaveBeenCalled()
    expect(wrapper.find('[data-testid="image-preview"]').exists()).toBe(false)
    wrapper.unmount()
  })

  it('classifies an example image on a click, and asks for an image when there is none', async () => {
    const fetch = stubFetch(() => json({ model: 'digits-vit', predictions: [digitPrediction('3')] }))
    const wrapper = mount(ImageClassifyView, { props: { model: imageModel() } })
    await wrapper.get('form').trigger('submit')
    expect(wrapper.get('[role="alert"]').text()).toBe('Choose an image, or click an example, first.')
    const examples = wrapper.findAll('[data-testid="image-examples"] button')
    expect(examples).toHaveLength(10)
    expect(examples[3].attributes('aria-label')).toBe('Example image: 3')
    await examples[3].trigger('click')
    await flushPromises()
    expect(sentBody(fetch)).toEqual({ inputs: { image: PNG_1X1 }, model: 'digits-vit' })
    expect(wrapper.get('[data-testid="predicted-label"]').text()).toBe('3')
    wrapper.unmount()
  })

  it('takes an image pasted from the clipboard', async () => {
    const fetch = stubFetch(() => json({ model: 'digits-vit', predictions: [digitPrediction('1')] }))
    const wrapper = mount(ImageClassifyView, { props: { model: imageModel() } })
    const paste = new Event('paste') as Event & { clipboardData: unknown }
    paste.clipboardData = { files: [pngFile('clipboard.png')] }
    window.dispatchEvent(paste)
    await flushPromises()
    expect(fetch).toHaveBeenCalledTimes(1)
    expect(wrapper.text()).toContain('clipboard.png')
    wrapper.unmount()
  })

  it('shows the server’s detail when it refuses the image', async () => {
    stubFetch(() => json({ detail: 'The image cannot be decoded.' }, 415))
    const wrapper = mount(ImageClassifyView, { props: { model: imageModel() } })
    await chooseFiles(wrapper, [pngFile()])
    await flushPromises()
    expect(wrapper.get('[role="alert"]').text()).toBe('The server answered 415: The image cannot be decoded.')
    wrapper.unmount()
  })

  it('speaks French', () => {
    setLocale('fr')
    const wrapper = mount(ImageClassifyView, { props: { model: imageModel() } })
    expect(wrapper.get('label').text()).toBe('Image à classer')
    expect(wrapper.text()).toContain('Ou essayez un exemple')
    wrapper.unmount()
  })
})

describe('ImagePipelineView', () => {
  it('shows the heatmap over the image beside it, the logits and softmax, and switches method', async () => {
    const fetch = stubFetch((_url, init) => {
      const method = JSON.parse(String(init.body)).method
      return json(imageExplanation({ method }))
    })
    const wrapper = mount(ImagePipelineView, { props: { model: imageModel() } })
    await chooseFiles(wrapper, [pngFile()])
    await flushPromises()

    expect(sentBody(fetch)).toEqual({ inputs: { image: PNG_1X1 }, model: 'digits-vit', method: 'saliency', target: null })
    const overlay = wrapper.get('[data-testid="image-overlay"]')
    expect(overlay.attributes('src')).toBe(`data:image/png;base64,${PNG_1X1}`)
    expect(overlay.attributes('alt')).toBe('Heatmap for the label 7, over the image')
    expect(wrapper.find('[data-testid="image-preview"]').exists()).toBe(true)
    expect(wrapper.findAll('tbody tr')).toHaveLength(10)
    expect(wrapper.get('tr.predicted').text()).toContain('7')
    expect(wrapper.get('[data-testid="pipeline-prediction"]').text()).toBe('7, with a probability of 80.0%.')

    await wrapper.get('[data-testid="image-method"]').setValue('attention_rollout')
    await flushPromises()
    expect(sentBody(fetch, 1)).toMatchObject({ method: 'attention_rollout' })
    expect(wrapper.text()).toContain('By attention rollout: warmer areas weighed more for the label “7”.')
    wrapper.unmount()
  })
})

describe('ImageBatchView', () => {
  it('checks each file, sends the good ones in requests of max_items, and lists the rest', async () => {
    let call = 0
    const fetch = stubFetch((_url, init) => {
      const inputs = JSON.parse(String(init.body)).inputs as unknown[]
      return json({ model: 'digits-vit', predictions: inputs.map(() => digitPrediction(String(call++))) })
    })
    const wrapper = mount(ImageBatchView, { props: { model: imageModel() } })
    expect(wrapper.get('input[type="file"]').attributes('multiple')).toBeDefined()
    const files = [pngFile('a.png'), pngFile('b.png'), new File(['x'], 'c.txt'), pngFile('d.png')]
    await chooseFiles(wrapper, files)
    await flushPromises()
    expect(wrapper.text()).toContain('3 images ready')
    expect(wrapper.get('.rejected').text()).toContain('c.txt is not an image')

    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(fetch).toHaveBeenCalledTimes(2) // max_items is 2
    expect(sentBody(fetch, 0).inputs).toEqual([{ image: PNG_1X1 }, { image: PNG_1X1 }])
    const rows = wrapper.findAll('tbody tr').map((row) => row.findAll('td').map((cell) => cell.text()))
    expect(rows.map((cells) => cells.slice(0, 3))).toEqual([
      ['1', 'a.png', '0'],
      ['2', 'b.png', '1'],
      ['3', 'd.png', '2'],
    ])
    expect(wrapper.get('thead').text()).toContain('File')
    wrapper.unmount()
  })
})
