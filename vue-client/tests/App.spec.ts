import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import App from '../src/App.vue'
import { setApiKey } from '../src/api'
import { setLocale } from '../src/i18n'
import { evaluation, imageModel, json, model, prediction, sentBody, stubFetch, type Handler } from './helpers'

const TWO_MODELS = { default: 'bbc', models: [model({ name: 'bbc' }), model({ name: 'bbc-int8', default: false })] }

function server(models: unknown = TWO_MODELS, extra?: Handler): ReturnType<typeof stubFetch> {
  return stubFetch((url, init) => {
    if (url.pathname.endsWith('/models')) return json(models)
    if (url.pathname.endsWith('/evaluation')) return json(evaluation())
    if (url.pathname.endsWith('/predict')) return json({ model: 'm', predictions: [prediction('tech')] })
    return extra ? extra(url, init) : json({ detail: 'No route' }, 404)
  })
}

beforeEach(() => {
  setLocale('en')
  location.hash = ''
})
afterEach(() => {
  setApiKey(null)
  vi.useRealTimers()
})

describe('App', () => {
  it('offers a model picker when the server serves several models, and uses the chosen one', async () => {
    const fetch = server()
    const wrapper = mount(App, { attachTo: document.body })
    await flushPromises()
    const picker = wrapper.get('select')
    expect(picker.findAll('option').map((o) => o.text())).toEqual(['bbc', 'bbc-int8'])
    await picker.setValue('bbc-int8')
    await wrapper.get('textarea').setValue('New chips')
    await wrapper.get('form').trigger('submit')
    await flushPromises()
    expect(sentBody(fetch, 1)).toMatchObject({ model: 'bbc-int8' })
    wrapper.unmount()
  })

  it('shows no picker for a single model', async () => {
    server({ default: 'bbc', models: [model({ name: 'bbc' })] })
    const wrapper = mount(App)
    await flushPromises()
    expect(wrapper.find('header select').exists()).toBe(false)
    wrapper.unmount()
  })

  it('navigates by hash, keeping each view’s state', async () => {
    server()
    const wrapper = mount(App)
    await flushPromises()
    await wrapper.get('textarea').setValue('kept')
    location.hash = '#model'
    window.dispatchEvent(new HashChangeEvent('hashchange'))
    await flushPromises()
    expect(wrapper.get('nav a[aria-current="page"]').text()).toBe('Model')
    expect(wrapper.find('table.matrix').exists()).toBe(true)
    location.hash = '#classify'
    window.dispatchEvent(new HashChangeEvent('hashchange'))
    await flushPromises()
    expect((wrapper.get('textarea').element as HTMLTextAreaElement).value).toBe('kept')
    wrapper.unmount()
  })

  it('switches to French and back', async () => {
    server()
    const wrapper = mount(App)
    await flushPromises()
    await wrapper.get('button[lang="fr"]').trigger('click')
    expect(wrapper.get('nav').text()).toContain('Dans les coulisses')
    expect(document.documentElement.lang).toBe('fr')
    expect(document.title).toBe('tp · classifieur de textes')
    expect(wrapper.get('button[lang="fr"]').attributes('aria-pressed')).toBe('true')
    await wrapper.get('button[lang="en"]').trigger('click')
    expect(wrapper.get('nav').text()).toContain('Behind the pipeline')
    wrapper.unmount()
  })

  it('waits while the models load (503), then shows the views', async () => {
    vi.useFakeTimers()
    let loading = true
    stubFetch((url) =>
      loading && url.pathname.endsWith('/models')
        ? json({ detail: 'The models are still loading.' }, 503, { 'Retry-After': '2' })
        : json(TWO_MODELS),
    )
    const wrapper = mount(App)
    await flushPromises()
    expect(wrapper.get('[role="status"]').text()).toContain('Loading the models')
    expect(wrapper.find('textarea').exists()).toBe(false)
    loading = false
    await vi.advanceTimersByTimeAsync(2000)
    await flushPromises()
    expect(wrapper.find('[role="status"]').exists()).toBe(false)
    expect(wrapper.find('textarea').exists()).toBe(true)
    wrapper.unmount()
  })

  it('asks for the API key on 401, shows the server’s reason, and retries with the key', async () => {
    const fetch = stubFetch((_url, init) =>
      new Headers(init.headers).get('X-API-Key') === 'sixteen-chars-key!'
        ? json(TWO_MODELS)
        : json({ detail: 'Missing API key: send it in the X-API-Key header.' }, 401),
    )
    const wrapper = mount(App, { attachTo: document.body })
    await flushPromises()
    const dialog = wrapper.get('[role="dialog"]')
    expect(dialog.text()).toContain('Missing API key')
    expect(document.activeElement).toBe(dialog.get('input[type="password"]').element)
    await dialog.get('input').setValue('sixteen-chars-key!')
    await dialog.trigger('submit')
    await flushPromises()
    expect(wrapper.find('[role="dialog"]').exists()).toBe(false)
    expect(fetch).toHaveBeenCalledTimes(2)
    expect(wrapper.find('textarea').exists()).toBe(true)
    wrapper.unmount()
  })

  it('offers a retry when the models cannot be listed', async () => {
    let fail = true
    stubFetch(() => (fail ? Promise.reject(new TypeError('Failed to fetch')) : json(TWO_MODELS)))
    const wrapper = mount(App)
    await flushPromises()
    expect(wrapper.get('[role="alert"]').text()).toContain('The server cannot be reached (Failed to fetch)')
    fail = false
    await wrapper.get('main button').trigger('click')
    await flushPromises()
    expect(wrapper.find('textarea').exists()).toBe(true)
    wrapper.unmount()
  })

  it('turns each view into its image counterpart when the chosen model classifies images', async () => {
    server({ default: 'bbc', models: [model({ name: 'bbc' }), imageModel()] })
    const wrapper = mount(App)
    await flushPromises()
    await wrapper.get('textarea').setValue('kept')
    await wrapper.get('header select').setValue('digits-vit')
    expect(wrapper.find('textarea').exists()).toBe(false)
    expect(document.title).toBe('tp · image classifier')
    expect(wrapper.get('main input[type="file"]').attributes('multiple')).toBeUndefined()
    expect(wrapper.findAll('[data-testid="image-examples"] button')).toHaveLength(10)

    location.hash = '#batch'
    window.dispatchEvent(new HashChangeEvent('hashchange'))
    await flushPromises()
    expect(wrapper.get('main input[type="file"]').attributes('multiple')).toBeDefined()
    location.hash = '#model'
    window.dispatchEvent(new HashChangeEvent('hashchange'))
    await flushPromises()
    expect(wrapper.get('main').text()).toContain('Image formats')
    expect(wrapper.get('main').text()).toContain('PNG, JPEG')
    expect(wrapper.get('main').text()).toContain('Test images')
    expect(wrapper.get('main').text()).toContain('445 test images')

    location.hash = '#classify'
    window.dispatchEvent(new HashChangeEvent('hashchange'))
    await wrapper.get('header select').setValue('bbc')
    await flushPromises()
    expect((wrapper.get('textarea').element as HTMLTextAreaElement).value).toBe('kept') // the text view was kept apart
    wrapper.unmount()
  })
})
