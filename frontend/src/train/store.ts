// Training state: the settings form, the run on screen (fed by the stream), run history and
// comparison. Kept apart from the designer store; the canvas nodes read `nodeStats`/`nodeActs`.
// The actions that change it live beside it: connection.ts (the stream), actions.ts (start,
// stop, delete), history.ts (run list, comparison, datasets and samples).
import { create } from 'zustand'
import type { DatasetInfo, RunOut, ValidationError } from '../api/types'
import { setRunProblems } from '../store/runProblems'
import { emptyRun, type NodeAct, type NodeStat, type RunData } from './stream'

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


export const initial = (): Pick<TrainState, 'data' | 'version' | 'nodeStats' | 'nodeActs'> => ({ data: emptyRun(), version: 0, nodeStats: {}, nodeActs: {} })

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

export function setForm(patch: Partial<TrainForm>) {
  useTrain.setState((s) => ({ form: { ...s.form, ...patch }, startError: null }))
  setRunProblems([])
}

export function applyTemplateTrain(train: Record<string, unknown> | null | undefined) {
  if (train) useTrain.setState({ form: formFromTrain(train) })
}
