// A new sweep from the design on the canvas and its training settings: the space (rows of
// setting path -> range or choices), the budget, the metric. The metric and direction lists
// come from the server's SweepCreate schema.
import { useMemo, useState } from 'react'
import openapi from '../../openapi.json'
import type { JsonSchema } from '../api/types'
import { useDesigner } from '../store/designer'
import { buildRunBody } from '../train/actions'
import { effective, useTrainSettings } from '../train/settings'
import { useTrain } from '../train/store'
import { DEFAULT_ROWS, emptyRow, pathSuggestions, toSpace, type SpaceRow } from './space'
import { startSweep, useSweeps } from './store'

const SWEEP = openapi.components.schemas.SweepCreate as unknown as JsonSchema
const METRICS = (SWEEP.properties?.metric?.enum ?? []) as string[]
const DIRECTIONS = ((SWEEP.properties?.direction?.anyOf ?? []).flatMap((a) => a.enum ?? []) as string[])

function useSuggestions(): string[] {
  const train = useTrainSettings()
  const datasets = useTrain((s) => s.datasets)
  const options = useTrain((s) => s.options)
  const nodes = useDesigner((s) => s.design.root.nodes)
  const catalog = useDesigner((s) => s.catalog)
  return useMemo(() => {
    const e = effective(train, datasets, options)
    const opt = options?.optimizers.find((o) => o.name === e.optimizer)
    return [
      'lr',
      'batch_size',
      'epochs',
      ...pathSuggestions([
        { prefix: 'optimizer.', schema: opt?.params_schema },
        { prefix: 'dataset.params.', schema: e.dataset?.params_schema },
        ...nodes.map((n) => ({ prefix: `nodes.${n.id}.`, schema: catalog[n.data.type]?.params_schema })),
      ]),
    ]
  }, [train, datasets, options, nodes, catalog])
}

export function SweepForm() {
  const [rows, setRows] = useState<SpaceRow[]>(DEFAULT_ROWS)
  const [trials, setTrials] = useState('4')
  const [metric, setMetric] = useState(METRICS[0] ?? 'val_loss')
  const [direction, setDirection] = useState('')
  const [local, setLocal] = useState<string | null>(null)
  const starting = useSweeps((s) => s.starting)
  // the run body needs the datasets and options (the first dataset, the usual loss)
  const ready = useTrain((s) => s.options !== null && s.datasets.length > 0)
  const error = useSweeps((s) => s.error)
  const suggestions = useSuggestions()
  const set = (i: number, patch: Partial<SpaceRow>) => setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)))
  const start = () => {
    const sp = toSpace(rows)
    if ('error' in sp) return setLocal(sp.error)
    setLocal(null)
    const name = `${useDesigner.getState().design.name || 'design'} sweep`
    void startSweep({ run: buildRunBody(), space: sp.space, trials: Number(trials), metric: metric as never, ...(direction ? { direction: direction as never } : {}), name })
  }
  return (
    <div className="sweep-form" data-testid="sweep-form">
      <datalist id="sweep-paths">
        {suggestions.map((p) => (
          <option key={p} value={p} />
        ))}
      </datalist>
      <table className="space-table">
        <thead>
          <tr>
            <th>setting</th>
            <th>search</th>
            <th>values</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i} data-testid={`space-row-${i}`}>
              <td>
                <input value={r.path} list="sweep-paths" onChange={(e) => set(i, { path: e.target.value })} aria-label="setting path" data-testid={`space-path-${i}`} spellCheck={false} />
              </td>
              <td>
                <select value={r.kind} onChange={(e) => set(i, { kind: e.target.value as SpaceRow['kind'] })} data-testid={`space-kind-${i}`}>
                  <option value="range">range</option>
                  <option value="choices">choices</option>
                </select>
              </td>
              <td>
                {r.kind === 'range' ? (
                  <span className="range-in">
                    <input value={r.low} onChange={(e) => set(i, { low: e.target.value })} aria-label="low" data-testid={`space-low-${i}`} />
                    <span>–</span>
                    <input value={r.high} onChange={(e) => set(i, { high: e.target.value })} aria-label="high" data-testid={`space-high-${i}`} />
                    <label title="sample on a log scale">
                      <input type="checkbox" checked={r.log} onChange={(e) => set(i, { log: e.target.checked })} data-testid={`space-log-${i}`} /> log
                    </label>
                  </span>
                ) : (
                  <input value={r.choices} onChange={(e) => set(i, { choices: e.target.value })} placeholder="32, 64" aria-label="choices" data-testid={`space-choices-${i}`} />
                )}
              </td>
              <td>
                <button className="mini" onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))} title="remove" data-testid={`space-remove-${i}`}>
                  ✕
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button className="mini" onClick={() => setRows((rs) => [...rs, emptyRow()])} data-testid="space-add">
        + setting
      </button>
      <div className="trow wrap sweep-opts">
        <label className="tf">
          <span>trials</span>
          <input type="number" min={1} value={trials} onChange={(e) => setTrials(e.target.value)} data-testid="sweep-trials" />
        </label>
        <label className="tf">
          <span>metric</span>
          <select value={metric} onChange={(e) => setMetric(e.target.value)} data-testid="sweep-metric">
            {METRICS.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label className="tf">
          <span>direction</span>
          <select value={direction} onChange={(e) => setDirection(e.target.value)} data-testid="sweep-direction">
            <option value="">from the metric</option>
            {DIRECTIONS.map((d) => (
              <option key={d}>{d}</option>
            ))}
          </select>
        </label>
      </div>
      <button className="primary" onClick={start} disabled={starting || !ready} data-testid="btn-start-sweep">
        {starting ? 'Starting…' : '▶ Start sweep'}
      </button>
      {(local || error) && (
        <div className="err-box" data-testid="sweep-error">
          {local ?? error?.message}
          {error?.errors.length ? (
            <ul>
              {error.errors.map((e, i) => (
                <li key={i}>
                  {e.field ? <code>{e.field}</code> : null} {e.node ? <code>{e.node}</code> : null} {e.message}
                </li>
              ))}
            </ul>
          ) : null}
        </div>
      )}
    </div>
  )
}
