import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { api, ApiError, authHeaders, onUnauthorized, setToken, TOKEN_KEY, withToken } from './client'

function memoryStorage() {
  const m = new Map<string, string>()
  return {
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, String(v)),
    removeItem: (k: string) => void m.delete(k),
    clear: () => m.clear(),
  }
}

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })
}

beforeEach(() => {
  vi.stubGlobal('localStorage', memoryStorage())
  vi.stubGlobal('location', { origin: 'http://127.0.0.1:9999', href: 'http://127.0.0.1:9999/' })
})
afterEach(() => {
  vi.unstubAllGlobals()
})

describe('access token', () => {
  it('is sent as a bearer header and appended to websocket URLs once stored', async () => {
    expect(authHeaders()).toEqual({})
    expect(withToken('ws://h/api/runs/1/stream?after=0')).toBe('ws://h/api/runs/1/stream?after=0')
    setToken('a b&c')
    expect(localStorage.getItem(TOKEN_KEY)).toBe('a b&c')
    expect(withToken('ws://h/api/runs/1/stream?after=0')).toBe('ws://h/api/runs/1/stream?after=0&token=a%20b%26c')
    expect(withToken('ws://h/x')).toBe('ws://h/x?token=a%20b%26c')
    const fetchMock = vi.fn(async () => json(200, []))
    vi.stubGlobal('fetch', fetchMock)
    await api.validate({ nodes: [], edges: [] } as never)
    const [req, init] = fetchMock.mock.calls[0] as unknown as [Request, RequestInit]
    expect(req.url).toBe('http://127.0.0.1:9999/api/graphs/validate')
    const headers = new Headers(init.headers)
    expect(headers.get('authorization')).toBe('Bearer a b&c')
    expect(headers.get('content-type')).toBe('application/json')
  })

  it('a 401 tells the listeners and still throws the ApiError', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json(401, { detail: 'missing or wrong token: send Authorization: Bearer <token>' })))
    const seen: string[] = []
    const off = onUnauthorized((m) => seen.push(m))
    const err = await api.blocks().catch((e: unknown) => e)
    off()
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(401)
    expect(seen).toEqual(['missing or wrong token: send Authorization: Bearer <token>'])
  })
})

describe('network failures', () => {
  it('become ApiError status 0 with a readable message', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))))
    const err = await api.blocks().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect((err as ApiError).status).toBe(0)
    expect((err as ApiError).message).toBe('Cannot reach the Blocklab server at http://127.0.0.1:9999 — is it running?')
  })

  it('an aborted request stays an AbortError', async () => {
    const ctl = new AbortController()
    ctl.abort()
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new DOMException('aborted', 'AbortError'))))
    const err = await api.validate({ nodes: [], edges: [] } as never, ctl.signal).catch((e: unknown) => e)
    expect(err).not.toBeInstanceOf(ApiError)
    expect((err as DOMException).name).toBe('AbortError')
  })
})
