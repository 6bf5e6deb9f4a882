// Chart data (uPlot's aligned columns) from the reduced stream. Pure.
import type { RunData } from './stream'

type Col = (number | null)[]

/** x = step: the step losses (thinned to at most maxPoints), and the epoch train/val losses at their steps. */
export function lossColumns(d: RunData, maxPoints = 3000): [number[], Col, Col, Col] {
  const rows = new Map<number, [number | null, number | null, number | null]>()
  const n = d.steps.step.length
  const every = Math.max(1, Math.ceil(n / maxPoints))
  for (let i = 0; i < n; i++) {
    if (i % every !== 0 && i !== n - 1) continue
    rows.set(d.steps.step[i], [d.steps.loss[i], null, null])
  }
  for (let i = 0; i < d.epochs.epoch.length; i++) {
    const s = d.epochs.step[i]
    const r = rows.get(s) ?? [null, null, null]
    r[1] = d.epochs.train[i]
    r[2] = d.epochs.val[i]
    rows.set(s, r)
  }
  const xs = [...rows.keys()].sort((a, b) => a - b)
  const out: [number[], Col, Col, Col] = [xs, [], [], []]
  for (const x of xs) {
    const r = rows.get(x)!
    out[1].push(finiteOrNull(r[0]))
    out[2].push(finiteOrNull(r[1]))
    out[3].push(finiteOrNull(r[2]))
  }
  return out
}

export function finiteOrNull(v: number | null | undefined): number | null {
  return v == null || !Number.isFinite(v) ? null : v
}

/** Several runs' per-epoch values on one epoch axis (missing epochs are null). */
export function overlayColumns(curves: { epoch: number[]; values: (number | null)[] }[]): [number[], ...Col[]] {
  const xs = [...new Set(curves.flatMap((c) => c.epoch))].sort((a, b) => a - b)
  const index = new Map(xs.map((x, i) => [x, i]))
  const cols = curves.map((c) => {
    const col: (number | null)[] = new Array(xs.length).fill(null)
    c.epoch.forEach((e, i) => (col[index.get(e)!] = finiteOrNull(c.values[i])))
    return col
  })
  return [xs, ...cols]
}

/** For a log-scale axis: non-positive and non-finite values become gaps. */
export function positiveOrNull(v: number | null | undefined): number | null {
  return v == null || !Number.isFinite(v) || v <= 0 ? null : v
}
