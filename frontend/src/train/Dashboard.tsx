// The training dashboard (lazy-loaded with uPlot): settings, start/stop and progress, live
// curves, the decision boundary, downloads and source, inference, run history and comparison.
import { useEffect, useMemo, useRef, useState } from 'react'
import { api } from '../api/client'
import type { DatasetInfo, DeviceName, GraphDoc, LossName, OptimizerName, PredictResult, RunOut, Samples } from '../api/types'
import { SchemaForm } from '../components/SchemaForm'
import { useDesigner } from '../store/designer'
import { Chart, type SeriesSpec } from './Chart'
import { classColor, formatStat, probColor } from './colors'
import { lossColumns, overlayColumns } from './series'
import { datasetOfRun, formatSample, pointsOnGrid, sampleRows, shownRuns, type SampleRow } from './samples'
import { isFinished, progress, stepsPerEpoch, type GridMsg, type RunData } from './stream'
import {
  attachRun,
  deleteRun,
  loadDatasets,
  loadSamples,
  refreshHistory,
  setForm,
  startRun,
  stopRun,
  toggleCompare,
  useTrain,
  type TrainForm,
} from './store'

export { NodeDrawer } from './NodeDrawer'

// The backend's choices, in menu order: `satisfies` makes tsc fail when the generated API types
// gain or lose one, so these never drift from the server's enums.
const LOSSES = Object.keys({ cross_entropy: 0, bce_with_logits: 0, mse: 0, l1: 0, huber: 0 } satisfies Record<LossName, 0>)
const OPTIMIZERS = Object.keys({ adam: 0, adamw: 0, sgd: 0 } satisfies Record<OptimizerName, 0>)
const DEVICES = Object.keys({ auto: 0, cpu: 0, cuda: 0 } satisfies Record<DeviceName, 0>) as DeviceName[]
const RUN_COLORS = ['#5b9dff', '#ff9f43', '#4cd38a', '#ff5d8f', '#b58cff', '#e6d35a', '#4fc3f7', '#ff7a5c']

export default function TrainPanel() {
  const runId = useTrain((s) => s.runId)
  useEffect(() => {
    void loadDatasets()
  }, [])
  return (
    <div className="train" data-testid="train-panel">
      <Settings />
      {runId && <RunView key={runId} />}
      <History />
    </div>
  )
}

// ---------------------------------------------------------------- settings

/** A labelled menu of plain string options (each shown as itself). */
function Choice<T extends string>({ label, value, options, onChange, testid }: { label: string; value: T; options: readonly T[]; onChange: (v: T) => void; testid: string }) {
  return (
    <label className="tf">
      <span>{label}</span>
      <select value={value} onChange={(e) => onChange(e.target.value as T)} data-testid={testid}>
        {options.map((o) => (
          <option key={o}>{o}</option>
        ))}
      </select>
    </label>
  )
}

function Num({ label, value, onChange, step, min, testid }: { label: string; value: number; onChange: (v: number) => void; step?: number; min?: number; testid: string }) {
  const [text, setText] = useState(String(value))
  useEffect(() => setText((t) => (Number(t) === value ? t : String(value))), [value])
  return (
    <label className="tf">
      <span>{label}</span>
      <input
        type="number"
        value={text}
        step={step ?? 'any'}
        min={min}
        data-testid={testid}
        onChange={(e) => {
          setText(e.target.value)
          const v = Number(e.target.value)
          if (e.target.value !== '' && Number.isFinite(v)) onChange(v)
        }}
      />
    </label>
  )
}

function Settings() {
  const form = useTrain((s) => s.form)
  const datasets = useTrain((s) => s.datasets)
  const starting = useTrain((s) => s.starting)
  const status = useTrain((s) => s.data.status)
  const runId = useTrain((s) => s.runId)
  useTrain((s) => s.version)
  const active = runId !== null && !isFinished(status)
  const ds = datasets.find((d) => d.name === form.dataset)
  const err = useTrain((s) => s.startError)
  const set = (p: Partial<TrainForm>) => setForm(p)
  const pickDataset = (name: string) => {
    const d = datasets.find((x) => x.name === name)
    set({ dataset: name, datasetParams: {}, loss: d?.task === 'regression' ? 'mse' : 'cross_entropy' })
  }
  return (
    <section className="tsec">
      <h3>Training</h3>
      <div className="tgrid">
        <label className="tf span2">
          <span>Dataset</span>
          <select value={form.dataset} onChange={(e) => pickDataset(e.target.value)} data-testid="train-dataset">
            {!ds && <option value={form.dataset}>{form.dataset}</option>}
            {datasets.map((d) => (
              <option key={d.name} value={d.name}>
                {d.title} · {d.task === 'classification' ? `${d.n_classes ?? '?'} classes` : 'regression'} · in {d.input_shape.join('×')}
              </option>
            ))}
          </select>
        </label>
        {ds && (
          <details className="span2 ds-params">
            <summary>
              Dataset settings
              <span className="muted small">
                {' '}
                {Object.entries(form.datasetParams)
                  .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
                  .join(' ')
                  .slice(0, 60)}
              </span>
            </summary>
            {ds.doc && <p className="muted small">{ds.doc}</p>}
            <SchemaForm schema={ds.params_schema} value={form.datasetParams} onChange={(v) => set({ datasetParams: v })} prefix="ds" />
          </details>
        )}
        <Choice label="Loss" value={form.loss} options={LOSSES} onChange={(loss) => set({ loss })} testid="train-loss" />
        <Choice label="Optimizer" value={form.optimizer} options={OPTIMIZERS} onChange={(optimizer) => set({ optimizer })} testid="train-optimizer" />
        <Num label="Learning rate" value={form.lr} onChange={(v) => set({ lr: v })} testid="train-lr" />
        {form.optimizer === 'sgd' ? (
          <Num label="Momentum" value={form.momentum} onChange={(v) => set({ momentum: v })} testid="train-momentum" />
        ) : (
          <Num label="Weight decay" value={form.weight_decay} onChange={(v) => set({ weight_decay: v })} testid="train-wd" />
        )}
        <Num label="Epochs" value={form.epochs} onChange={(v) => set({ epochs: Math.round(v) })} min={0} testid="train-epochs" />
        <Num label="Batch size" value={form.batch_size} onChange={(v) => set({ batch_size: Math.round(v) })} min={1} testid="train-batch" />
        <Choice label="Device" value={form.device} options={DEVICES} onChange={(device) => set({ device })} testid="train-device" />
        <Num label="Seed" value={form.seed} onChange={(v) => set({ seed: Math.round(v) })} min={0} testid="train-seed" />
      </div>
      <div className="trow">
        {active ? (
          <button className="danger-solid" onClick={() => void stopRun()} data-testid="btn-stop">
            ■ Stop
          </button>
        ) : (
          <button className="primary" onClick={() => void startRun()} disabled={starting} data-testid="btn-train">
            ▶ {starting ? 'Starting…' : 'Train'}
          </button>
        )}
        {active && <span className="muted small">a run is in progress</span>}
      </div>
      {err && (
        <div className="err-box" data-testid="train-errors">
          <b>{err.message}</b>
          {err.errors.length > 0 && (
            <ul>
              {err.errors.map((e, i) => (
                <li key={i}>
                  {e.node && <code>{e.node}</code>} {e.field && <span className="muted">{e.field}: </span>}
                  {e.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </section>
  )
}

// ---------------------------------------------------------------- the run on screen

function fmtTime(s: number | null): string {
  if (s == null || !Number.isFinite(s)) return '–'
  if (s < 60) return `${Math.ceil(s)} s`
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`
}

function RunView() {
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
      {finished && <Artifacts run={run} runId={runId} />}
      {finished && <Inference run={run} runId={runId} />}
    </>
  )
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
    <button className="mini" title="This run was trained on a different design: show it on the canvas" onClick={() => useDesigner.getState().loadDoc(graph)}>
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

// ---------------------------------------------------------------- decision boundary

/** `fade` 0..1 pales the map towards a light grey, so the data points on it stand out. */
function drawGrid(canvas: HTMLCanvasElement, g: GridMsg, fade = 0) {
  const s = g.size
  const off = document.createElement('canvas')
  off.width = s
  off.height = s
  const ctx = off.getContext('2d')!
  const img = ctx.createImageData(s, s)
  const twoClass = g.classes.every((row) => row.every((c) => c <= 1))
  for (let i = 0; i < s; i++)
    for (let j = 0; j < s; j++) {
      const v = g.values[i]?.[j] ?? 0
      let rgb: [number, number, number]
      if (twoClass) rgb = probColor(v)
      else {
        const c = classColor(g.classes[i]?.[j] ?? 0)
        const a = Math.max(0, Math.min(1, (v - 0.3) / 0.7))
        rgb = [0, 1, 2].map((k) => Math.round(236 + (c[k] - 236) * a)) as [number, number, number]
      }
      if (fade) rgb = rgb.map((v) => Math.round(v + (244 - v) * fade)) as [number, number, number]
      const p = ((s - 1 - i) * s + j) * 4 // row i is y_range[0] + i*dy: the bottom row first
      img.data[p] = rgb[0]
      img.data[p + 1] = rgb[1]
      img.data[p + 2] = rgb[2]
      img.data[p + 3] = 255
    }
  ctx.putImageData(img, 0, 0)
  const c = canvas.getContext('2d')!
  c.imageSmoothingEnabled = true
  c.clearRect(0, 0, canvas.width, canvas.height)
  c.drawImage(off, 0, 0, canvas.width, canvas.height)
}

type PointSplit = 'train' | 'val' | 'off'
const POINT_LIMIT = 400

/** The dataset's points for the boundary plot (null while loading, or when not 2-D). */
function useBoundaryPoints(run: RunOut | null, split: PointSplit) {
  const ds = datasetOfRun(run)
  const key = ds ? JSON.stringify(ds) : ''
  const [state, setState] = useState<{ key: string; samples: Samples | null; error: string | null }>({ key: '', samples: null, error: null })
  useEffect(() => {
    if (!ds || split === 'off') return
    let stop = false
    const k = `${key}|${split}`
    loadSamples(ds.name, ds.params, split, POINT_LIMIT).then(
      (samples) => !stop && setState({ key: k, samples, error: null }),
      (e) => !stop && setState({ key: k, samples: null, error: (e as Error).message }),
    )
    return () => {
      stop = true
    }
  }, [key, split]) // eslint-disable-line react-hooks/exhaustive-deps
  return state.key === `${key}|${split}` ? state : { key: '', samples: null, error: null }
}

function Boundary({ grid, count, runId, run }: { grid: GridMsg; count: number; runId: string; run: RunOut | null }) {
  const ref = useRef<HTMLCanvasElement>(null)
  const [probes, setProbes] = useState<{ x: number; y: number; cls: number | null; p?: number }[]>([])
  const [split, setSplit] = useState<PointSplit>('train')
  const finished = useTrain((s) => isFinished(s.data.status))
  const { samples, error } = useBoundaryPoints(run, split)
  const showPoints = split !== 'off'
  useEffect(() => {
    if (ref.current) drawGrid(ref.current, grid, showPoints ? 0.45 : 0)
  }, [grid, showPoints])
  const W = 300
  const points = useMemo(
    () => (samples && split !== 'off' ? pointsOnGrid(samples, grid.x_range, grid.y_range, W) : []),
    [samples, split, grid.x_range[0], grid.x_range[1], grid.y_range[0], grid.y_range[1]], // eslint-disable-line react-hooks/exhaustive-deps
  )
  const classes = samples?.classes ?? null
  const nClasses = Math.max(2, classes?.length ?? 0, ...points.map((p) => (p.cls ?? 0) + 1))
  const toPx = (x: number, y: number) => [((x - grid.x_range[0]) / (grid.x_range[1] - grid.x_range[0])) * W, (1 - (y - grid.y_range[0]) / (grid.y_range[1] - grid.y_range[0])) * W]
  const onClick = async (e: React.MouseEvent<HTMLDivElement>) => {
    if (!finished) return
    const r = e.currentTarget.getBoundingClientRect()
    const fx = (e.clientX - r.left) / r.width
    const fy = 1 - (e.clientY - r.top) / r.height
    const x = grid.x_range[0] + fx * (grid.x_range[1] - grid.x_range[0])
    const y = grid.y_range[0] + fy * (grid.y_range[1] - grid.y_range[0])
    try {
      const res = await api.predict(runId, [[x, y]])
      setProbes((p) => [...p.slice(-11), { x, y, cls: res.predicted?.[0] ?? null, p: res.probabilities?.[0]?.[res.predicted?.[0] ?? 0] }])
    } catch (err) {
      useDesigner.getState().notify(`Predict failed: ${(err as Error).message}`, 'error')
    }
  }
  return (
    <section className="tsec">
      <h3>
        Decision boundary <span className="muted small">update #{count} · step {grid.step}</span>
      </h3>
      <div className="boundary" style={{ width: W, height: W }} onClick={(e) => void onClick(e)} data-testid="boundary" data-updates={count} data-step={grid.step} title={finished ? 'click to classify a point' : undefined}>
        <canvas ref={ref} width={W} height={W} />
        <svg width={W} height={W} className="boundary-over">
          <g className="data-points" data-testid="boundary-points" data-count={points.length} data-split={split}>
            {points.map((p, i) => {
              const c = p.cls == null ? [200, 200, 200] : classColor(p.cls)
              return <circle key={i} cx={p.px.toFixed(1)} cy={p.py.toFixed(1)} r={3.4} fill={`rgb(${c.join(',')})`} stroke="#0b1020" strokeWidth={1} />
            })}
          </g>
          {probes.map((p, i) => {
            const [px, py] = toPx(p.x, p.y)
            const c = p.cls == null ? [255, 255, 255] : classColor(p.cls)
            return (
              <g key={i} className="probe">
                <circle cx={px} cy={py} r={7} fill="none" stroke="#fff" strokeWidth={2} />
                <circle cx={px} cy={py} r={5} fill={`rgb(${c.join(',')})`} stroke="#0b1020" strokeWidth={1.5} />
              </g>
            )
          })}
        </svg>
        <span className="ax ax-x0">{grid.x_range[0].toFixed(1)}</span>
        <span className="ax ax-x1">{grid.x_range[1].toFixed(1)}</span>
        <span className="ax ax-y0">{grid.y_range[0].toFixed(1)}</span>
        <span className="ax ax-y1">{grid.y_range[1].toFixed(1)}</span>
      </div>
      <div className="legend-row small">
        {Array.from({ length: Math.min(nClasses, 8) }, (_, k) => (
          <span key={k} className="legend-item">
            <span className="swatch dot-swatch" style={{ background: `rgb(${classColor(k).join(',')})` }} /> {classes?.[k] && classes[k] !== String(k) ? classes[k] : `class ${k}`}
          </span>
        ))}
        <span className="muted">{finished ? ' · click the map to classify a point' : ' · the model’s prediction on a grid, live'}</span>
      </div>
      <div className="legend-row small">
        <span className="muted">points</span>
        <span className="seg" role="group" title="the dataset's points over the map" data-testid="points-split">
          {(['train', 'val', 'off'] as const).map((k) => (
            <button key={k} className={split === k ? 'on' : ''} onClick={() => setSplit(k)} data-testid={`points-${k}`}>
              {k === 'off' ? 'none' : k}
            </button>
          ))}
        </span>
        {showPoints && samples && (
          <span className="muted">
            {points.length} of {samples.total} {split === 'val' ? 'validation' : 'training'} samples
          </span>
        )}
      </div>
      {error && <div className="muted small">points unavailable: {error}</div>}
    </section>
  )
}

// ---------------------------------------------------------------- after training

function Artifacts({ run, runId }: { run: RunOut | null; runId: string }) {
  const [src, setSrc] = useState<string | null>(null)
  const [show, setShow] = useState(false)
  const [err, setErr] = useState<string | null>(null)
  const graph = run?.graph as GraphDoc | undefined
  useEffect(() => {
    if (!graph) return
    let stop = false
    api.exportPython(graph).then(
      (s) => !stop && setSrc(s),
      (e) => !stop && setErr((e as Error).message),
    )
    return () => {
      stop = true
    }
  }, [graph])
  const pyName = `${(run?.name ?? 'model').replace(/[^A-Za-z0-9_.-]+/g, '_')}.py`
  const pyUrl = useMemo(() => (src ? URL.createObjectURL(new Blob([src], { type: 'text/x-python' })) : null), [src])
  const has = run?.status !== 'failed' || (run?.metrics as { steps?: number } | null)?.steps
  return (
    <section className="tsec">
      <h3>Take it home</h3>
      <div className="trow wrap">
        {has && (
          <>
            <a className="btn" href={`/api/runs/${runId}/state_dict?format=pt`} download data-testid="dl-pt">
              ⤓ weights .pt
            </a>
            <a className="btn" href={`/api/runs/${runId}/state_dict?format=safetensors`} download data-testid="dl-safetensors">
              ⤓ weights .safetensors
            </a>
          </>
        )}
        {pyUrl && (
          <a className="btn" href={pyUrl} download={pyName} data-testid="dl-py">
            ⤓ model .py
          </a>
        )}
        <button onClick={() => setShow((v) => !v)} data-testid="btn-source" disabled={!src}>
          {show ? 'Hide source' : 'View source'}
        </button>
      </div>
      {err && <div className="err-box">{err}</div>}
      {show && src && (
        <div className="source">
          <button className="mini copy" onClick={() => void navigator.clipboard?.writeText(src).then(() => useDesigner.getState().notify('Copied the source'))} data-testid="btn-copy">
            Copy
          </button>
          <pre data-testid="source">{src}</pre>
        </div>
      )}
      <code className="hint-code muted">{'from model import Model   # the .py above\nm = Model()\nm.load_state_dict(torch.load("weights.pt", weights_only=True))'}</code>
    </section>
  )
}

function inputShape(run: RunOut | null, datasets: DatasetInfo[]): number[] {
  const g = run?.graph as GraphDoc | undefined
  const inp = g?.nodes.find((n) => n.type === 'Input')?.params?.shape
  if (Array.isArray(inp)) return inp as number[]
  const ds = datasets.find((d) => d.name === (run?.config as { dataset?: { name?: string } })?.dataset?.name)
  return ds?.input_shape ?? [2]
}

function zeros(shape: number[]): unknown {
  if (!shape.length) return 0
  return Array.from({ length: shape[0] }, () => zeros(shape.slice(1)))
}

const VAL_SAMPLES = 5

function ValSamples({ rows, classes, total }: { rows: SampleRow[]; classes: string[] | null; total: number }) {
  const cls = rows.some((r) => r.predicted != null)
  const label = (c: number | null) => (c == null ? '?' : (classes?.[c] ?? String(c)))
  const right = rows.filter((r) => r.wrong === false).length
  const fmt = (v: unknown) => formatSample(v)
  return (
    <>
      <table className="ptable" data-testid="val-result">
        <thead>
          <tr>
            <th>#</th>
            <th>input</th>
            <th>target</th>
            {cls ? (
              <>
                <th>predicted</th>
                <th>confidence</th>
                <th />
              </>
            ) : (
              <>
                <th>output</th>
                <th>|error|</th>
              </>
            )}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i} className={r.wrong ? 'wrong' : ''} data-wrong={r.wrong == null ? undefined : String(r.wrong)}>
              <td>{i}</td>
              <td>
                <code>{fmt(r.input)}</code>
              </td>
              {cls ? (
                <>
                  <td>
                    <span className="swatch" style={{ background: `rgb(${classColor(r.targetClass ?? 0).join(',')})` }} /> {label(r.targetClass)}
                  </td>
                  <td>
                    <span className="swatch" style={{ background: `rgb(${classColor(r.predicted ?? 0).join(',')})` }} /> {label(r.predicted)}
                  </td>
                  <td>{r.confidence == null ? '–' : `${(r.confidence * 100).toFixed(1)}%`}</td>
                  <td className={`mark ${r.wrong ? 'bad' : 'ok'}`} title={r.wrong ? 'wrong' : 'right'}>
                    {r.wrong == null ? '' : r.wrong ? '✗' : '✓'}
                  </td>
                </>
              ) : (
                <>
                  <td>
                    <code>{fmt(r.target)}</code>
                  </td>
                  <td>
                    <code>{fmt(r.output)}</code>
                  </td>
                  <td>{r.error == null ? '–' : formatStat(r.error)}</td>
                </>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="muted small vs-summary" data-testid="val-summary">
        {cls ? `${right} of ${rows.length} right` : `${rows.length} samples`} · spread over the {total} validation samples
      </div>
    </>
  )
}

function Inference({ run, runId }: { run: RunOut | null; runId: string }) {
  const datasets = useTrain((s) => s.datasets)
  const shape = inputShape(run, datasets)
  const example = shape.length === 1 && shape[0] === 2 ? '[[0.5, 0.5], [-0.5, 0.2], [0.0, -0.8]]' : JSON.stringify([zeros(shape)])
  const [text, setText] = useState(example)
  const [res, setRes] = useState<PredictResult | null>(null)
  const [err, setErr] = useState<string | null>(null)
  const [val, setVal] = useState<{ rows: SampleRow[]; classes: string[] | null; total: number } | null>(null)
  const [valBusy, setValBusy] = useState(false)
  const ds = datasetOfRun(run)
  const tryVal = async () => {
    if (!ds) return
    setErr(null)
    setValBusy(true)
    try {
      const samples = await loadSamples(ds.name, ds.params, 'val', VAL_SAMPLES)
      const out = await api.predict(runId, samples.inputs)
      setVal({ rows: sampleRows(samples, out), classes: samples.classes ?? null, total: samples.total })
    } catch (e) {
      setVal(null)
      setErr((e as Error).message)
    } finally {
      setValBusy(false)
    }
  }
  const go = async () => {
    setErr(null)
    try {
      const inputs = JSON.parse(text) as unknown
      if (!Array.isArray(inputs)) throw new Error('give a list of samples, e.g. [[0.1, 0.2]]')
      setRes(await api.predict(runId, inputs))
    } catch (e) {
      setRes(null)
      setErr((e as Error).message)
    }
  }
  return (
    <section className="tsec">
      <h3>
        Try it <span className="muted small">inputs of shape [{shape.join(', ')}]</span>
      </h3>
      <textarea rows={shape.length > 1 ? 4 : 2} value={text} onChange={(e) => setText(e.target.value)} data-testid="predict-input" spellCheck={false} />
      <div className="trow">
        <button onClick={() => void go()} data-testid="btn-predict">
          Predict
        </button>
        {ds && (
          <button onClick={() => void tryVal()} disabled={valBusy} data-testid="btn-try-val" title="run the model on samples it never trained on">
            {valBusy ? 'Trying…' : `Try ${VAL_SAMPLES} validation samples`}
          </button>
        )}
      </div>
      {err && <div className="err-box">{err}</div>}
      {val && <ValSamples {...val} />}
      {res && (
        <table className="ptable" data-testid="predict-result">
          <thead>
            <tr>
              <th>#</th>
              {res.predicted ? (
                <>
                  <th>class</th>
                  <th>confidence</th>
                </>
              ) : (
                <th>output</th>
              )}
            </tr>
          </thead>
          <tbody>
            {res.outputs.map((o, i) => (
              <tr key={i}>
                <td>{i}</td>
                {res.predicted ? (
                  <>
                    <td>
                      <span className="swatch" style={{ background: `rgb(${classColor(res.predicted[i]).join(',')})` }} /> {res.labels?.[i] ?? res.predicted[i]}
                    </td>
                    <td>{((res.probabilities?.[i]?.[res.predicted[i]] ?? 0) * 100).toFixed(1)}%</td>
                  </>
                ) : (
                  <td>
                    <code>{JSON.stringify(o, (_k, v) => (typeof v === 'number' ? Number(v.toPrecision(4)) : v))}</code>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  )
}

// ---------------------------------------------------------------- history and comparison

function History() {
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
  const shown = shownRuns(history, { all, designId, name })
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

function Compare({ curves, ids }: { curves: { id: string; name: string; epoch: number[]; val: number[]; acc: (number | null)[] }[]; ids: string[] }) {
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
  return (
    <div className="compare" data-testid="compare" data-runs={curves.length}>
      <h3>Compare: validation loss</h3>
      <Chart data={val as never} series={series('')} xLabel="epoch" testid="chart-compare" />
      {hasAcc && (
        <>
          <h3>Compare: validation accuracy</h3>
          <Chart data={acc as never} series={series(' ')} xLabel="epoch" yRange={[0, 1]} height={130} testid="chart-compare-acc" />
        </>
      )}
    </div>
  )
}
