// The REST client, typed by the paths generated from the server's OpenAPI (schema.d.ts, via
// openapi-typescript): openapi-fetch checks each call's path, parameters and body against it.
import createClient from 'openapi-fetch'
import type { paths } from './schema'
import { ApiError, apiFetch, detailMessage } from './http'
import type { BlockInfo, DatasetInfo, Design, ExportIn, GraphDoc, InitInfo, Options, PredictResult, RunCreate, Samples, SweepCreate, Template, ValidateResult } from './types'

export { ApiError, authHeaders, downloadWithToken, getToken, onUnauthorized, saveBlob, setToken, TOKEN_KEY, unreachableMessage, withToken } from './http'

// Built per call: the base is the page's origin (a test stubs `location`), the fetch adds the token.
const client = () => createClient<paths>({ baseUrl: typeof location !== 'undefined' ? location.origin : '', fetch: (req) => apiFetch(req) })

type Answer<T> = { data?: T; error?: unknown; response: Response }

/** The answer's data, or an ApiError carrying the server's status and detail. */
async function ok<T>(call: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await call
  if (!response.ok) {
    const url = new URL(response.url || 'http://x/').pathname
    throw new ApiError(response.status, error, `${url}: ${response.status} ${detailMessage(error)}`)
  }
  return data as T
}

const runPath = (run_id: string) => ({ params: { path: { run_id } } })
const graphPath = (graph_id: string) => ({ params: { path: { graph_id } } })

export const api = {
  // JSON-schema and graph-document fields are typed more precisely in types.ts (checked against the schema there)
  blocks: () => ok(client().GET('/api/blocks')) as Promise<BlockInfo[]>,
  inits: () => ok(client().GET('/api/inits')) as Promise<InitInfo[]>,
  templates: () => ok(client().GET('/api/templates')) as Promise<Template[]>,
  validate: (doc: GraphDoc, signal?: AbortSignal) => ok(client().POST('/api/graphs/validate', { body: doc, signal })) as Promise<ValidateResult>,
  listDesigns: () => ok(client().GET('/api/graphs')),
  getDesign: (id: string): Promise<Design> => ok(client().GET('/api/graphs/{graph_id}', graphPath(id))).then((d) => ({ ...d, graph: d.graph as GraphDoc })),
  createDesign: (doc: GraphDoc) => ok(client().POST('/api/graphs', { body: doc })),
  updateDesign: (id: string, doc: GraphDoc) => ok(client().PUT('/api/graphs/{graph_id}', { ...graphPath(id), body: doc })),
  deleteDesign: (id: string) => ok(client().DELETE('/api/graphs/{graph_id}', graphPath(id))),
  exportPython: (doc: GraphDoc) => ok(client().POST('/api/export/python', { body: doc, parseAs: 'text' })),
  datasets: () => ok(client().GET('/api/datasets')) as Promise<DatasetInfo[]>,
  /** a CSV, a zip of image class folders or an .npz, with the form's other fields (target, name, task, size, color) */
  uploadDataset: (file: File, fields: Record<string, unknown>) =>
    ok(client().POST('/api/datasets', { body: { file: file as unknown as string }, bodySerializer: () => formData({ file }, fields) })) as Promise<DatasetInfo>,
  options: () => ok(client().GET('/api/options')) as Promise<Options>,
  createRun: (body: RunCreate) => ok(client().POST('/api/runs', { body })),
  /** every run, or only the runs linked to one saved design */
  runs: (graphId?: string | null) => ok(client().GET('/api/runs', { params: { query: graphId ? { graph_id: graphId } : {} } })),
  /** an even spread of `limit` samples over a split of the dataset (built with these params) */
  samples: (name: string, split: 'train' | 'val', limit: number, params: Record<string, unknown> = {}) =>
    ok(client().GET('/api/datasets/{name}/samples', { params: { path: { name }, query: { split, limit, params: JSON.stringify(params) } } })) as Promise<Samples>,
  run: (id: string) => ok(client().GET('/api/runs/{run_id}', runPath(id))),
  stopRun: (id: string) => ok(client().POST('/api/runs/{run_id}/stop', runPath(id))),
  /** a finished run with its stored history and weights (409 while it runs) */
  deleteRun: (id: string) => ok(client().DELETE('/api/runs/{run_id}', runPath(id))),
  /** the run's stored messages after seq `after` (typed by the server's message models) */
  metrics: (id: string, after = 0, type?: string) =>
    ok(client().GET('/api/runs/{run_id}/metrics', { params: { path: { run_id: id }, query: type ? { after, type } : { after } } })),
  predict: (id: string, inputs: unknown[]) => ok(client().POST('/api/runs/{run_id}/predict', { ...runPath(id), body: { inputs } })) as Promise<PredictResult>,
  /** the checkpoint on the validation split: a confusion matrix, or predicted against true */
  evaluation: (id: string, which: 'best' | 'last' = 'best') => ok(client().GET('/api/runs/{run_id}/evaluation', { params: { path: { run_id: id }, query: { which } } })),
  // ---- models in and out (issue 15)
  /** parse an .onnx file into a design (nothing in it runs on the server) */
  importOnnx: (file: File) =>
    ok(client().POST('/api/import/onnx', { body: { file: file as unknown as string }, bodySerializer: () => formData({ file }) })).then((r) => ({ ...r, graph: r.graph as GraphDoc })),
  /** the design (or a run's design and weights) as an .onnx file */
  exportOnnx: (body: ExportIn) => ok(client().POST('/api/export/onnx', { body, parseAs: 'blob' })) as Promise<Blob>,
  exportKeras: (body: ExportIn) => ok(client().POST('/api/export/keras', { body, parseAs: 'text' })),
  // ---- sweeps (issue 17)
  sweeps: () => ok(client().GET('/api/sweeps')),
  sweep: (id: string) => ok(client().GET('/api/sweeps/{sweep_id}', { params: { path: { sweep_id: id } } })),
  createSweep: (body: SweepCreate) => ok(client().POST('/api/sweeps', { body })),
  stopSweep: (id: string) => ok(client().POST('/api/sweeps/{sweep_id}/stop', { params: { path: { sweep_id: id } } })),
}

function formData(files: Record<string, Blob>, fields: Record<string, unknown> = {}): FormData {
  const fd = new FormData()
  for (const [k, v] of Object.entries(files)) fd.append(k, v, v instanceof File ? v.name : k)
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== null && v !== '') fd.append(k, String(v))
  return fd
}
