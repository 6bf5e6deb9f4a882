// The training settings form, all of it drawn from the server's schemas: the dataset (with its own
// settings), loss, optimizer and schedule from GET /api/options, the rest from RunCreate's schema.
// What it edits is the document's `train` field (one undo step per field burst).
import openapi from '../../openapi.json'
import type { JsonSchema } from '../api/types'
import { SchemaForm } from '../forms/SchemaForm'
import { useDesigner } from '../store/designer'
import { setRunProblems } from '../store/problems'
import { probeLabel, useDatasetProbe } from './datasetProbe'
import { DatasetUpload } from './DatasetUpload'
import { InputCheck } from './InputCheck'
import { OptionPicker } from './OptionPicker'
import { effective, TRAIN_KEY, useTrainSettings, type TrainSettings } from './settings'
import { useTrain } from './store'

const RUN_CREATE = openapi.components.schemas.RunCreate as unknown as JsonSchema
/** RunCreate's fields this form draws itself; of the rest, these few come first, the others under "More". */
const OWN = ['graph', 'graph_id', 'name', 'init_weights', 'dataset', 'loss', 'optimizer', 'schedule']
const FIRST = ['epochs', 'batch_size', 'device', 'seed']
const part = (keys: (k: string) => boolean): JsonSchema => ({
  ...RUN_CREATE,
  properties: Object.fromEntries(Object.entries(RUN_CREATE.properties ?? {}).filter(([k]) => !OWN.includes(k) && keys(k))),
  required: [],
})
const GENERAL = part((k) => FIRST.includes(k))
const MORE = part((k) => !FIRST.includes(k))

function setTrain(patch: Partial<TrainSettings>, key: string) {
  const s = useDesigner.getState()
  const cur = (s.design.extra?.[TRAIN_KEY] ?? {}) as TrainSettings
  const next: Record<string, unknown> = { ...cur, ...patch }
  for (const k of Object.keys(patch)) if (next[k] === undefined || next[k] === null) delete next[k]
  s.setExtra(TRAIN_KEY, next, `train:${key}`)
  // what a refused run said was about the old settings
  useTrain.setState({ startError: null })
  setRunProblems([])
}

export function Settings() {
  const train = useTrainSettings()
  const datasets = useTrain((s) => s.datasets)
  const options = useTrain((s) => s.options)
  const e = effective(train, datasets, options)
  const probe = useDatasetProbe(e.datasetName, e.datasetParams)
  const ds = e.dataset
  const general = Object.fromEntries(Object.entries(train).filter(([k]) => !OWN.includes(k)))
  const setGeneral = (v: Record<string, unknown>) => {
    const patch: Record<string, unknown> = {}
    for (const k of Object.keys(GENERAL.properties ?? {}).concat(Object.keys(MORE.properties ?? {}))) patch[k] = v[k]
    setTrain(patch, 'general')
  }
  return (
    <div className="tgrid">
        {train.init_weights && (
          <div className="span2 init-weights" data-testid="init-weights">
            Starts from uploaded weights <code>{train.init_weights.slice(0, 8)}</code>
            <button className="mini" onClick={() => setTrain({ init_weights: undefined }, 'init_weights')} title="Train from a fresh initialization instead" data-testid="btn-forget-weights">
              fresh weights instead
            </button>
          </div>
        )}
        <label className="tf span2">
          <span>Dataset</span>
          <select value={e.datasetName ?? ''} onChange={(ev) => setTrain({ dataset: { name: ev.target.value, params: {} }, loss: undefined }, 'dataset')} data-testid="train-dataset">
            {!ds && <option value={e.datasetName ?? ''}>{e.datasetName ?? '—'}</option>}
            {datasets.map((d) => (
              <option key={d.name} value={d.name}>
                {d.title} · {(d === ds && probeLabel(probe)) || `${d.task === 'classification' ? `${d.n_classes ?? '?'} classes` : 'regression'} · in ${d.input_shape.join('×')}`}
              </option>
            ))}
          </select>
        </label>
        {e.datasetName && (
          <div className="span2">
            <InputCheck probe={probe} dataset={ds?.title ?? e.datasetName} />
          </div>
        )}
        {ds && Object.keys(ds.params_schema.properties ?? {}).length > 0 && (
          <details className="span2 ds-params">
            <summary>
              Dataset settings <span className="muted small">{Object.entries(e.datasetParams).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ').slice(0, 60)}</span>
            </summary>
            {ds.doc && <p className="muted small">{ds.doc}</p>}
            <SchemaForm schema={ds.params_schema} value={e.datasetParams} onChange={(v) => setTrain({ dataset: { name: ds.name, params: v } }, 'dsparams')} prefix="ds" owner={{ node: null, field: 'dataset' }} />
          </details>
        )}
        <DatasetUpload onUploaded={(name) => setTrain({ dataset: { name, params: {} }, loss: undefined }, 'dataset')} />
        {options && (
          <>
            <OptionPicker label="Loss" value={train.loss} shown={e.loss} choices={options.losses} testid="train-loss" onChange={(v) => setTrain({ loss: (v ?? undefined) as TrainSettings['loss'] }, 'loss')} />
            <OptionPicker label="Optimizer" value={train.optimizer} shown={e.optimizer} choices={options.optimizers} testid="train-optimizer" onChange={(v) => setTrain({ optimizer: (v ?? undefined) as TrainSettings['optimizer'] }, 'optimizer')} />
            <OptionPicker label="Schedule" value={train.schedule} shown={undefined} none="constant learning rate" choices={options.schedules} testid="train-schedule" onChange={(v) => setTrain({ schedule: (v ?? undefined) as TrainSettings['schedule'] }, 'schedule')} />
          </>
        )}
        <div className="span2">
          <SchemaForm schema={GENERAL} value={general} onChange={setGeneral} prefix="train" owner={{ node: null, field: 'training' }} />
          <details className="ds-params">
            <summary>More settings</summary>
            <SchemaForm schema={MORE} value={general} onChange={setGeneral} prefix="train" owner={{ node: null, field: 'training' }} />
          </details>
        </div>
    </div>
  )
}
