// A sweep's trials in parallel coordinates (plain SVG): an axis per searched setting and one for
// the metric; each finished trial is a line, the best one highlighted, the worse ones fainter.
import type { SweepOut } from '../api/types'
import { formatStat } from '../train/colors'
import { axes, position, trialValue } from './parcoords'

const W = 520
const H = 220
const PAD = { l: 40, r: 40, t: 36, b: 26 }

export function ParallelCoords({ sweep }: { sweep: SweepOut }) {
  const trials = (sweep.trials ?? []).filter((t) => t.value != null)
  const ax = axes(sweep.space, trials, sweep.metric)
  const x = (i: number) => PAD.l + (ax.length > 1 ? (i * (W - PAD.l - PAD.r)) / (ax.length - 1) : 0)
  const y = (p: number) => PAD.t + (1 - p) * (H - PAD.t - PAD.b)
  const metric = ax[ax.length - 1]
  const better = (v: number) => {
    const p = position(metric, v) ?? 0
    return sweep.direction === 'maximize' ? p : 1 - p
  }
  const ends = (a: (typeof ax)[number]) => (a.categories ? [a.categories[0], a.categories[a.categories.length - 1]] : [formatStat(a.min), formatStat(a.max)])
  return (
    <svg className="parcoords" viewBox={`0 0 ${W} ${H}`} data-testid="parcoords" data-lines={trials.length}>
      {ax.map((a, i) => (
        <g key={a.key}>
          <line x1={x(i)} x2={x(i)} y1={PAD.t} y2={H - PAD.b} className="pc-axis" />
          <text x={x(i)} y={PAD.t - 22} textAnchor="middle" className="pc-label">
            {a.label}
            {a.log ? ' (log)' : ''}
          </text>
          <text x={x(i)} y={H - PAD.b + 14} textAnchor="middle" className="pc-tick">
            {ends(a)[0]}
          </text>
          <text x={x(i)} y={PAD.t - 8} textAnchor="middle" className="pc-tick">
            {ends(a)[1]}
          </text>
          {a.categories && a.categories.length > 2 &&
            a.categories.slice(1, -1).map((c, k) => (
              <text key={c} x={x(i) + 4} y={y((k + 1) / (a.categories!.length - 1))} className="pc-tick">
                {c}
              </text>
            ))}
        </g>
      ))}
      {trials.map((t) => {
        const pts = ax.map((a, i) => [x(i), position(a, trialValue(t, a))] as const).filter(([, p]) => p != null)
        const best = sweep.best?.number === t.number
        const g = better(t.value!)
        return (
          <polyline
            key={t.number}
            points={pts.map(([px, p]) => `${px},${y(p!)}`).join(' ')}
            className={best ? 'pc-line best' : 'pc-line'}
            style={best ? undefined : { stroke: `hsla(${Math.round(20 + 180 * g)}, 75%, 60%, ${(0.35 + 0.5 * g).toFixed(2)})` }}
            data-testid={`pc-trial-${t.number}`}
          >
            <title>{`trial ${t.number}: ${sweep.metric} ${formatStat(t.value)}`}</title>
          </polyline>
        )
      })}
    </svg>
  )
}
