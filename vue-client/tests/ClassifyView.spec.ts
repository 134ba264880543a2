import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it } from 'vitest'
import ClassifyView from '../src/views/ClassifyView.vue'
import { setLocale } from '../src/i18n'
import { deferred, json, model, prediction, sentBody, stubFetch } from './helpers'

beforeEach(() => setLocale('en'))

function mountView(overrides = {}) {
  return mount(ClassifyView, { props: { model: model(overrides) }, attachTo: document.body })
}

describe('ClassifyView', () => {
  it('classifies the text with the chosen model and shows every label’s probability', async () => {
    const fetch = stubFetch(() => json({ model: 'bbc-news-minilm', predictions: [prediction('sports', 0.93)] }))
    const wrapper = mountView()
    await wrapper.get('textarea').setValue('The striker scored twice.')
    await wrapper.get('form').trigger('submit')
    await flushPromises()

    expect(sentBody(fetch)).toEqual({ inputs: 'The striker scored twice.', model: 'bbc-news-minilm' })
    expect(wrapper.get('[data-testid="predicted-label"]').text()).toBe('sports')
    const rows = wrapper.findAll('.bars li')
    expect(rows).toHaveLength(5)
    expect(rows[0].text()).toContain('93.0%')
    wrapper.unmount()
  })

  it('says so, without asking the server, when the text is empty', async () => {
    const fetch = stubFetch(() => json({}))
    const wrapper = mountView()
    await wrapper.get('textarea').setValue('   ')
    await wrapper.get('form').trigger('submit')
    await flushPromises()

    expect(fetch).not.toHaveBeenCalled()
    expect(wrapper.get('[role="alert"]').text()).toBe('Enter a text to classify first.')
    wrapper.unmount()
  })

  it("shows the server's detail when it rejects the request", async () => {
    const detail = '`inputs` has 60,000 characters; the limit is 50,000 (TP_MAX_CHARS): shorten it.'
    stubFetch(() => json({ detail }, 422))
    const wrapper = mountView()
    await wrapper.get('textarea').setValue('x'.repeat(60000))
    expect(wrapper.text()).toContain('over the server’s limit')
    expect(wrapper.get('textarea').attributes('aria-invalid')).toBe('true')
    await wrapper.get('form').trigger('submit')
    await flushPromises()

    const alert = wrapper.get('[role="alert"]').text()
    expect(alert).toContain('The server answered 422:')
    expect(alert).toContain(detail)
    wrapper.unmount()
  })

  it('submits on Ctrl+Enter, and disables the button while it waits', async () => {
    const answer = deferred<Response>()
    const fetch = stubFetch(() => answer.promise)
    const wrapper = mountView()
    await wrapper.get('textarea').setValue('Markets fell.')
    await wrapper.get('textarea').trigger('keydown', { key: 'Enter', ctrlKey: true })
    await wrapper.get('textarea').trigger('keydown', { key: 'Enter', ctrlKey: true }) // a second press while busy
    const button = wrapper.get('button[type="submit"]')
    expect(button.attributes('disabled')).toBeDefined()
    expect(button.text()).toBe('Classifying…')

    answer.resolve(json({ model: 'bbc-news-minilm', predictions: [prediction('business', 0.7, true)] }))
    await flushPromises()
    expect(fetch).toHaveBeenCalledTimes(1)
    expect(button.attributes('disabled')).toBeUndefined()
    expect(wrapper.text()).toContain('longer than 256 tokens')
    wrapper.unmount()
  })

  it('speaks French', async () => {
    setLocale('fr')
    const wrapper = mountView()
    expect(wrapper.get('label').text()).toBe('Texte à classer')
    expect(wrapper.get('button[type="submit"]').text()).toBe('Classer')
    wrapper.unmount()
  })
})
