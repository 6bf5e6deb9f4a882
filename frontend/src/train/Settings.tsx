// The training settings form: dataset (with its own settings), loss, optimizer, schedule and the
// rest, drawn from the server's schemas; Train / Stop and why a run was refused.
import { useEffect, useState } from 'react'
import type { DeviceName, LossName, OptimizerName } from '../api/types'
import { SchemaForm } from '../forms/SchemaForm'
import { isFinished } from './stream'
import { startRun, stopRun } from './actions'
import { setForm, useTrain, type TrainForm } from './store'

// The backend's choices, in menu order: `satisfies` makes tsc fail when the generated API types
// gain or lose one, so these never drift from the server's enums.
const LOSSES = Object.keys({ cross_entropy: 0, bce_with_logits: 0, mse: 0, l1: 0, huber: 0 } satisfies Record<LossName, 0>)
const OPTIMIZERS = Object.keys({ adam: 0, adamw: 0, sgd: 0 } satisfies Record<OptimizerName, 0>)
const DEVICES = Object.keys({ auto: 0, cpu: 0, cuda: 0 } satisfies Record<DeviceName, 0>) as DeviceName[]

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

export function Settings() {
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
