// The one module that talks to tp's REST API. Types come from the server's OpenAPI document
// (src/schema.d.ts, `npm run gen:types`); every call checks res.ok and surfaces FastAPI's `detail`.
import type { components } from './schema'

type Schemas = components['schemas']
// The document lists this server's model names as an enum; a client takes any name GET /models gave.
type AnyModel<T> = Omit<T, 'model'> & { model?: string | null }

export type PredictRequest = AnyModel<Schemas['PredictRequest']>
export type PredictResponse = Schemas['PredictResponse']
export type Prediction = Schemas['Prediction']
export type MultiLabelPrediction = Schemas['MultiLabelPrediction']
export type RegressionPrediction = Schemas['RegressionPrediction']
// one input's answer, in the shape of the model's problem_type (src/task.ts tells them apart)
export type AnyPrediction = PredictResponse['predictions'][number]
export type LabelThresholdScore = Schemas['LabelThresholdScore']
export type TextPairInput = Schemas['TextPairInput']
export type LabelScore = Schemas['LabelScore']
export type ExplainResponse = Schemas['ExplainResponse']
export type ImageExplainResponse = Schemas['ImageExplainResponse']
export type TokenPublic = Schemas['TokenPublic']
export type ModelsResponse = Schemas['ModelsResponse']
export type ModelPublic = Schemas['ModelPublic']
export type ModelEvaluation = Schemas['ModelEvaluation']
export type ImageExample = Schemas['ImageExample']
export type BaselinePublic = Schemas['BaselinePublic']
export type RunWarning = Schemas['RunWarning']
export type ImageInput = Schemas['ImageInput']
export type ImageLimits = Pick<Schemas['ModelLimits'], 'max_image_bytes' | 'max_image_pixels' | 'image_formats'>
// POST /explain takes a text, a text pair or an image; what comes back depends on the model's task
export type ImageExplainMethod = ImageExplainResponse['method']
export type ExplainMethod = Exclude<NonNullable<Schemas['ExplainRequest']['method']>, ImageExplainMethod>
type AnyExplainRequest = AnyModel<Schemas['ExplainRequest']>
export type ExplainRequest = AnyExplainRequest & { inputs: string | TextPairInput; method?: ExplainMethod | null }
export type ImageExplainRequest = Omit<AnyExplainRequest, 'steps'> & { inputs: ImageInput; method?: ImageExplainMethod | null }

/** An answer that is not 2xx (status > 0), or no answer at all (status 0: network failure). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly retryAfter: number | null = null,
  ) {
    super(status ? `${status}: ${detail}` : detail)
    this.name = 'ApiError'
  }
}

/** Asked for the API key when the server answers 401; resolves to the key, or null when the user cancels. */
export type KeyPrompt = (reason: string) => Promise<string | null>

const KEY_STORAGE = 'tp.apiKey'
let keyPrompt: KeyPrompt | null = null
let pendingPrompt: Promise<string | null> | null = null // concurrent 401s share one prompt

export function setKeyPrompt(prompt: KeyPrompt | null): void {
  keyPrompt = prompt
}

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE)
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key)
  else sessionStorage.removeItem(KEY_STORAGE)
}

/**
 * Where the API lives: VITE_API_BASE when the build set it, else next to the page. The client is served
 * at <server>/app/ (behind a proxy: <server>/<sub-path>/app/), so the server's root is one level up;
 * in development Vite serves it at / and proxies /api.
 */
export function apiBase(configured: string | undefined = import.meta.env.VITE_API_BASE, page = location.href): string {
  const base = configured ? new URL(configured, page) : new URL('../', page)
  return base.href.endsWith('/') ? base.href : `${base.href}/`
}

async function readDetail(res: Response): Promise<string> {
  const text = await res.text().catch(() => '')
  try {
    const detail = (JSON.parse(text) as { detail?: unknown }).detail
    if (typeof detail === 'string') return detail
    if (Array.isArray(detail)) return detail.map((item) => (item as { msg?: string }).msg ?? String(item)).join(' ')
  } catch {
    // not JSON: a proxy's error page, for instance
  }
  return `${res.status} ${res.statusText}`.trim()
}

async function askForKey(reason: string): Promise<string | null> {
  if (!keyPrompt) return null
  pendingPrompt ??= keyPrompt(reason).finally(() => (pendingPrompt = null))
  return pendingPrompt
}

async function send(path: string, init: RequestInit): Promise<Response> {
  const headers = new Headers(init.headers)
  const key = apiKey()
  if (key) headers.set('X-API-Key', key)
  try {
    return await fetch(new URL(path, apiBase()), { ...init, headers })
  } catch (error) {
    if (init.signal?.aborted) throw error // the caller cancelled: not an API error
    throw new ApiError(0, error instanceof Error ? error.message : String(error))
  }
}

/** One API call; on 401 asks for the key (when a prompt is set) and retries with it. */
export async function request<T>(path: string, init: RequestInit = {}): Promise<T> {
  for (;;) {
    const res = await send(path, init)
    if (res.ok) return (await res.json()) as T
    const detail = await readDetail(res)
    if (res.status === 401) {
      const key = await askForKey(detail)
      if (key) {
        setApiKey(key)
        continue
      }
    }
    const retryAfter = Number(res.headers.get('Retry-After')) || null
    throw new ApiError(res.status, detail, retryAfter)
  }
}

function post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  return request<T>(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  })
}

export const api = {
  models: () => request<ModelsResponse>('api/v1/models'),
  evaluation: (model: string) => request<ModelEvaluation>(`api/v1/models/${encodeURIComponent(model)}/evaluation`),
  predict: (body: PredictRequest, signal?: AbortSignal) => post<PredictResponse>('api/v1/predict', body, signal),
  explain: (body: ExplainRequest, signal?: AbortSignal) => post<ExplainResponse>('api/v1/explain', body, signal),
  explainImage: (body: ImageExplainRequest, signal?: AbortSignal) =>
    post<ImageExplainResponse>('api/v1/explain', body, signal),
}
