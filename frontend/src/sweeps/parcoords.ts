// Parallel coordinates for a sweep: one vertical axis per searched setting and one for the
// metric; each trial is a polyline across them. Numbers map linearly (or on a log scale when the
// space asks for it), choices to evenly spaced positions.
import type { Trial } from '../api/types'

export type Axis = { key: string; label: string; log: boolean; categories: string[] | null; min: number; max: number }

function isRange(d: unknown): d is { low: number; high: number; log?: boolean } {
  return !!d && typeof d === 'object' && 'low' in d && 'high' in d
}

/** The axes: the space's settings in order, then the metric (over the trials that have a value). */
export function axes(space: Record<string, unknown>, trials: Trial[], metric: string): Axis[] {
  const out: Axis[] = Object.entries(space).map(([key, dim]) => {
    if (isRange(dim)) return { key, label: key, log: !!dim.log, categories: null, min: dim.low, max: dim.high }
    const choices = (dim as { choices?: unknown[] }).choices ?? []
    return { key, label: key, log: false, categories: choices.map(String), min: 0, max: Math.max(choices.length - 1, 1) }
  })
  const values = trials.map((t) => t.value).filter((v): v is number => v != null && Number.isFinite(v))
  const lo = values.length ? Math.min(...values) : 0
  const hi = values.length ? Math.max(...values) : 1
  out.push({ key: '__metric', label: metric, log: false, categories: null, min: lo, max: hi > lo ? hi : lo + 1 })
  return out
}

/** Where a value sits on its axis: 0 (bottom) .. 1 (top); null when it has none. */
export function position(axis: Axis, v: unknown): number | null {
  if (axis.categories) {
    const i = axis.categories.indexOf(String(v))
    return i < 0 ? null : axis.categories.length > 1 ? i / (axis.categories.length - 1) : 0.5
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) return null
  const f = (x: number) => (axis.log ? Math.log(x) : x)
  const span = f(axis.max) - f(axis.min)
  const p = span ? (f(v) - f(axis.min)) / span : 0.5
  return Math.min(1, Math.max(0, p))
}

/** A trial's value on an axis. */
export function trialValue(t: Trial, axis: Axis): unknown {
  return axis.key === '__metric' ? t.value : t.params[axis.key]
}
