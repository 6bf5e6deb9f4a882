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

async function request<T>(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(url, {
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
  metrics: <T = unknown>(id: string, after = 0, type?: string) =>
    request<T[]>('GET', `/api/runs/${encodeURIComponent(id)}/metrics?after=${after}${type ? `&type=${encodeURIComponent(type)}` : ''}`),
  predict: (id: string, inputs: unknown[]) => request<PredictResult>('POST', `/api/runs/${encodeURIComponent(id)}/predict`, { inputs }),
}
