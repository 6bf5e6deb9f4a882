// What a node on the canvas shows while a run streams: weight and gradient norms as colour,
// a histogram sparkline of its weights, and badges for NaN/Inf and dead ReLUs.
import { memo } from 'react'
import { DEAD_BADGE, formatStat, gradColor, gradHealth } from './colors'
import type { Hist } from './stream'
import { useTrain } from './store'

export function Sparkline({ hist, width = 64, height = 18, color = 'currentColor' }: { hist: Hist; width?: number; height?: number; color?: string }) {
  const n = hist.counts.length
  if (!n) return null
  const max = Math.max(...hist.counts, 1)
  const w = width / n
  return (
    <svg className="spark" width={width} height={height} viewBox={`0 0 ${width} ${height}`} aria-hidden>
      {hist.counts.map((c, i) => {
        const h = c ? Math.max(1, (c / max) * (height - 1)) : 0
        return <rect key={i} x={i * w} y={height - h} width={Math.max(0.5, w - 0.6)} height={h} fill={color} />
      })}
    </svg>
  )
}

function NodeOverlayImpl({ id }: { id: string }) {
  const st = useTrain((s) => s.nodeStats[id])
  const act = useTrain((s) => s.nodeActs[id])
  if (!st && !act) return null
  const dead = act?.dead ?? 0
  const health = st ? gradHealth(st.gradNorm, st.nonfinite) : 'none'
  const nonfinite = (st?.nonfinite ?? 0) > 0 || (act != null && (act.mean == null || act.std == null))
  const color = st ? gradColor(nonfinite ? Infinity : st.gradNorm) : undefined
  return (
    <div className="bn-train" data-testid={`nodestat-${id}`} data-health={health} data-grad={st ? st.gradNorm : ''} style={color ? ({ '--grad': color } as React.CSSProperties) : undefined}>
      {st && (
        <div className="bn-train-row">
          <span title="L2 norm of the weights">w {formatStat(st.weightNorm)}</span>
          <span className="bn-grad" title="L2 norm of the gradient">∇ {formatStat(st.gradNorm)}</span>
          {st.hist && <Sparkline hist={st.hist} color={color} />}
        </div>
      )}
      {act && !st && (
        <div className="bn-train-row muted" title="output mean ± std on a probe batch">
          out {formatStat(act.mean)} ± {formatStat(act.std)}
        </div>
      )}
      {(nonfinite || dead >= DEAD_BADGE) && (
        <div className="bn-badges">
          {nonfinite && (
            <span className="badge nan" data-testid={`badge-nan-${id}`} title="NaN or Inf in the parameters or output">
              NaN/Inf
            </span>
          )}
          {dead >= DEAD_BADGE && (
            <span className="badge dead" data-testid={`badge-dead-${id}`} title="share of units that are ≤ 0 for every sample of the probe batch">
              dead {Math.round(dead * 100)}%
            </span>
          )}
        </div>
      )}
    </div>
  )
}

export const NodeOverlay = memo(NodeOverlayImpl)
