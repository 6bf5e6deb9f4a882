// Training state: the settings form, the run on screen (fed by the stream), run history and
// comparison. Kept apart from the designer store; the canvas nodes read `nodeStats`/`nodeActs`.
// The actions that change it live beside it: connection.ts (the stream), actions.ts (start,
// stop, delete), history.ts (run list, comparison, datasets and samples).
import { create } from 'zustand'
import type { DatasetInfo, Options, RunOut, ValidationError } from '../api/types'
import { emptyRun, type NodeAct, type NodeStat, type RunData } from './stream'

export const ACTIVE_KEY = 'blocklab.activeRun.v1'

export type CompareCurve = { id: string; name: string; epoch: number[]; val: (number | null)[]; train: (number | null)[]; acc: (number | null)[] }

export type TrainState = {
  /** the right panel's tab (sweeps: the Sweeps view, src/sweeps) */
  tab: 'inspect' | 'train' | 'sweeps'
  datasets: DatasetInfo[]
  /** GET /api/options: what the settings form offers */
  options: Options | null
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
  options: null,
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
