// What a text model takes and answers, from GET /models: one text or a text pair (`text_pair`), and one label,
// any labels with a threshold each, or a number (`problem_type`). Shared by the classify and batch views.
import { computed, ref, watch } from 'vue'
import type {
  AnyPrediction,
  ModelPublic,
  MultiLabelPrediction,
  PredictRequest,
  Prediction,
  RegressionPrediction,
  TextPairInput,
} from './api'

export type Problem = 'single' | 'multi' | 'regression'

/** What a user typed for one input: a text, and the second text of a pair model. */
export interface TextItem {
  text: string
  textPair?: string
}

export function problemOf(model: Pick<ModelPublic, 'problem_type'>): Problem {
  if (model.problem_type === 'multi_label_classification') return 'multi'
  if (model.problem_type === 'regression') return 'regression'
  return 'single'
}

export function isMultiLabel(prediction: AnyPrediction): prediction is MultiLabelPrediction {
  return 'labels' in prediction
}

export function isRegression(prediction: AnyPrediction): prediction is RegressionPrediction {
  return 'value' in prediction
}

export function isSingleLabel(prediction: AnyPrediction): prediction is Prediction {
  return !isMultiLabel(prediction) && !isRegression(prediction)
}

/** What a regression model predicts: its one output's name (the training column, e.g. `score`). */
export function valueName(model: Pick<ModelPublic, 'labels'>): string {
  return model.labels[0] ?? 'value'
}

/** What the server is sent for an item: the text, or `{text, text_pair}` for a pair model. */
export function textInput(model: Pick<ModelPublic, 'text_pair'>, item: TextItem): string | TextPairInput {
  return model.text_pair ? { text: item.text, text_pair: item.textPair ?? '' } : item.text
}

/** True when an item has what the model reads: a text, and its second text for a pair model. */
export function isComplete(model: Pick<ModelPublic, 'text_pair'>, item: TextItem): boolean {
  return item.text.trim() !== '' && (!model.text_pair || (item.textPair ?? '').trim() !== '')
}

/** The tuned thresholds' range, e.g. [0.2, 0.65]; null when the model has none. */
export function thresholdRange(model: Pick<ModelPublic, 'thresholds'>): [number, number] | null {
  const values = Object.values(model.thresholds ?? {})
  return values.length ? [Math.min(...values), Math.max(...values)] : null
}

/**
 * A view's task: the model's problem and inputs, and the multi-label threshold the user chose (null: the run's
 * tuned thresholds, which the server applies when the request has no `threshold`).
 */
export function useTask(model: () => ModelPublic) {
  const problem = computed(() => problemOf(model()))
  const pairs = computed(() => model().text_pair)
  const threshold = ref<number | null>(null)
  watch(() => model().name, () => (threshold.value = null))

  /** The request's task options: `threshold` only when the user moved the slider of a multi-label model. */
  function options(): Pick<PredictRequest, 'threshold'> {
    return problem.value === 'multi' && threshold.value !== null ? { threshold: threshold.value } : {}
  }

  return {
    problem,
    pairs,
    threshold,
    options,
    input: (item: TextItem) => textInput(model(), item),
    complete: (item: TextItem) => isComplete(model(), item),
  }
}
