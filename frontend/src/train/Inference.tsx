// "Try it": the finished model on typed inputs or on a spread of validation samples.
import { useEffect, useState } from 'react'
import { api } from '../api/client'
import type { PredictResult, RunOut } from '../api/types'
import { useDatasetProbe } from './datasetProbe'
import { classColor, formatStat } from './colors'
import { Sample } from './SampleImage'
import { datasetOfRun, formatSample, sampleRows, type SampleRow } from './samples'
import { loadSamples } from './history'
import { useTrain } from './store'

/** The shape of one input: the run's dataset as its settings made it (else as the catalog lists it). */
function useInputShape(run: RunOut | null): number[] {
  const datasets = useTrain((s) => s.datasets)
  const ds = datasetOfRun(run)
  const probe = useDatasetProbe(ds?.name, ds?.params ?? {})
  if (probe && !('error' in probe)) return probe.input_shape
  return datasets.find((d) => d.name === ds?.name)?.input_shape ?? [2]
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
                <Sample value={r.input} />
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

export function Inference({ run, runId }: { run: RunOut | null; runId: string }) {
  const shape = useInputShape(run)
  const example = shape.length === 1 && shape[0] === 2 ? '[[0.5, 0.5], [-0.5, 0.2], [0.0, -0.8]]' : JSON.stringify([zeros(shape)])
  const [text, setText] = useState(example)
  useEffect(() => setText(example), [example])
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
