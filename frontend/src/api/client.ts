import type { BlockInfo, DatasetInfo, Design, DesignSummary, GraphDoc, InitInfo, PredictResult, RunCreate, RunOut, Samples, Template, ValidateResult } from './types'

export class ApiError extends Error {
  status: number
  body: unknown
  constructor(status: number, body: unknown, message: string) {
    super(message)
    this.status = status
    this.body = body
  }
}

function detailMessage(body: unknown): string {
  if (body && typeof body === 'object' && 'detail' in body) {
    const d = (body as { detail: unknown }).detail
    if (typeof d === 'string') return d
    if (Array.isArray(d))
      return d
        .map((e) => (e && typeof e === 'object' && 'msg' in e ? `${(e as { loc?: unknown[] }).loc?.join('.') ?? ''}: ${(e as { msg: string }).msg}` : JSON.stringify(e)))
        .join('; ')
    return JSON.stringify(d)
  }
  return typeof body === 'string' ? body : JSON.stringify(body)
}

// ---------------------------------------------------------------- access token
// A server started with BLOCKLAB_TOKEN wants `Authorization: Bearer <token>` on every /api
// request and `?token=` on the run stream. The token lives in localStorage.

export const TOKEN_KEY = 'blocklab.token'

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY) || null
  } catch {
    return null
  }
}

export function setToken(token: string | null) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token)
    else localStorage.removeItem(TOKEN_KEY)
  } catch {
    /* storage unavailable: the token lasts until the page closes */
  }
}

/** The Authorization header for the stored token (empty without one). */
export function authHeaders(): Record<string, string> {
  const t = getToken()
  return t ? { Authorization: `Bearer ${t}` } : {}
}

/** A websocket URL with `token=` appended when a token is stored. */
export function withToken(url: string): string {
  const t = getToken()
  if (!t) return url
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(t)}`
}

type UnauthorizedListener = (message: string) => void
const unauthorizedListeners = new Set<UnauthorizedListener>()
let lastUnauthorized: string | null = null

/** Called on every 401 from the API (and at once if one has already happened). */
export function onUnauthorized(cb: UnauthorizedListener): () => void {
  unauthorizedListeners.add(cb)
  if (lastUnauthorized !== null) cb(lastUnauthorized)
  return () => unauthorizedListeners.delete(cb)
}

function reportUnauthorized(message: string) {
  lastUnauthorized = message
  for (const cb of unauthorizedListeners) cb(message)
}

/** The readable message for a fetch that never reached the server. */
export function unreachableMessage(): string {
  const origin = typeof location !== 'undefined' ? location.origin : 'this address'
  return `Cannot reach the Blocklab server at ${origin} — is it running?`
}

/** fetch() with the token header; a network failure becomes ApiError(0, …) with a readable message. */
export async function apiFetch(url: string, init: RequestInit = {}): Promise<Response> {
  let res: Response
  try {
    res = await fetch(url, { ...init, headers: { ...authHeaders(), ...(init.headers as Record<string, string> | undefined) } })
  } catch (e) {
    // an aborted request stays an AbortError; anything else (TypeError "Failed to fetch") is the network
    if (e instanceof DOMException && e.name === 'AbortError') throw e
    if (init.signal?.aborted) throw e
    throw new ApiError(0, null, unreachableMessage())
  }
  if (res.status === 401) {
    let detail = ''
    try {
      detail = detailMessage(await res.clone().json())
    } catch {
      /* not JSON */
    }
    reportUnauthorized(detail || 'missing or wrong token')
  }
  return res
}

async function request<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await apiFetch(url, {
    method,
    headers: body === undefined ? undefined : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  })
  const type = res.headers.get('content-type') ?? ''
  const data: unknown = res.status === 204 ? null : type.includes('json') ? await res.json() : await res.text()
  if (!res.ok) throw new ApiError(res.status, data, `${method} ${url}: ${res.status} ${detailMessage(data)}`)
  return data as T
}

function filenameFrom(res: Response, fallback: string): string {
  const cd = res.headers.get('content-disposition') ?? ''
  const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(cd)
  if (star) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''))
    } catch {
      /* fall through */
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(cd)
  return plain ? plain[1].trim() : fallback
}

/** Download an /api file with the token header (a plain <a href> cannot send one). */
export async function downloadWithToken(url: string, fallbackName?: string): Promise<void> {
  const res = await apiFetch(url)
  if (!res.ok) {
    const type = res.headers.get('content-type') ?? ''
    const data: unknown = type.includes('json') ? await res.json() : await res.text()
    throw new ApiError(res.status, data, `GET ${url}: ${res.status} ${detailMessage(data)}`)
  }
  const blob = await res.blob()
  const name = filenameFrom(res, fallbackName || url.split('?')[0].split('/').pop() || 'download')
  saveBlob(name, blob)
}

/** Hand a blob to the browser as a file download. */
export function saveBlob(filename: string, blob: Blob) {
  const href = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = href
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(href), 1000)
}

export const api = {
  blocks: () => request<BlockInfo[]>('GET', '/api/blocks'),
  inits: () => request<InitInfo[]>('GET', '/api/inits'),
  templates: () => request<Template[]>('GET', '/api/templates'),
  validate: (doc: GraphDoc, signal?: AbortSignal) => request<ValidateResult>('POST', '/api/graphs/validate', doc, signal),
  listDesigns: () => request<DesignSummary[]>('GET', '/api/graphs'),
  getDesign: (id: string) => request<Design>('GET', `/api/graphs/${encodeURIComponent(id)}`),
  createDesign: (doc: GraphDoc) => request<Design>('POST', '/api/graphs', doc),
  updateDesign: (id: string, doc: GraphDoc) => request<Design>('PUT', `/api/graphs/${encodeURIComponent(id)}`, doc),
  deleteDesign: (id: string) => request<unknown>('DELETE', `/api/graphs/${encodeURIComponent(id)}`),
  exportPython: (doc: GraphDoc) => request<string>('POST', '/api/export/python', doc),
  datasets: () => request<DatasetInfo[]>('GET', '/api/datasets'),
  createRun: (body: RunCreate) => request<{ id: string; status: string }>('POST', '/api/runs', body),
  /** every run, or only the runs linked to one saved design */
  runs: (graphId?: string | null) => request<RunOut[]>('GET', `/api/runs${graphId ? `?graph_id=${encodeURIComponent(graphId)}` : ''}`),
  /** an even spread of `limit` samples over a split of the dataset (built with these params) */
  samples: (name: string, split: 'train' | 'val', limit: number, params: Record<string, unknown> = {}) =>
    request<Samples>(
      'GET',
      `/api/datasets/${encodeURIComponent(name)}/samples?split=${split}&limit=${limit}&params=${encodeURIComponent(JSON.stringify(params))}`,
    ),
  run: (id: string) => request<RunOut>('GET', `/api/runs/${encodeURIComponent(id)}`),
  stopRun: (id: string) => request<{ id: string; status: string }>('POST', `/api/runs/${encodeURIComponent(id)}/stop`),
  /** a finished run with its stored history and weights (409 while it runs) */
  deleteRun: (id: string) => request<unknown>('DELETE', `/api/runs/${encodeURIComponent(id)}`),
  metrics: <T = unknown>(id: string, after = 0, type?: string) =>
    request<T[]>('GET', `/api/runs/${encodeURIComponent(id)}/metrics?after=${after}${type ? `&type=${encodeURIComponent(type)}` : ''}`),
  predict: (id: string, inputs: unknown[]) => request<PredictResult>('POST', `/api/runs/${encodeURIComponent(id)}/predict`, { inputs }),
}
