import { mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it } from 'vitest'
import BatchControls from '../src/components/BatchControls.vue'
import SubmitButton from '../src/components/SubmitButton.vue'
import { setLocale } from '../src/i18n'

beforeEach(() => setLocale('en'))

describe('SubmitButton', () => {
  it('is a primary submit button showing its label, enabled, without a spinner when idle', () => {
    const button = mount(SubmitButton, { props: { busy: false, label: 'Classify' } })
    expect(button.element.tagName).toBe('BUTTON')
    expect(button.attributes('type')).toBe('submit')
    expect(button.classes()).toContain('primary')
    expect(button.attributes('disabled')).toBeUndefined()
    expect(button.attributes('aria-busy')).toBe('false')
    expect(button.find('.spinner').exists()).toBe(false)
    expect(button.text()).toBe('Classify')
  })

  it('shows a spinner hidden from screen readers, is aria-busy and disabled while busy', () => {
    const button = mount(SubmitButton, { props: { busy: true, label: 'Classifying…' } })
    expect(button.attributes('disabled')).toBeDefined()
    expect(button.attributes('aria-busy')).toBe('true')
    expect(button.get('.spinner').attributes('aria-hidden')).toBe('true')
    expect(button.element.textContent).toBe(' Classifying…') // a space between the spinner and the label
  })

  it('can be disabled while idle, and takes its content from a slot', async () => {
    const button = mount(SubmitButton, { props: { busy: false, disabled: true }, slots: { default: '<em>Send</em>' } })
    expect(button.attributes('disabled')).toBeDefined()
    expect(button.find('.spinner').exists()).toBe(false)
    expect(button.get('em').text()).toBe('Send')
    await button.setProps({ disabled: false })
    expect(button.attributes('disabled')).toBeUndefined()
  })
})

describe('BatchControls', () => {
  it('offers the submit button only when idle', () => {
    const controls = mount(BatchControls, { props: { busy: false, progress: { done: 0, total: 0 } } })
    expect(controls.findAll('button').map((b) => b.text())).toEqual(['Classify all'])
    expect(controls.find('progress').exists()).toBe(false)
  })

  it('counts what is done on the busy button, shows a labelled progress bar and a stop button', async () => {
    const controls = mount(BatchControls, { props: { busy: true, progress: { done: 2, total: 5 } } })
    const [submit, stop] = controls.findAll('button')
    expect(submit.text()).toBe('Classifying 2 / 5…')
    expect(submit.attributes('disabled')).toBeDefined()
    expect(submit.find('.spinner').exists()).toBe(true)
    const progress = controls.get('progress')
    expect([progress.attributes('value'), progress.attributes('max')]).toEqual(['2', '5'])
    expect(controls.get('label').attributes('for')).toBe(progress.attributes('id'))
    expect(stop.attributes('type')).toBe('button') // not a second submit
    await stop.trigger('click')
    expect(controls.emitted('stop')).toHaveLength(1)
  })
})
