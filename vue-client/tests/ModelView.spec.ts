import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it } from 'vitest'
import ModelView from '../src/views/ModelView.vue'
import { setLocale } from '../src/i18n'
import { evaluation, json, model, multiLabelModel, pairRegressionModel, stubFetch } from './helpers'

const BASELINES = {
  majority: { accuracy: 0.2315, macro_f1: 0.0752, predicts: 'sports', description: 'always the most frequent training label', scores: {} },
  chance: { accuracy: 0.2014, macro_f1: 0.2001, predicts: null, description: 'random guesses', scores: {} },
  tfidf_logreg: { accuracy: 0.97, macro_f1: 0.99, predicts: null, description: 'TF-IDF + logistic regression', scores: {} },
  bow_nb: { accuracy: 0.9, macro_f1: 0.9, predicts: null, description: 'bag of words + naive Bayes', scores: {} },
}

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
    expect(wrapper.get('[data-testid="model-variant"]').text()).toBe("the run's own weights")
    expect(wrapper.find('[data-testid="model-variant-reason"]').exists()).toBe(false)
    const reason = 'TP_VARIANT=auto: distill:3+onnx-int8, the fastest variant the accuracy gate accepted'
    await wrapper.setProps({ model: model({ variant: 'distill-3_onnx-int8', variant_reason: reason }) })
    expect(wrapper.get('[data-testid="model-variant"]').text()).toBe('distill-3_onnx-int8')
    expect(wrapper.get('[data-testid="model-variant-reason"]').text()).toBe(reason)
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

  it('shows no warning and no baselines for a run that recorded none', async () => {
    stubFetch(() => json(evaluation()))
    const wrapper = mount(ModelView, { props: { model: model() } })
    await flushPromises()
    expect(wrapper.find('[data-testid="no-skill"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="below-baseline"]').exists()).toBe(false)
    expect(wrapper.find('[data-testid="baselines"]').exists()).toBe(false)
  })

  it('alerts when the model learned nothing and compares it with its baselines', async () => {
    stubFetch(() => json(evaluation()))
    const warnings = [
      { code: 'no_skill', severity: 'error' as const, message: 'macro-F1 0.100 does not beat the chance baseline.' },
      { code: 'below_baseline', severity: 'warning' as const, message: 'macro-F1 0.100 is below the tfidf_logreg.' },
    ]
    const metrics = { test_accuracy: 0.3, test_macro_f1: 0.1, test_size: 445 }
    const wrapper = mount(ModelView, { props: { model: model({ baselines: BASELINES, warnings, metrics }) } })
    await flushPromises()

    const alert = wrapper.get('[data-testid="no-skill"]')
    expect(alert.attributes('role')).toBe('alert')
    expect(alert.text()).toContain('This model has not learned its task')
    expect(alert.text()).toContain('does not beat the chance baseline')
    expect(alert.text()).not.toContain('below the tfidf_logreg')
    const note = wrapper.get('[data-testid="below-baseline"]')
    expect(note.attributes('role')).toBeUndefined() // softer: no alert
    expect(note.text()).toContain('A simple baseline does better than this model')

    expect(wrapper.text()).toContain('Compared with baselines')
    const rows = wrapper.get('[data-testid="baselines"]').findAll('tbody tr')
    const cells = (i: number) => rows[i].findAll('td').map((td) => td.text())
    expect(rows[0].get('th').text()).toBe('This model')
    expect(rows.slice(1).map((row) => row.get('.title').text())).toEqual([
      'Majority class', 'Chance', 'TF-IDF + logistic regression', 'bow_nb', // unknown to tp: its own name
    ])
    // the main score first: metrics.test_macro_f1, then metrics.test_accuracy
    expect(wrapper.findAll('[data-testid="baselines"] thead th').map((th) => th.text())).toEqual(['Model', 'Macro F1', 'Accuracy'])
    expect(cells(0)).toEqual(['10.0%', '30.0%'])
    expect(cells(1)).toEqual(['7.5%', '23.2%'])
    expect(rows[1].text()).toContain('always predicts “sports”')
    expect(rows[4].text()).toContain('bag of words + naive Bayes') // the server's words for an unknown one
    expect(rows.map((row) => row.classes('better'))).toEqual([false, false, true, true, true])

    setLocale('fr')
    await flushPromises()
    expect(wrapper.get('[data-testid="no-skill"]').text()).toContain('Ce modèle n’a pas appris sa tâche')
    expect(rows[1].text()).toContain('prédit toujours « sports »')
  })

  it('loads the evaluation again when the model changes', async () => {
    const fetch = stubFetch(() => json(evaluation()))
    const wrapper = mount(ModelView, { props: { model: model() } })
    await flushPromises()
    await wrapper.setProps({ model: model({ name: 'other' }) })
    await flushPromises()
    expect(String(fetch.mock.calls[1][0])).toMatch(/\/models\/other\/evaluation$/)
  })

  it('compares a regression model with its baselines on its own scores, RMSE first', async () => {
    stubFetch(() => json({ detail: 'no evaluation' }, 404))
    const metrics = { test_mae: 1.0987, test_rmse: 1.3293, test_r2: -0.0067, test_pearson: -0.0109, test_spearman: 0.0336, test_size: 80 }
    const baselines = {
      mean: { accuracy: null, macro_f1: null, predicts: '2.675', description: 'the training mean on every row',
        scores: { rmse: 1.3285, mae: 1.0988, r2: -0.0055, pearson: 0, spearman: 0 } },
      tfidf_ridge: { accuracy: null, macro_f1: null, predicts: null, description: 'TF-IDF + ridge',
        scores: { rmse: 1.309, mae: 1.0563, r2: 0.0238, pearson: 0.2224, spearman: 0.2 } },
    }
    const main = { name: 'test_rmse', value: 1.3293, greater_is_better: false }
    const wrapper = mount(ModelView, { props: { model: pairRegressionModel({ metrics, baselines, main_metric: main }) } })
    await flushPromises()

    const card = wrapper.findAll('dl.pairs')[2].findAll('dt').map((dt) => dt.text())
    expect(card.slice(0, 6)).toEqual(['RMSE', 'MAE', 'R²', 'Pearson correlation', 'Spearman correlation', 'Test pairs'])
    expect(wrapper.text()).not.toContain('test_')
    const table = wrapper.get('[data-testid="baselines"]')
    expect(table.findAll('thead th').map((th) => th.text())).toEqual([
      'Model', 'RMSE lower is better', 'MAE lower is better', 'R²', 'Pearson correlation', 'Spearman correlation',
    ])
    const rows = table.findAll('tbody tr')
    expect(rows.slice(1).map((row) => row.get('.title').text())).toEqual(['Training mean', 'TF-IDF + ridge regression'])
    expect(rows[0].findAll('td').map((td) => td.text())).toEqual(['1.3293', '1.0987', '-0.0067', '-0.0109', '0.0336'])
    expect(rows[1].findAll('td').map((td) => td.text())).toEqual(['1.3285', '1.0988', '-0.0055', '0', '0'])
    expect(rows[1].text()).toContain('always predicts “2.675”')
    expect(rows.map((row) => row.classes('better'))).toEqual([false, true, true]) // lower RMSE than the model
    expect(table.text()).not.toContain('—')

    setLocale('fr')
    await flushPromises()
    expect(table.findAll('thead th').map((th) => th.text())[1]).toBe('REQM (RMSE) plus bas = meilleur')
    expect(rows[2].get('.title').text()).toBe('TF-IDF + régression ridge')
    expect(wrapper.text()).toContain('Corrélation de Spearman')
  })

  it('compares a multi-label model on micro-F1 first, with exact-set accuracy and Hamming loss', async () => {
    stubFetch(() => json({ detail: 'no evaluation' }, 404))
    const metrics = { test_micro_f1: 0.3, test_macro_f1: 0.12, test_accuracy: 0.2, test_hamming_loss: 0.08, test_size: 80 }
    const baselines = {
      majority: { accuracy: 0.475, macro_f1: 0, predicts: 'no label', description: 'the most frequent training label set on every row',
        scores: { micro_f1: 0, macro_f1: 0, accuracy: 0.475, hamming_loss: 0.0693 } },
      tfidf_logreg: { accuracy: 0.275, macro_f1: 0.1847, predicts: null, description: 'one-vs-rest',
        scores: { micro_f1: 0.4917, macro_f1: 0.1847, accuracy: 0.275, hamming_loss: 0.058 } },
    }
    const wrapper = mount(ModelView, { props: { model: multiLabelModel({ metrics, baselines }) } })
    await flushPromises()

    const card = wrapper.findAll('dl.pairs')[2].findAll('dt').map((dt) => dt.text())
    expect(card.slice(0, 4)).toEqual(['Micro F1', 'Macro F1', 'Exact-set accuracy', 'Hamming loss'])
    const table = wrapper.get('[data-testid="baselines"]')
    expect(table.findAll('thead th').map((th) => th.text())).toEqual([
      'Model', 'Micro F1', 'Macro F1', 'Exact-set accuracy', 'Hamming loss lower is better',
    ])
    const rows = table.findAll('tbody tr')
    expect(rows[0].findAll('td').map((td) => td.text())).toEqual(['30.0%', '12.0%', '20.0%', '0.08'])
    expect(rows[1].findAll('td').map((td) => td.text())).toEqual(['0.0%', '0.0%', '47.5%', '0.0693'])
    expect(rows[1].get('.title').text()).toBe('Most frequent label set')
    expect(rows.map((row) => row.classes('better'))).toEqual([false, false, true]) // 49.2% micro-F1 >= 30%
    setLocale('fr')
    await flushPromises()
    expect(table.findAll('thead th').map((th) => th.text())[3]).toBe('Exactitude (ensemble exact)')
    expect(rows[1].text()).toContain('l’ensemble d’étiquettes le plus fréquent')
  })
})
