// Statistics -> colours for the nodes on the canvas.

/**
 * Gradient norm -> colour on a log scale: vanishing (< 1e-5) is a cold grey-blue, healthy
 * (1e-3 .. 1) greens and yellows, exploding (>= 100) red. Non-finite: magenta.
 */
export function gradColor(g: number | null | undefined): string {
  if (g == null || Number.isNaN(g)) return '#6b7280'
  if (!Number.isFinite(g)) return '#ff2bd6'
  const t = gradT(g)
  // hue 210 (blue) -> 130 (green) -> 50 (amber) -> 0 (red)
  const hue = t < 0.5 ? 210 - (t / 0.5) * 80 : 130 - ((t - 0.5) / 0.5) * 130
  const sat = 55 + 30 * Math.abs(t - 0.35)
  return `hsl(${Math.round(hue)} ${Math.round(sat)}% 58%)`
}

/** Position 0..1 of a gradient norm on the log scale 1e-6 .. 1e2. */
export function gradT(g: number): number {
  if (g <= 0) return 0
  const l = Math.log10(g)
  return Math.max(0, Math.min(1, (l + 6) / 8))
}

export type Health = 'ok' | 'vanishing' | 'exploding' | 'nonfinite' | 'none'

export function gradHealth(g: number | null | undefined, nonfinite = 0): Health {
  if (nonfinite > 0) return 'nonfinite'
  if (g == null || Number.isNaN(g)) return 'none'
  if (!Number.isFinite(g)) return 'nonfinite'
  if (g < 1e-5) return 'vanishing'
  if (g > 50) return 'exploding'
  return 'ok'
}

/** A dead ReLU badge shows when at least this share of units never fire on the probe batch. */
export const DEAD_BADGE = 0.25

export function formatStat(v: number | null | undefined): string {
  if (v == null || Number.isNaN(v)) return '–'
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞'
  const a = Math.abs(v)
  if (a === 0) return '0'
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1)
  if (a >= 100) return v.toFixed(0)
  if (a >= 10) return v.toFixed(1)
  return v.toPrecision(3)
}

/** Two-class probability -> colour (class 0 orange, class 1 blue, TF Playground style). */
export function probColor(p: number): [number, number, number] {
  const a = [245, 146, 62]
  const b = [60, 140, 230]
  const mid = [236, 238, 242]
  const t = Math.max(0, Math.min(1, p))
  const [from, to, u] = t < 0.5 ? [a, mid, t / 0.5] : [mid, b, (t - 0.5) / 0.5]
  return [0, 1, 2].map((i) => Math.round(from[i] + (to[i] - from[i]) * u)) as [number, number, number]
}

const CLASS_COLORS: [number, number, number][] = [
  [245, 146, 62],
  [60, 140, 230],
  [90, 200, 120],
  [220, 90, 170],
  [230, 210, 80],
  [140, 110, 230],
  [80, 200, 210],
  [230, 100, 90],
  [170, 170, 170],
  [120, 160, 80],
]
export function classColor(c: number): [number, number, number] {
  return CLASS_COLORS[((c % CLASS_COLORS.length) + CLASS_COLORS.length) % CLASS_COLORS.length]
}
