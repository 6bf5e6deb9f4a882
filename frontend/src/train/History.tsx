// The run history of the design, and the comparison of the runs ticked in it.
import { useEffect } from 'react'
import type { RunOut } from '../api/types'
import { useDesigner } from '../store/designer'
import { Chart } from './Chart'
import { formatStat } from './colors'
import { shownRuns, withLiveStatus } from './samples'
import { overlayColumns } from './series'
import { settingsDiff } from './settingsDiff'
import { isFinished } from './stream'
import { deleteRun } from './actions'
import { attachRun } from './connection'
import { refreshHistory, toggleCompare } from './history'
import { useTrain, type CompareCurve } from './store'

const RUN_COLORS = ['#5b9dff', '#ff9f43', '#4cd38a', '#ff5d8f', '#b58cff', '#e6d35a', '#4fc3f7', '#ff7a5c']

export function History() {
  const history = useTrain((s) => s.history)
  const all = useTrain((s) => s.historyAll)
  const compare = useTrain((s) => s.compare)
  const curves = useTrain((s) => s.curves)
  const runId = useTrain((s) => s.runId)
  const name = useDesigner((s) => s.design.name)
  const designId = useDesigner((s) => s.designId)
  useEffect(() => {
    void refreshHistory()
  }, [designId, all])
  const live = useTrain((s) => s.data.status)
  const shown = withLiveStatus(shownRuns(history, { all, designId, name }), runId, live)
  const selected = compare.map((id) => curves[id]).filter(Boolean)
  return (
    <section className="tsec" data-testid="history">
      <h3>
        Runs{' '}
        <span className="muted small" title={designId ? `runs linked to the saved design #${designId}` : 'the design is not saved on the server: runs of the same name'}>
          {all ? 'all designs' : designId ? `of “${name}” · saved #${designId.slice(0, 6)}` : `of “${name}” · by name (not saved)`} · <span data-testid="history-count">{shown.length}</span>
        </span>
        <span className="grow" />
        <label className="check small">
          <input type="checkbox" checked={all} data-testid="history-all" onChange={(e) => useTrain.setState({ historyAll: e.target.checked })} /> all designs
        </label>
        <button className="mini" onClick={() => void refreshHistory()} title="refresh">
          ↻
        </button>
      </h3>
      {shown.length === 0 && <p className="muted small">No runs yet. Press Train.</p>}
      <ul className="runs">
        {shown.map((r) => {
          const m = (r.metrics ?? {}) as { val_loss?: number; val_accuracy?: number; epoch?: number }
          const i = compare.indexOf(r.id)
          return (
            <li key={r.id} className={r.id === runId ? 'current' : ''} data-testid={`run-${r.id}`}>
              <input
                type="checkbox"
                checked={i >= 0}
                onChange={() => void toggleCompare(r.id)}
                title="overlay in the comparison chart"
                data-testid={`compare-${r.id}`}
                style={i >= 0 ? { accentColor: RUN_COLORS[i % RUN_COLORS.length] } : undefined}
              />
              <span className={`dot st-${r.status}`} title={r.status} />
              <div className="run-main">
                <div>
                  <b>{r.name}</b> <code className="muted">{r.id.slice(0, 6)}</code> <span className="muted small">{new Date(r.created_at).toLocaleTimeString()}</span>
                </div>
                <div className="muted small">
                  {runSummary(r)} · {r.status}
                  {m.val_loss != null && ` · val ${formatStat(m.val_loss)}`}
                  {m.val_accuracy != null && ` · acc ${(m.val_accuracy * 100).toFixed(1)}%`}
                </div>
              </div>
              <button className="mini" onClick={() => void attachRun(r.id)} disabled={r.id === runId} data-testid={`open-${r.id}`}>
                {r.id === runId ? 'shown' : 'Open'}
              </button>
              <button
                className="mini"
                onClick={() => {
                  if (window.confirm(`Delete run “${r.name}” (${r.id.slice(0, 6)}) with its history and weights?`)) void deleteRun(r.id)
                }}
                disabled={!isFinished(r.status)}
                title={isFinished(r.status) ? 'delete this run from the server' : 'stop the run first'}
                aria-label="delete run"
                data-testid={`delete-${r.id}`}
              >
                ✕
              </button>
            </li>
          )
        })}
      </ul>
      {selected.length > 0 && <Compare curves={selected} ids={compare} />}
    </section>
  )
}

function runSummary(r: RunOut): string {
  const c = r.config as { dataset?: { name?: string }; optimizer?: { name?: string; lr?: number }; epochs?: number; batch_size?: number }
  return `${c.dataset?.name ?? '?'} · ${c.optimizer?.name ?? '?'} lr ${c.optimizer?.lr ?? '?'} · ${c.epochs ?? '?'} ep · bs ${c.batch_size ?? '?'}`
}

function Compare({ curves, ids }: { curves: CompareCurve[]; ids: string[] }) {
  const history = useTrain((s) => s.history)
  const label = (id: string) => {
    const r = history.find((x) => x.id === id)
    const c = r?.config as { optimizer?: { name?: string; lr?: number }; batch_size?: number } | undefined
    return c ? ` · ${c.optimizer?.name} lr ${c.optimizer?.lr} bs ${c.batch_size}` : ''
  }
  const series = (prefix: string) => curves.map((c) => ({ label: `${c.name} ${c.id.slice(0, 4)}${label(c.id)}${prefix}`, stroke: RUN_COLORS[ids.indexOf(c.id) % RUN_COLORS.length], width: 2 }))
  const val = overlayColumns(curves.map((c) => ({ epoch: c.epoch, values: c.val })))
  const hasAcc = curves.some((c) => c.acc.some((a) => a != null))
  const acc = overlayColumns(curves.map((c) => ({ epoch: c.epoch, values: c.acc })))
  const diff = curves.length > 1 ? settingsDiff(curves.map((c) => history.find((r) => r.id === c.id)?.config ?? {})) : []
  return (
    <div className="compare" data-testid="compare" data-runs={curves.length}>
      <h3>Compare: validation loss</h3>
      <Chart data={val} series={series('')} xLabel="epoch" testid="chart-compare" />
      {hasAcc && (
        <>
          <h3>Compare: validation accuracy</h3>
          <Chart data={acc} series={series(' ')} xLabel="epoch" yRange={[0, 1]} height={130} testid="chart-compare-acc" />
        </>
      )}
      {diff.length > 0 && (
        <>
          <h3>Compare: settings that differ</h3>
          <table className="ptable diff" data-testid="compare-diff">
            <thead>
              <tr>
                <th />
                {curves.map((c) => (
                  <th key={c.id} style={{ color: RUN_COLORS[ids.indexOf(c.id) % RUN_COLORS.length] }}>
                    {c.name} {c.id.slice(0, 4)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {diff.map((d) => (
                <tr key={d.key}>
                  <td>
                    <code>{d.key}</code>
                  </td>
                  {d.values.map((v, i) => (
                    <td key={i}>{v}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </div>
  )
}
