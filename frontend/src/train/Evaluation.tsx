// After a run: its checkpoint on the validation split (GET /api/runs/{id}/evaluation). A
// classification run shows its confusion matrix and per-class accuracy; a regression run its
// predictions against the true values (uPlot, as the curves).
import { useEffect, useMemo, useState } from 'react'
import { api } from '../api/client'
import type { Evaluation as EvalResult } from '../api/types'
import { Chart } from './Chart'
import { formatStat } from './colors'
import { classRows, rowShares, scatterColumns } from './evaluation'

export function Evaluation({ runId }: { runId: string }) {
  const [which, setWhich] = useState<'best' | 'last'>('best')
  const [result, setResult] = useState<EvalResult | null>(null)
  const [err, setErr] = useState<string | null>(null)
  useEffect(() => {
    let stop = false
    setErr(null)
    api.evaluation(runId, which).then(
      (r) => !stop && setResult(r),
      (e) => !stop && setErr((e as Error).message),
    )
    return () => {
      stop = true
    }
  }, [runId, which])
  return (
    <section className="tsec" data-testid="evaluation" data-task={result?.task}>
      <div className="trow">
        <h3>On the validation split</h3>
        <span className="grow" />
        <select value={which} onChange={(e) => setWhich(e.target.value as 'best' | 'last')} aria-label="which checkpoint" className="inline-select" data-testid="eval-which">
          <option value="best">best checkpoint</option>
          <option value="last">last checkpoint</option>
        </select>
      </div>
      {err && <div className="muted small">{err}</div>}
      {result?.task === 'classification' && <Confusion e={result} />}
      {result?.task === 'regression' && <Scatter e={result} />}
    </section>
  )
}

function Confusion({ e }: { e: EvalResult }) {
  const classes = e.classes ?? []
  const matrix = e.matrix ?? []
  const shares = useMemo(() => rowShares(matrix), [matrix])
  const rows = classRows(e)
  return (
    <>
      <p className="small">
        accuracy <b data-testid="eval-accuracy">{e.accuracy != null ? `${(e.accuracy * 100).toFixed(1)}%` : '–'}</b> on {e.n} samples
      </p>
      <div className="cm-wrap">
        <table className="cm" data-testid="confusion-matrix">
          <thead>
            <tr>
              <th className="cm-corner" title="rows: true class · columns: predicted">true ╲ pred</th>
              {classes.map((c) => (
                <th key={c}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {matrix.map((row, i) => (
              <tr key={i}>
                <th>{classes[i]}</th>
                {row.map((v, j) => (
                  <td
                    key={j}
                    className={i === j ? 'diag' : undefined}
                    style={{ background: `rgba(${i === j ? '76,211,138' : '255,110,110'},${(0.08 + 0.8 * shares[i][j]).toFixed(3)})` }}
                    title={`true ${classes[i]}, predicted ${classes[j]}: ${v}`}
                    data-testid="cm-cell"
                  >
                    {v || ''}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>Per-class accuracy</h3>
      <div className="per-class" data-testid="per-class">
        {rows.map((r) => (
          <div className="pc-row" key={r.class} title={`${r.correct} of ${r.support} right; precision ${r.precision == null ? '–' : (r.precision * 100).toFixed(1) + '%'}`}>
            <span className="pc-name">{r.class}</span>
            <span className="pc-bar">
              <span style={{ width: `${((r.accuracy ?? 0) * 100).toFixed(1)}%` }} />
            </span>
            <span className="pc-val" data-testid="per-class-acc">
              {r.accuracy == null ? '–' : `${(r.accuracy * 100).toFixed(0)}%`}
            </span>
          </div>
        ))}
      </div>
    </>
  )
}

function Scatter({ e }: { e: EvalResult }) {
  const [target, setTarget] = useState(0)
  const data = useMemo(() => scatterColumns(e, target), [e, target])
  const r2 = e.r2?.[target]
  return (
    <>
      <div className="trow small">
        <span>
          MSE <b data-testid="eval-mse">{formatStat(e.mse ?? null)}</b> · MAE <b>{formatStat(e.mae ?? null)}</b> · R² <b data-testid="eval-r2">{r2 == null ? '–' : r2.toFixed(3)}</b>
        </span>
        <span className="grow" />
        {(e.targets ?? 1) > 1 && (
          <select value={target} onChange={(ev) => setTarget(Number(ev.target.value))} aria-label="target" className="inline-select">
            {Array.from({ length: e.targets ?? 1 }, (_, i) => (
              <option key={i} value={i}>
                target {i}
              </option>
            ))}
          </select>
        )}
      </div>
      <Chart
        data={data}
        series={[
          { label: 'predicted', stroke: '#5b9dff', scatter: true },
          { label: 'ideal (y = x)', stroke: 'rgba(255,255,255,0.35)', width: 1, dash: [4, 4] },
        ]}
        xLabel="true"
        wholeX={false}
        height={220}
        testid="pred-vs-true"
      />
    </>
  )
}
