// Dataset samples (GET /api/datasets/{name}/samples) turned into what the dashboard draws: the
// data points over the decision boundary and the "try validation samples" table. Pure.
import type { PredictResult, RunOut, Samples } from '../api/types'

export type DatasetRef = { name: string; params: Record<string, unknown> }

/** The dataset a run was trained on (its config), or null when the config has none. */
export function datasetOfRun(run: Pick<RunOut, 'config'> | null | undefined): DatasetRef | null {
  const ds = (run?.config as { dataset?: { name?: unknown; params?: unknown } } | undefined)?.dataset
  if (!ds || typeof ds.name !== 'string') return null
  const params = ds.params && typeof ds.params === 'object' && !Array.isArray(ds.params) ? (ds.params as Record<string, unknown>) : {}
  return { name: ds.name, params }
}

/** A classification target as a class index: 3, [3] or a one-hot row; null when it is not one. */
export function classOf(target: unknown): number | null {
  if (typeof target === 'number') return Number.isInteger(target) ? target : null
  if (Array.isArray(target)) {
    if (target.length === 1) return classOf(target[0])
    if (target.length > 1 && target.every((v) => typeof v === 'number')) {
      let best = 0
      for (let i = 1; i < target.length; i++) if ((target[i] as number) > (target[best] as number)) best = i
      return best
    }
  }
  return null
}

export type Point = { x: number; y: number; px: number; py: number; cls: number | null }

/**
 * 2-D samples placed on a `size`×`size` square that spans x_range × y_range (y grows upwards,
 * as in the grid message). Samples outside the ranges, or not 2-D, are left out.
 */
export function pointsOnGrid(s: Pick<Samples, 'inputs' | 'targets' | 'task'>, xr: readonly number[], yr: readonly number[], size: number): Point[] {
  const out: Point[] = []
  const dx = xr[1] - xr[0]
  const dy = yr[1] - yr[0]
  if (!(dx > 0) || !(dy > 0)) return out
  s.inputs.forEach((inp, i) => {
    if (!Array.isArray(inp) || inp.length !== 2) return
    const [x, y] = inp as number[]
    if (typeof x !== 'number' || typeof y !== 'number' || x < xr[0] || x > xr[1] || y < yr[0] || y > yr[1]) return
    out.push({ x, y, px: ((x - xr[0]) / dx) * size, py: (1 - (y - yr[0]) / dy) * size, cls: s.task === 'classification' ? classOf(s.targets[i]) : null })
  })
  return out
}

/** Elements in a (nested) list sample. */
export function numel(v: unknown): number {
  return Array.isArray(v) ? v.reduce((n: number, x) => n + numel(x), 0) : 1
}

/** A sample for a table cell: short ones in full (3 significant digits), big ones by shape. */
export function formatSample(v: unknown, maxValues = 8): string {
  if (numel(v) > maxValues) {
    const shape: number[] = []
    for (let x = v; Array.isArray(x); x = x[0]) shape.push(x.length)
    return `tensor [${shape.join('×')}]`
  }
  return JSON.stringify(v, (_k, x) => (typeof x === 'number' ? Number(x.toPrecision(3)) : x)).replace(/,/g, ', ')
}

export type SampleRow = {
  input: unknown
  target: unknown
  /** classification: the target class, the predicted one and its probability */
  targetClass: number | null
  predicted: number | null
  confidence: number | null
  output: unknown
  /** classification: predicted != target; regression: null */
  wrong: boolean | null
  /** regression: mean absolute error of the output against the target */
  error: number | null
}

function flat(v: unknown): number[] {
  return Array.isArray(v) ? v.flatMap(flat) : typeof v === 'number' ? [v] : []
}

/** Line the samples up with the model's answers for them. */
export function sampleRows(s: Pick<Samples, 'inputs' | 'targets' | 'task'>, res: PredictResult): SampleRow[] {
  return s.inputs.map((input, i) => {
    const target = s.targets[i]
    const output = res.outputs[i]
    if (res.predicted && s.task === 'classification') {
      const predicted = res.predicted[i] ?? null
      const targetClass = classOf(target)
      return {
        input,
        target,
        targetClass,
        predicted,
        confidence: predicted == null ? null : (res.probabilities?.[i]?.[predicted] ?? null),
        output,
        wrong: predicted == null || targetClass == null ? null : predicted !== targetClass,
        error: null,
      }
    }
    const a = flat(output)
    const b = flat(target)
    const error = a.length && a.length === b.length ? a.reduce((sum, v, k) => sum + Math.abs(v - b[k]), 0) / a.length : null
    return { input, target, targetClass: null, predicted: null, confidence: null, output, wrong: null, error }
  })
}

/** The runs the history shows: all, those linked to the saved design, or (unsaved) those by name. */
export function shownRuns<R extends Pick<RunOut, 'name'> & { graph_id?: string | null }>(runs: R[], opts: { all: boolean; designId: string | null; name: string }): R[] {
  if (opts.all) return runs
  if (opts.designId) return runs.filter((r) => r.graph_id === opts.designId)
  return runs.filter((r) => r.name === opts.name)
}

/**
 * The run list with the run on screen in its live status (the stream's), not the status the list
 * had when it was fetched: a run started a moment ago reads "running" as soon as it runs.
 */
export function withLiveStatus<R extends { id: string; status: string }>(runs: R[], runId: string | null, live: string): R[] {
  if (!runId || live === 'queued') return runs
  return runs.map((r) => (r.id === runId && r.status !== live ? { ...r, status: live } : r))
}
