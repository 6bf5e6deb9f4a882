// GET /api/runs/{id}/evaluation turned into what the plots draw.
import type { Evaluation } from '../api/types'

export type ClassRow = { class: string; support: number; correct: number; accuracy: number | null; precision: number | null }

/** The per-class rows, typed (the schema leaves their fields open). */
export function classRows(e: Evaluation): ClassRow[] {
  return (e.per_class ?? []).map((r) => ({
    class: String(r.class),
    support: Number(r.support ?? 0),
    correct: Number(r.correct ?? 0),
    accuracy: typeof r.accuracy === 'number' ? r.accuracy : null,
    precision: typeof r.precision === 'number' ? r.precision : null,
  }))
}

/**
 * Predicted against true for one target, as uPlot's aligned columns: x = true value (sorted, as
 * uPlot needs), then the predicted value and the ideal y = x line.
 */
export function scatterColumns(e: Evaluation, target = 0): [number[], number[], number[]] {
  const t = e.true ?? []
  const p = e.predicted ?? []
  const pairs = t.map((row, i) => [row[target], p[i]?.[target]] as const).filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b))
  pairs.sort((a, b) => a[0] - b[0])
  const xs = pairs.map(([a]) => a)
  return [xs, pairs.map(([, b]) => b as number), xs.slice()]
}

/** Each cell's share of its row (the true class): what the matrix's shading shows. */
export function rowShares(matrix: number[][]): number[][] {
  return matrix.map((row) => {
    const n = row.reduce((a, b) => a + b, 0)
    return row.map((v) => (n ? v / n : 0))
  })
}
