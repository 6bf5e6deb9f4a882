// Training state: the settings form, the run on screen (fed by the stream), run history and
// comparison. Kept apart from the designer store; the canvas nodes read `nodeStats`/`nodeActs`.
import { create } from 'zustand'
import { api, ApiError, withToken } from '../api/client'
import type { DatasetInfo, RunOut, Samples, ValidationError } from '../api/types'
import { useDesigner } from '../store/designer'
import { designToDoc } from '../store/graph'
import { afterClose, afterProbe, type AfterClose } from './reconnect'
import { applyMessages, emptyRun, isFinished, type NodeAct, type NodeStat, type RunData, type StreamMsg } from './stream'

export const ACTIVE_KEY = 'blocklab.activeRun.v1'

export type TrainForm = {
  dataset: string
  datasetParams: Record<string, unknown>
  loss: string
  optimizer: string
  lr: number
  momentum: number
  weight_decay: number
  epochs: number
  batch_size: number
  device: 'auto' | 'cpu' | 'cuda'
  seed: number
}

export const DEFAULT_FORM: TrainForm = {
  dataset: 'spirals',
  datasetParams: {},
  loss: 'cross_entropy',
  optimizer: 'adam',
  lr: 0.01,
  momentum: 0.9,
  weight_decay: 0,
  epochs: 20,
  batch_size: 32,
  device: 'auto',
  seed: 0,
}

/** A template's `train` config -> form values (unknown keys are ignored). */
export function formFromTrain(train: Record<string, unknown> | null | undefined, base: TrainForm = DEFAULT_FORM): TrainForm {
  if (!train) return base
  const f = { ...base }
  const ds = train.dataset as { name?: string; params?: Record<string, unknown> } | undefined
  if (ds?.name) {
    f.dataset = ds.name
    f.datasetParams = { ...(ds.params ?? {}) }
  }
  if (typeof train.loss === 'string') f.loss = train.loss
  const opt = train.optimizer as Record<string, unknown> | undefined
  if (opt) {
    if (typeof opt.name === 'string') f.optimizer = opt.name
    if (typeof opt.lr === 'number') f.lr = opt.lr
    if (typeof opt.momentum === 'number') f.momentum = opt.momentum
    if (typeof opt.weight_decay === 'number') f.weight_decay = opt.weight_decay
  }
  for (const k of ['epochs', 'batch_size', 'seed'] as const) if (typeof train[k] === 'number') f[k] = train[k] as number
  if (train.device === 'auto' || train.device === 'cpu' || train.device === 'cuda') f.device = train.device
  return f
}

export type CompareCurve = { id: string; name: string; epoch: number[]; val: number[]; train: (number | null)[]; acc: (number | null)[] }

export type TrainState = {
  tab: 'inspect' | 'train'
  datasets: DatasetInfo[]
  form: TrainForm
  runId: string | null
  run: RunOut | null
  data: RunData
  version: number
  nodeStats: Record<string, NodeStat>
  nodeActs: Record<string, NodeAct>
  connected: boolean
  /** why the stream stopped reconnecting (unknown run, token refused), shown in the run view */
  streamError: string | null
  starting: boolean
  startError: { message: string; errors: ValidationError[] } | null
  history: RunOut[]
  historyAll: boolean
  compare: string[]
  curves: Record<string, CompareCurve>
  drawerNode: string | null
}

const initial = (): Pick<TrainState, 'data' | 'version' | 'nodeStats' | 'nodeActs'> => ({ data: emptyRun(), version: 0, nodeStats: {}, nodeActs: {} })

export const useTrain = create<TrainState>()(() => ({
  tab: 'inspect',
  datasets: [],
  form: DEFAULT_FORM,
  runId: null,
  run: null,
  ...initial(),
  connected: false,
  streamError: null,
  starting: false,
  startError: null,
  history: [],
  historyAll: false,
  compare: [],
  curves: {},
  drawerNode: null,
}))

// ---------------------------------------------------------------- the stream connection

type Debug = { runId: string | null; seqs: number[]; connects: { after: number; at: number }[]; replayed: number; gaps: number }
const debug: Debug = { runId: null, seqs: [], connects: [], replayed: 0, gaps: 0 }
if (typeof window !== 'undefined') (window as unknown as { __blocklab?: unknown }).__blocklab = debug

let ws: WebSocket | null = null
let pending: StreamMsg[] = []
let flushTimer: number | undefined
let reconnectTimer: number | undefined
let generation = 0
let attempts = 0 // reconnects since the last successful open

function flush() {
  flushTimer = undefined
  const st = useTrain.getState()
  const msgs = pending
  pending = []
  if (!msgs.length) return
  const d = st.data
  const was = d.status
  let last = d.lastSeq
  for (const m of msgs)
    if (m.seq > last) {
      debug.seqs.push(m.seq)
      last = m.seq
    }
  if (!applyMessages(d, msgs)) return
  debug.gaps = d.gaps.length
  useTrain.setState({ version: st.version + 1, nodeStats: d.nodes, nodeActs: d.acts })
  if (!isFinished(was) && isFinished(d.status)) void onFinished(st.runId!)
}

function queue(msgs: StreamMsg[]) {
  pending.push(...msgs)
  if (flushTimer === undefined) flushTimer = window.setTimeout(flush, 50)
}

async function onFinished(id: string) {
  if (localStorage.getItem(ACTIVE_KEY) === id) localStorage.removeItem(ACTIVE_KEY)
  // the final summary is stored just after the last message: ask again until it is there
  for (let i = 0; i < 6; i++) {
    try {
      const run = await api.run(id)
      if (useTrain.getState().runId !== id) return
      useTrain.setState({ run })
      if (isFinished(run.status) && run.metrics) break
    } catch {
      /* shown as it is */
    }
    await new Promise((r) => setTimeout(r, 400))
  }
  void refreshHistory()
}

function closeSocket() {
  window.clearTimeout(reconnectTimer)
  if (ws) {
    ws.onclose = null
    ws.onmessage = null
    ws.close()
    ws = null
  }
}

function openSocket(id: string, gen: number) {
  closeSocket()
  flush()
  const after = useTrain.getState().data.lastSeq
  debug.connects.push({ after, at: Date.now() })
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
  const sock = new WebSocket(withToken(`${proto}//${location.host}/api/runs/${encodeURIComponent(id)}/stream?after=${after}`))
  ws = sock
  let opened = false
  sock.onopen = () => {
    opened = true
    attempts = 0
    useTrain.setState({ connected: true, streamError: null })
  }
  sock.onmessage = (e) => {
    try {
      queue([JSON.parse(e.data as string) as StreamMsg])
    } catch {
      /* not JSON: ignored */
    }
  }
  sock.onclose = (e) => {
    if (ws !== sock) return
    ws = null
    useTrain.setState({ connected: false })
    flush()
    if (gen !== generation || isFinished(useTrain.getState().data.status)) return
    void settleClose(id, gen, afterClose(e.code, opened, attempts))
  }
}

/** The HTTP status of GET /api/runs/{id} (null when the server cannot be reached). */
async function probe(id: string): Promise<number | null> {
  try {
    await api.run(id)
    return 200
  } catch (e) {
    return e instanceof ApiError ? e.status : null
  }
}

/** Reconnect later, or stop and say why; a refused handshake is first explained by a REST call. */
async function settleClose(id: string, gen: number, close: AfterClose) {
  const next = close.kind === 'probe' ? afterProbe(await probe(id), attempts) : close
  if (gen !== generation) return
  if (next.kind === 'stop') {
    useTrain.setState({ streamError: next.message })
    if (next.forget && localStorage.getItem(ACTIVE_KEY) === id) localStorage.removeItem(ACTIVE_KEY)
    return
  }
  attempts++
  reconnectTimer = window.setTimeout(() => gen === generation && openSocket(id, gen), next.delayMs)
}

/** Show a run: replay its stored history (GET /metrics), then follow the live stream from the last seq. */
export async function attachRun(id: string): Promise<void> {
  const gen = ++generation
  closeSocket()
  pending = []
  window.clearTimeout(flushTimer)
  flushTimer = undefined
  debug.runId = id
  debug.seqs = []
  debug.connects = []
  debug.replayed = 0
  debug.gaps = 0
  attempts = 0
  useTrain.setState({ runId: id, run: null, ...initial(), connected: false, streamError: null, drawerNode: null })
  let run: RunOut
  try {
    run = await api.run(id)
  } catch (e) {
    if (gen === generation) useTrain.setState({ runId: null })
    if (localStorage.getItem(ACTIVE_KEY) === id) localStorage.removeItem(ACTIVE_KEY)
    throw e
  }
  if (gen !== generation) return
  // the form shows the settings of the run on screen (so Train re-runs them)
  useTrain.setState({ run, form: formFromTrain(run.config as Record<string, unknown>, useTrain.getState().form) })
  const past = await api.metrics<StreamMsg>(id, 0)
  if (gen !== generation) return
  debug.replayed = past.length
  pending.push(...past)
  flush()
  const d = useTrain.getState().data
  if (!isFinished(d.status) && !isFinished(run.status)) {
    localStorage.setItem(ACTIVE_KEY, id)
    openSocket(id, gen)
  } else if (localStorage.getItem(ACTIVE_KEY) === id) localStorage.removeItem(ACTIVE_KEY)
}

export function detachRun() {
  generation++
  closeSocket()
  useTrain.setState({ runId: null, run: null, ...initial(), connected: false, streamError: null })
}

/** After a reload: pick up the run that was active, if it still runs. */
export async function resumeActiveRun(): Promise<boolean> {
  const id = localStorage.getItem(ACTIVE_KEY)
  if (!id) return false
  try {
    await attachRun(id)
    useTrain.setState({ tab: 'train' })
    return true
  } catch {
    return false
  }
}

// ---------------------------------------------------------------- actions

export async function loadDatasets() {
  if (useTrain.getState().datasets.length) return
  try {
    useTrain.setState({ datasets: await api.datasets() })
  } catch (e) {
    useDesigner.getState().notify(`Cannot load datasets: ${(e as Error).message}`, 'error')
  }
}

export function setForm(patch: Partial<TrainForm>) {
  useTrain.setState((s) => ({ form: { ...s.form, ...patch }, startError: null }))
  clearInjected()
}

export function applyTemplateTrain(train: Record<string, unknown> | null | undefined) {
  if (train) useTrain.setState({ form: formFromTrain(train) })
}

function runErrors(e: unknown): { message: string; errors: ValidationError[] } {
  if (e instanceof ApiError) {
    const body = e.body as { detail?: unknown } | null
    const d = body?.detail
    if (d && typeof d === 'object' && !Array.isArray(d) && 'errors' in d) {
      const dd = d as { message?: string; errors?: ValidationError[] }
      return { message: dd.message ?? 'the run was refused', errors: dd.errors ?? [] }
    }
    if (Array.isArray(d))
      return {
        message: 'the run settings are invalid',
        errors: d.map((x: { loc?: unknown[]; msg?: string }) => ({ node: null, field: (x.loc ?? []).slice(1).join('.'), message: x.msg ?? JSON.stringify(x) })),
      }
    if (e.status === 429) return { message: typeof d === 'string' ? d : 'the queue is full; try again in a moment', errors: [] }
    return { message: typeof d === 'string' ? d : e.message, errors: [] }
  }
  return { message: String((e as Error)?.message ?? e), errors: [] }
}

export function buildRunBody(form: TrainForm) {
  const s = useDesigner.getState()
  const doc = designToDoc(s.design, s.catalog)
  const optimizer: Record<string, unknown> = { name: form.optimizer, lr: form.lr }
  if (form.optimizer === 'sgd' && form.momentum) optimizer.momentum = form.momentum
  if (form.weight_decay) optimizer.weight_decay = form.weight_decay
  return {
    graph: doc,
    // a design saved on the server: the run is linked to it (its history), the graph sent is trained
    ...(s.designId ? { graph_id: s.designId } : {}),
    name: doc.name || 'Untitled',
    dataset: { name: form.dataset, params: form.datasetParams },
    loss: form.loss,
    optimizer,
    epochs: form.epochs,
    batch_size: form.batch_size,
    device: form.device,
    seed: form.seed,
  }
}

let injected = false

/** Take the run's node errors off the canvas again (the designer re-validates). */
function clearInjected() {
  if (!injected) return
  injected = false
  useDesigner.getState().setValidation(null)
}

export async function startRun(): Promise<string | null> {
  const st = useTrain.getState()
  useTrain.setState({ starting: true, startError: null })
  clearInjected()
  try {
    const body = buildRunBody(st.form)
    let created: { id: string }
    try {
      created = await api.createRun(body as never)
    } catch (e) {
      // the saved design is gone from the server: train it anyway, unlinked
      if (!('graph_id' in body) || !runErrors(e).errors.some((x) => x.field === 'graph_id')) throw e
      const { graph_id: _g, ...rest } = body
      created = await api.createRun(rest as never)
    }
    const { id } = created
    localStorage.setItem(ACTIVE_KEY, id)
    await attachRun(id)
    void refreshHistory()
    return id
  } catch (e) {
    const err = runErrors(e)
    useTrain.setState({ startError: err })
    // node errors outline the nodes on the canvas, as validation does
    const nodeErrs = err.errors.filter((x) => x.node)
    if (nodeErrs.length) {
      const ds = useDesigner.getState()
      const v = ds.rawValidation ?? { ok: false, errors: [], nodes: {}, total_params: 0 }
      ds.setValidation({ ...v, ok: false, errors: [...v.errors, ...nodeErrs.map((x) => ({ ...x, severity: 'error' }))] })
      injected = true
    }
    return null
  } finally {
    useTrain.setState({ starting: false })
  }
}

export async function stopRun() {
  const id = useTrain.getState().runId
  if (!id) return
  try {
    await api.stopRun(id)
  } catch (e) {
    useDesigner.getState().notify(`Stop failed: ${(e as Error).message}`, 'error')
  }
}

/** Delete a finished run from the server; the run on screen and the comparison let go of it. */
export async function deleteRun(id: string) {
  try {
    await api.deleteRun(id)
  } catch (e) {
    useDesigner.getState().notify(`Delete failed: ${(e as Error).message}`, 'error')
    return
  }
  if (useTrain.getState().runId === id) detachRun()
  useTrain.setState((s) => {
    const { [id]: _gone, ...curves } = s.curves
    return { history: s.history.filter((r) => r.id !== id), compare: s.compare.filter((x) => x !== id), curves }
  })
  void refreshHistory()
}

let historyCall = 0

/** The run history: a saved design's runs (GET /api/runs?graph_id=), or all of them. */
export async function refreshHistory() {
  const call = ++historyCall
  const designId = useDesigner.getState().designId
  const all = useTrain.getState().historyAll
  try {
    const history = await api.runs(all ? null : designId)
    if (call === historyCall) useTrain.setState({ history })
  } catch {
    /* keep the old list */
  }
}

const samplesCache = new Map<string, Promise<Samples>>()

/** Samples of a dataset split, fetched once per (dataset, params, split, limit). */
export function loadSamples(name: string, params: Record<string, unknown>, split: 'train' | 'val', limit: number): Promise<Samples> {
  const key = JSON.stringify([name, params, split, limit])
  let p = samplesCache.get(key)
  if (!p) {
    p = api.samples(name, split, limit, params)
    p.catch(() => samplesCache.delete(key))
    samplesCache.set(key, p)
  }
  return p
}

export async function toggleCompare(id: string) {
  const st = useTrain.getState()
  if (st.compare.includes(id)) {
    useTrain.setState({ compare: st.compare.filter((x) => x !== id) })
    return
  }
  useTrain.setState({ compare: [...st.compare, id] })
  if (st.curves[id]) return
  try {
    const msgs = await api.metrics<Extract<StreamMsg, { type: 'epoch' }>>(id, 0, 'epoch')
    const run = st.history.find((r) => r.id === id)
    const c: CompareCurve = { id, name: run?.name ?? id.slice(0, 8), epoch: [], val: [], train: [], acc: [] }
    for (const m of msgs) {
      c.epoch.push(m.epoch)
      c.val.push(m.val_loss)
      c.train.push(m.train_loss ?? null)
      c.acc.push(m.val_accuracy ?? null)
    }
    useTrain.setState((s) => ({ curves: { ...s.curves, [id]: c } }))
  } catch (e) {
    useDesigner.getState().notify(`Cannot load run ${id.slice(0, 8)}: ${(e as Error).message}`, 'error')
  }
}
