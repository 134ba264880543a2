// Test doubles at the network boundary only: a fetch stub that answers like tp's server.
import { flushPromises, type VueWrapper } from '@vue/test-utils'
import { vi } from 'vitest'
import type { ExplainResponse, ModelEvaluation, ModelPublic, MultiLabelPrediction, Prediction } from '../src/api'
import { parseCsv } from '../src/csv'

export const LABELS = ['business', 'entertainment', 'politics', 'sports', 'tech']

export function model(overrides: Partial<ModelPublic> = {}): ModelPublic {
  return {
    name: 'bbc-news-minilm',
    task: 'text-classification',
    default: true,
    problem_type: 'single_label_classification',
    text_pair: false,
    thresholds: null,
    main_metric: { name: 'test_macro_f1', value: 0.9822, greater_is_better: true },
    labels: LABELS,
    base_model: 'sentence-transformers/all-MiniLM-L6-v2',
    dataset: 'builtin:bbc-news',
    metrics: { test_accuracy: 0.982, test_macro_f1: 0.9822, test_size: 445, peak_rss_bytes: 3214503936, custom: 0.5 },
    device: 'cpu',
    quantized: null,
    runtime: 'torch',
    variant: null,
    variant_reason: null,
    limits: {
      max_items: 64,
      max_chars: 50000,
      max_tokens: 256,
      max_batch_size: 32,
      max_batch_tokens: 8192,
      max_image_bytes: null,
      max_image_pixels: null,
      image_formats: null,
    },
    examples: [],
    baselines: {},
    explain_methods: ['gradient_x_input', 'integrated_gradients'],
    warnings: [],
    ...overrides,
  }
}

/** A prediction whose best label is `label` (probability `score`), the rest sharing what is left. */
export function prediction(label: string, score = 0.9, truncated = false): Prediction {
  const others = LABELS.filter((l) => l !== label).map((l) => ({ label: l, score: (1 - score) / (LABELS.length - 1) }))
  return { label, score, truncated, scores: [{ label, score }, ...others] }
}

export function explanation(overrides: Partial<ExplainResponse> = {}): ExplainResponse {
  return {
    model: 'bbc-news-minilm',
    task: 'text-classification',
    problem_type: 'single_label_classification',
    tokens: [
      { index: 0, id: 101, token: '[CLS]', special: true, segment: null, start: null, end: null, attribution: 0, attribution_scaled: 0 },
      { index: 1, id: 11854, token: 'striker', special: false, segment: 0, start: 0, end: 7, attribution: 0.002, attribution_scaled: 1 },
      { index: 2, id: 3195, token: 'scored', special: false, segment: 0, start: 8, end: 14, attribution: -0.001, attribution_scaled: -0.5 },
      { index: 3, id: 102, token: '[SEP]', special: true, segment: null, start: null, end: null, attribution: 0, attribution_scaled: 0 },
    ],
    logits: [-1.3, -0.17, -0.93, 3.08, -1.38],
    probabilities: [0.0115, 0.0358, 0.0167, 0.9254, 0.0107],
    id2label: Object.fromEntries(LABELS.map((label, id) => [String(id), label])),
    label: 'sports',
    score: 0.9254,
    value: null,
    target: 'sports',
    method: 'gradient_x_input',
    steps: null,
    truncated: false,
    ...overrides,
  }
}

export function evaluation(): ModelEvaluation {
  return {
    model: 'bbc-news-minilm',
    labels: LABELS,
    test_size: 445,
    confusion_matrix: [
      [97, 0, 3, 0, 2],
      [0, 77, 0, 0, 0],
      [2, 0, 81, 0, 1],
      [0, 0, 0, 102, 0],
      [0, 0, 0, 0, 80],
    ],
    per_class: Object.fromEntries(LABELS.map((l) => [l, { precision: 0.98, recall: 0.97, f1: 0.975, support: 90 }])),
  }
}

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } })
}

export type Handler = (url: URL, init: RequestInit) => Response | Promise<Response>

/** Replace fetch for this test; the mock records every call (URL, init). */
export function stubFetch(handler: Handler) {
  const mock = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => handler(new URL(String(input)), init))
  vi.stubGlobal('fetch', mock)
  return mock
}

/** The JSON body of the n-th request the stub received. */
export function sentBody(mock: ReturnType<typeof stubFetch>, call = 0): Record<string, unknown> {
  return JSON.parse(String(mock.mock.calls[call][1]?.body))
}

/** A promise with its resolve exposed: for holding a response while a test looks at the busy state. */
export function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

// A real 1 × 1 PNG, and a PNG header claiming any size (enough for the client's checks).
export const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='
export const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']

export function pngHeader(width: number, height: number): Uint8Array {
  const bytes = new Uint8Array(33)
  bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
  const view = new DataView(bytes.buffer)
  view.setUint32(16, width)
  view.setUint32(20, height)
  return bytes
}

export function pngFile(name = 'seven.png', base64 = PNG_1X1): File {
  return new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name, { type: 'image/png' })
}

export function imageModel(overrides: Partial<ModelPublic> = {}): ModelPublic {
  return {
    ...model({ name: 'digits-vit', task: 'image-classification', labels: DIGITS, base_model: 'google/vit-base-patch16-224',
      explain_methods: ['saliency', 'attention_rollout'] }),
    limits: {
      max_items: 2,
      max_chars: null,
      max_tokens: null,
      max_batch_size: 32,
      max_batch_tokens: 8192,
      max_image_bytes: 1024,
      max_image_pixels: 1_000_000,
      image_formats: ['PNG', 'JPEG'],
    },
    examples: DIGITS.map((label) => ({ label, image: `data:image/png;base64,${PNG_1X1}` })),
    ...overrides,
  }
}

/** A prediction over the digits whose best label is `label`. */
export function digitPrediction(label: string, score = 0.9): Prediction {
  const others = DIGITS.filter((l) => l !== label).map((l) => ({ label: l, score: (1 - score) / 9 }))
  return { label, score, truncated: false, scores: [{ label, score }, ...others] }
}

/** Choose `files` in the n-th file input of `wrapper`, as the browser would. */
export async function chooseFiles(wrapper: { findAll: (s: string) => { element: Element; trigger: (e: string) => Promise<void> }[] }, files: File[], n = 0) {
  const input = wrapper.findAll('input[type="file"]')[n]
  Object.defineProperty(input.element, 'files', { value: files, configurable: true })
  await input.trigger('change')
}

/** Upload a text file `name` holding `content` as a batch view's source (its file mode first). */
export async function uploadText(wrapper: VueWrapper, name: string, content: string) {
  await wrapper.get('input[value="file"]').setValue(true)
  const input = wrapper.get('input[type="file"]')
  Object.defineProperty(input.element, 'files', { value: [new File([content], name)], configurable: true })
  await input.trigger('change')
  await flushPromises()
}

/** Catch the CSV exports: `click` spies on the download link (its file name), `records()` parses the first file. */
export function catchCsvExports() {
  const blobs: Blob[] = []
  vi.stubGlobal('URL', Object.assign(URL, { createObjectURL: (blob: Blob) => (blobs.push(blob), 'blob:x'), revokeObjectURL: () => {} }))
  const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => {})
  return { click, records: async () => parseCsv((await blobs[0].text()).replace(/^\uFEFF/, '')) }
}

// The two tiny task runs of the Python tests: disaster messages (multi-label) and STS-B pairs scored 0-5.
export const AID_LABELS = ['aid_related', 'food', 'water', 'shelter']
export const AID_THRESHOLDS = { aid_related: 0.4, food: 0.35, water: 0.3, shelter: 0.6 }

export function multiLabelModel(overrides: Partial<ModelPublic> = {}): ModelPublic {
  return model({
    name: 'disaster-messages',
    problem_type: 'multi_label_classification',
    labels: AID_LABELS,
    thresholds: AID_THRESHOLDS,
    metrics: { test_micro_f1: 0.61, test_macro_f1: 0.42 },
    main_metric: { name: 'test_micro_f1', value: 0.61, greater_is_better: true },
    ...overrides,
  })
}

export function pairRegressionModel(overrides: Partial<ModelPublic> = {}): ModelPublic {
  return model({
    name: 'sts-b',
    problem_type: 'regression',
    text_pair: true,
    labels: ['score'],
    metrics: { test_rmse: 0.9, test_pearson: 0.8 },
    main_metric: { name: 'test_rmse', value: 0.9, greater_is_better: false },
    ...overrides,
  })
}

/** A multi-label answer with these scores (best first), each label's threshold tuned or `threshold` for all. */
export function multiLabelPrediction(scores: Record<string, number>, threshold: number | null = null): MultiLabelPrediction {
  const ranked = Object.entries(scores)
    .sort((a, b) => b[1] - a[1])
    .map(([label, score]) => ({ label, score, threshold: threshold ?? AID_THRESHOLDS[label as keyof typeof AID_THRESHOLDS] }))
  return {
    labels: ranked.filter((s) => s.score >= s.threshold).map((s) => s.label),
    label: ranked[0].label,
    score: ranked[0].score,
    scores: ranked,
    truncated: false,
  }
}
