// A node's statistics over time and its full histograms, opened by clicking the node while a
// run is on screen.
import { useMemo } from 'react'
import type uPlot from 'uplot'
import { currentGraph, useDesigner } from '../store/designer'
import { Chart } from './Chart'
import { formatStat, gradColor } from './colors'
import { positiveOrNull } from './series'
import type { Hist, LayerStat } from './stream'
import { useTrain } from './store'

function BigHist({ hist, color }: { hist: Hist; color: string }) {
  const W = 170
  const H = 56
  const n = hist.counts.length
  const max = Math.max(...hist.counts, 1)
  const lo = hist.edges[0] ?? 0
  const hi = hist.edges[hist.edges.length - 1] ?? 0
  return (
    <div className="bighist">
      <svg width={W} height={H} viewBox={`0 0 ${W} ${H}`}>
        {hist.counts.map((c, i) => {
          const h = c ? Math.max(1, (c / max) * (H - 2)) : 0
          return <rect key={i} x={(i * W) / n} y={H - h} width={Math.max(0.6, W / n - 0.8)} height={h} fill={color} />
        })}
        {lo < 0 && hi > 0 && <line x1={((0 - lo) / (hi - lo)) * W} x2={((0 - lo) / (hi - lo)) * W} y1={0} y2={H} stroke="rgba(255,255,255,0.35)" strokeDasharray="2 2" />}
      </svg>
      <div className="bighist-ax">
        <span>{formatStat(lo)}</span>
        <span>{formatStat(hi)}</span>
      </div>
    </div>
  )
}

function LayerRow({ l }: { l: LayerStat }) {
  const color = gradColor(l.grad_norm)
  return (
    <div className="layer" data-testid={`layer-${l.name}`}>
      <div className="layer-head">
        <code>{l.name}</code> <span className="muted small">[{l.shape.join('×')}]</span>
        {(l.nonfinite ?? 0) > 0 && <span className="badge nan">{l.nonfinite} non-finite</span>}
      </div>
      <div className="layer-body">
        {l.hist && <BigHist hist={l.hist} color={color} />}
        <table className="stats">
          <tbody>
            <tr>
              <td>mean</td>
              <td>{formatStat(l.mean)}</td>
              <td>std</td>
              <td>{formatStat(l.std)}</td>
            </tr>
            <tr>
              <td>min</td>
              <td>{formatStat(l.min)}</td>
              <td>max</td>
              <td>{formatStat(l.max)}</td>
            </tr>
            <tr>
              <td>‖∇‖</td>
              <td style={{ color }}>{formatStat(l.grad_norm)}</td>
              <td title="|Δw| / |w| of the last step">upd/w</td>
              <td>{formatStat(l.update_ratio)}</td>
            </tr>
          </tbody>
        </table>
      </div>
    </div>
  )
}

export function NodeDrawer() {
  const selected = useDesigner((s) => {
    const sel = currentGraph(s).nodes.filter((n) => n.selected)
    return sel.length === 1 && s.path.length === 0 ? sel[0].id : null
  })
  const st = useTrain((s) => (selected ? s.nodeStats[selected] : undefined))
  const act = useTrain((s) => (selected ? s.nodeActs[selected] : undefined))
  const version = useTrain((s) => s.version)
  const data = useTrain((s) => s.data)
  const ser = selected ? data.series[selected] : undefined
  const cols = useMemo(
    () => (ser ? ([ser.step.slice(), ser.gradNorm.map(positiveOrNull), ser.weightNorm.map(positiveOrNull)] satisfies uPlot.AlignedData) : null),
    [ser, version], // eslint-disable-line react-hooks/exhaustive-deps
  )
  if (!selected || (!st && !act)) return null
  const close = () => useDesigner.getState().selectOnly([])
  return (
    <div className="drawer" data-testid="node-drawer" data-node={selected}>
      <header>
        <h3>
          <code>{selected}</code> <span className="muted small">statistics at step {st?.step ?? '–'}</span>
        </h3>
        {act && (
          <span className="small muted" data-testid="drawer-act">
            output mean {formatStat(act.mean)} · std {formatStat(act.std)}
            {act.dead != null && ` · dead units ${(act.dead * 100).toFixed(0)}%`}
          </span>
        )}
        <span className="grow" />
        <button className="icon" onClick={close} aria-label="close">
          ✕
        </button>
      </header>
      <div className="drawer-body">
        {cols && (
          <div className="drawer-chart">
            <Chart
              data={cols}
              series={[
                { label: '‖∇‖ gradient', stroke: '#ff9f43', width: 2 },
                { label: '‖w‖ weights', stroke: '#5b9dff', width: 2 },
              ]}
              xLabel="step"
              logY
              height={180}
              testid="drawer-chart"
            />
          </div>
        )}
        <div className="drawer-layers">
          {st ? st.layers.map((l) => <LayerRow key={l.name} l={l} />) : <p className="muted">No parameters: only its output is tracked.</p>}
        </div>
      </div>
    </div>
  )
}
