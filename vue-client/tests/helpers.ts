// Test doubles at the network boundary only: a fetch stub that answers like tp's server.
import { vi } from 'vitest'
import type { ExplainResponse, ModelEvaluation, ModelPublic, Prediction } from '../src/api'

export const LABELS = ['business', 'entertainment', 'politics', 'sports', 'tech']

export function model(overrides: Partial<ModelPublic> = {}): ModelPublic {
  return {
    name: 'bbc-news-minilm',
    task: 'text-classification',
    default: true,
    labels: LABELS,
    base_model: 'sentence-transformers/all-MiniLM-L6-v2',
    dataset: 'builtin:bbc-news',
    metrics: { test_accuracy: 0.982, test_macro_f1: 0.9822, test_size: 445, peak_rss_bytes: 3214503936, custom: 0.5 },
    device: 'cpu',
    quantized: null,
    limits: { max_items: 64, max_chars: 50000, max_tokens: 256, max_batch_size: 32 },
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
    tokens: [
      { index: 0, id: 101, token: '[CLS]', special: true, start: null, end: null, attribution: 0, attribution_scaled: 0 },
      { index: 1, id: 11854, token: 'striker', special: false, start: 0, end: 7, attribution: 0.002, attribution_scaled: 1 },
      { index: 2, id: 3195, token: 'scored', special: false, start: 8, end: 14, attribution: -0.001, attribution_scaled: -0.5 },
      { index: 3, id: 102, token: '[SEP]', special: true, start: null, end: null, attribution: 0, attribution_scaled: 0 },
    ],
    logits: [-1.3, -0.17, -0.93, 3.08, -1.38],
    probabilities: [0.0115, 0.0358, 0.0167, 0.9254, 0.0107],
    id2label: Object.fromEntries(LABELS.map((label, id) => [String(id), label])),
    label: 'sports',
    score: 0.9254,
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
