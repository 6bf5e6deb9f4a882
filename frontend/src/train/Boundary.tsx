// The decision boundary of a 2-D classifier: the grid message as an image, the dataset's
// points over it, and (once finished) a click to classify a point.
import { useEffect, useMemo, useRef, useState } from 'react'
import { api } from '../api/client'
import type { RunOut, Samples } from '../api/types'
import { notify } from '../store/toast'
import { classColor, probColor } from './colors'
import { datasetOfRun, pointsOnGrid } from './samples'
import { isFinished, type GridMsg } from './stream'
import { loadSamples } from './history'
import { useTrain } from './store'

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

export function Boundary({ grid, count, runId, run }: { grid: GridMsg; count: number; runId: string; run: RunOut | null }) {
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
      notify(`Predict failed: ${(err as Error).message}`, 'error')
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
