// The run on screen: status, progress, the last epoch's figures and the live curves; the
// boundary, downloads and inference follow once there is something to show.
import { useMemo } from 'react'
import type { GraphDoc, RunOut } from '../api/types'
import { useDesigner } from '../store/designer'
import { mayReplaceCanvas } from '../store/replace'
import { Artifacts } from './Artifacts'
import { Boundary } from './Boundary'
import { Chart, type SeriesSpec } from './Chart'
import { formatStat } from './colors'
import { Evaluation } from './Evaluation'
import { Inference } from './Inference'
import { lossColumns } from './series'
import { isFinished, progress, stepsPerEpoch, type RunData } from './stream'
import { useTrain } from './store'

function fmtTime(s: number | null): string {
  if (s == null || !Number.isFinite(s)) return '–'
  if (s < 60) return `${Math.ceil(s)} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`
}

export function RunView() {
  const runId = useTrain((s) => s.runId)!
  const run = useTrain((s) => s.run)
  const d = useTrain((s) => s.data)
  const version = useTrain((s) => s.version)
  const connected = useTrain((s) => s.connected)
  const streamError = useTrain((s) => s.streamError)
  const epochs = (run?.config as { epochs?: number } | undefined)?.epochs ?? 0
  const spe = stepsPerEpoch(d)
  const { frac, eta } = progress(d, epochs, spe)
  const finished = isFinished(d.status)
  const last = d.epochs.epoch.length - 1
  return (
    <>
      <section
        className="tsec run-head"
        data-testid="run-view"
        data-run-id={runId}
        data-status={d.status}
        data-last-seq={d.lastSeq}
        data-gaps={d.gaps.length}
        data-seq-count={d.seqCount}
        data-version={version}
      >
        <div className="trow">
          <span className={`chip st-${d.status}`} data-testid="run-status">
            {d.status}
          </span>
          <b className="run-name">{run?.name ?? 'run'}</b>
          <code className="muted">{runId.slice(0, 8)}</code>
          <span className="grow" />
          {!finished && !streamError && <span className={`live-dot${connected ? ' on' : ''}`} title={connected ? 'streaming' : 'reconnecting…'} />}
          <LoadDesignButton run={run} />
        </div>
        {streamError && !finished && (
          <div className="stream-error" data-testid="stream-error">
            Live updates stopped: {streamError}.
          </div>
        )}
        <div className="progress" data-testid="progress" title={`${Math.round(frac * 100)}%`}>
          <div className={`bar st-${d.status}`} style={{ width: `${(frac * 100).toFixed(1)}%` }} />
        </div>
        <div className="trow small">
          <span data-testid="progress-text">
            epoch <b>{Math.min(d.lastEpoch + (finished ? 0 : 1), Math.max(epochs, 1))}</b>/{epochs} · step <b>{d.lastStep}</b>
            {spe ? ` / ${Math.round(spe * epochs)}` : ''}
          </span>
          <span className="grow" />
          <span className="muted">{finished ? (run?.metrics as { train_time_s?: number } | null)?.train_time_s != null ? `took ${fmtTime((run!.metrics as { train_time_s: number }).train_time_s)}` : '' : `ETA ${fmtTime(eta)}`}</span>
        </div>
        {last >= 0 && (
          <div className="kpis">
            <Kpi label="train loss" value={d.epochs.train[last]} />
            <Kpi label="val loss" value={d.epochs.val[last]} />
            {d.epochs.acc[last] != null && <Kpi label="val accuracy" value={d.epochs.acc[last]} pct testid="kpi-acc" />}
          </div>
        )}
        {d.error && (
          <div className="err-box" data-testid="run-error">
            {d.error}
          </div>
        )}
      </section>
      <Curves d={d} version={version} />
      {d.grid && <Boundary grid={d.grid} count={d.gridCount} runId={runId} run={run} />}
      {finished && hasCheckpoint(run) && <Evaluation runId={runId} />}
      {finished && <Artifacts run={run} runId={runId} />}
      {finished && <Inference run={run} runId={runId} />}
    </>
  )
}

/** a finished run that trained at least one step (or evaluated, with epochs: 0) has a checkpoint */
function hasCheckpoint(run: RunOut | null): boolean {
  return run?.status !== 'failed' || Boolean((run?.metrics as { steps?: number } | null)?.steps)
}

function Kpi({ label, value, pct, testid }: { label: string; value: number | null | undefined; pct?: boolean; testid?: string }) {
  return (
    <div className="kpi" data-testid={testid}>
      <div className="kpi-v">{value == null ? '–' : pct ? `${(value * 100).toFixed(1)}%` : formatStat(value)}</div>
      <div className="kpi-l">{label}</div>
    </div>
  )
}

function LoadDesignButton({ run }: { run: RunOut | null }) {
  const graph = run?.graph as GraphDoc | undefined
  const same = useDesigner((s) => {
    if (!graph) return true
    const ids = new Set(s.design.root.nodes.map((n) => n.id))
    return graph.nodes.every((n) => ids.has(n.id)) && graph.nodes.length === ids.size
  })
  if (same || !graph) return null
  return (
    <button className="mini" title="This run was trained on a different design: show it on the canvas" onClick={() => mayReplaceCanvas(`the design of run “${run?.name ?? ''}”`) && useDesigner.getState().loadDoc(graph)}>
      Show its design
    </button>
  )
}

function Curves({ d, version }: { d: RunData; version: number }) {
  const loss = useMemo(() => lossColumns(d), [d, version]) // eslint-disable-line react-hooks/exhaustive-deps
  const acc = useMemo(() => {
    const xs: number[] = []
    const ys: (number | null)[] = []
    d.epochs.epoch.forEach((e, i) => {
      if (d.epochs.acc[i] != null) {
        xs.push(e)
        ys.push(d.epochs.acc[i])
      }
    })
    return [xs, ys] as [number[], (number | null)[]]
  }, [d, version]) // eslint-disable-line react-hooks/exhaustive-deps
  const lossSeries: SeriesSpec[] = [
    { label: 'step loss', stroke: 'rgba(140,160,200,0.55)', width: 1 },
    { label: 'train (epoch)', stroke: '#5b9dff', width: 2, points: true },
    { label: 'val (epoch)', stroke: '#ff9f43', width: 2, points: true },
  ]
  return (
    <section className="tsec">
      <h3>Loss</h3>
      <Chart data={loss} series={lossSeries} xLabel="step" testid="chart-loss" />
      {acc[0].length > 0 && (
        <>
          <h3>Validation accuracy</h3>
          <Chart data={acc} series={[{ label: 'val accuracy', stroke: '#4cd38a', width: 2, points: true, fill: 'rgba(76,211,138,0.08)' }]} xLabel="epoch" yRange={[0, 1]} height={130} testid="chart-acc" />
        </>
      )}
    </section>
  )
}
