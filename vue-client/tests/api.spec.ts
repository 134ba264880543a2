import { afterEach, describe, expect, it } from 'vitest'
import { api, ApiError, apiBase, apiKey, request, setApiKey, setKeyPrompt } from '../src/api'
import { json, stubFetch } from './helpers'

afterEach(() => {
  setKeyPrompt(null)
  setApiKey(null)
})

describe('apiBase', () => {
  it('is the server root next to the page: /app/ served by app.py, behind a proxy sub-path, or Vite at /', () => {
    expect(apiBase('', 'http://host:7860/app/')).toBe('http://host:7860/')
    expect(apiBase('', 'https://host/tp/app/#batch')).toBe('https://host/tp/')
    expect(apiBase(undefined, 'http://localhost:5173/')).toBe('http://localhost:5173/')
  })

  it('takes VITE_API_BASE, absolute or relative, with or without a trailing slash', () => {
    expect(apiBase('https://api.example.org/tp', 'http://localhost:5173/')).toBe('https://api.example.org/tp/')
    expect(apiBase('/tp/', 'https://host/elsewhere/')).toBe('https://host/tp/')
  })
})

describe('request', () => {
  it('returns the JSON of a 2xx answer, from a URL under the API base', async () => {
    const fetch = stubFetch(() => json({ default: 'm', models: [] }))
    await expect(api.models()).resolves.toEqual({ default: 'm', models: [] })
    expect(String(fetch.mock.calls[0][0])).toBe(`${location.origin}/api/v1/models`)
  })

  it('posts JSON with the content type the server requires', async () => {
    const fetch = stubFetch(() => json({ model: 'm', predictions: [] }))
    await api.predict({ inputs: ['a', 'b'], model: 'm' })
    const init = fetch.mock.calls[0][1]!
    expect(init.method).toBe('POST')
    expect(new Headers(init.headers).get('Content-Type')).toBe('application/json')
    expect(JSON.parse(String(init.body))).toEqual({ inputs: ['a', 'b'], model: 'm' })
  })

  it("throws FastAPI's detail with the status", async () => {
    stubFetch(() => json({ detail: '`inputs` has 60,000 characters; the limit is 50,000 (TP_MAX_CHARS).' }, 422))
    const error = await api.predict({ inputs: 'x' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 422, detail: expect.stringContaining('TP_MAX_CHARS') })
  })

  it("joins a list detail (FastAPI's default validation errors)", async () => {
    stubFetch(() => json({ detail: [{ msg: 'field required' }, { msg: 'too long' }] }, 422))
    await expect(request('api/v1/x')).rejects.toMatchObject({ detail: 'field required too long' })
  })

  it('falls back to the status line when the error body is not JSON (a proxy page)', async () => {
    stubFetch(() => new Response('<html>Bad gateway</html>', { status: 502, statusText: 'Bad Gateway' }))
    await expect(request('api/v1/x')).rejects.toMatchObject({ status: 502, detail: '502 Bad Gateway' })
  })

  it('keeps Retry-After for the caller', async () => {
    stubFetch(() => json({ detail: 'The models are still loading.' }, 503, { 'Retry-After': '2' }))
    await expect(request('api/v1/models')).rejects.toMatchObject({ status: 503, retryAfter: 2 })
  })

  it('turns a network failure into an ApiError with status 0', async () => {
    stubFetch(() => Promise.reject(new TypeError('Failed to fetch')))
    await expect(request('api/v1/x')).rejects.toMatchObject({ status: 0, detail: 'Failed to fetch' })
  })

  it('rethrows an abort as it is: the caller cancelled, nothing to show', async () => {
    const controller = new AbortController()
    controller.abort()
    stubFetch(() => Promise.reject(new DOMException('aborted', 'AbortError')))
    await expect(api.predict({ inputs: 'x' }, controller.signal)).rejects.not.toBeInstanceOf(ApiError)
  })
})

describe('API key', () => {
  const protectedRoute = (url: URL, init: RequestInit) =>
    new Headers(init.headers).get('X-API-Key') === 'a-key-of-sixteen-chars'
      ? json({ ok: url.pathname })
      : json({ detail: 'Missing API key: send it in the X-API-Key header.' }, 401)

  it('asks for the key on 401 with the server’s reason, retries with it and keeps it for the tab', async () => {
    const reasons: string[] = []
    setKeyPrompt(async (reason) => (reasons.push(reason), 'a-key-of-sixteen-chars'))
    const fetch = stubFetch(protectedRoute)
    await expect(request('api/v1/models')).resolves.toEqual({ ok: '/api/v1/models' })
    expect(reasons).toEqual(['Missing API key: send it in the X-API-Key header.'])
    expect(fetch).toHaveBeenCalledTimes(2)
    expect(apiKey()).toBe('a-key-of-sixteen-chars')
    await request('api/v1/predict') // sent with the key at once
    expect(fetch).toHaveBeenCalledTimes(3)
  })

  it('asks once for concurrent requests', async () => {
    let prompts = 0
    setKeyPrompt(async () => (prompts++, 'a-key-of-sixteen-chars'))
    stubFetch(protectedRoute)
    await Promise.all([request('api/v1/a'), request('api/v1/b')])
    expect(prompts).toBe(1)
  })

  it('gives up with the 401 when the user cancels', async () => {
    setKeyPrompt(async () => null)
    stubFetch(protectedRoute)
    await expect(request('api/v1/models')).rejects.toMatchObject({ status: 401 })
    expect(apiKey()).toBeNull()
  })
})
