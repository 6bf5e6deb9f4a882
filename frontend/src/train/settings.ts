// The training settings belong to the document (its `train` field, as templates spell it): saved on
// the server, exported, drafted and undone with the design. Only what the user set is kept; for
// the rest the server's defaults apply (shown from the schemas), and a run body fills in the two
// settings a run needs: the first dataset, and the usual loss for its task.
import type { DatasetInfo, Options, RunCreate } from '../api/types'
import { useDesigner } from '../store/designer'
import type { Design } from '../store/graph'

// `init_weights`: an uploaded weights set the runs start from (an imported model's own weights)
export type TrainSettings = Partial<Omit<RunCreate, 'graph' | 'graph_id' | 'name'>>
export const TRAIN_KEY = 'train'

const NONE: TrainSettings = {}

export function trainOf(design: Design): TrainSettings {
  const t = design.extra?.[TRAIN_KEY]
  return t && typeof t === 'object' && !Array.isArray(t) ? (t as TrainSettings) : NONE
}

/** The document's training settings (the same object until they change). */
export function useTrainSettings(): TrainSettings {
  return useDesigner((s) => trainOf(s.design))
}

/** An option given as a name, or as an object with a `name` and its params. */
export function nameOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (v && typeof v === 'object' && 'name' in v && typeof v.name === 'string') return v.name
  return undefined
}

/** An option's params (an object option without its name). */
export function paramsOf(v: unknown): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {}
  const { name: _n, ...rest } = v as Record<string, unknown>
  return rest
}

/** What a run would use: the dataset chosen (or the first), the loss chosen (or the usual for the dataset's task). */
export function effective(train: TrainSettings, datasets: DatasetInfo[], options: Options | null) {
  const dataset = datasets.find((d) => d.name === train.dataset?.name) ?? (train.dataset ? undefined : datasets[0])
  const datasetName = train.dataset?.name ?? dataset?.name
  const loss = nameOf(train.loss) ?? options?.losses.find((l) => l.usual && l.task === dataset?.task)?.name
  const optimizer = nameOf(train.optimizer) ?? options?.optimizers.find((o) => o.default)?.name
  return { dataset, datasetName, datasetParams: train.dataset?.params ?? {}, loss, optimizer }
}

/** The settings a run body carries (RunCreate without the graph): what was set, plus dataset and loss. */
export function runSettings(train: TrainSettings, datasets: DatasetInfo[], options: Options | null): Omit<RunCreate, 'graph'> {
  const e = effective(train, datasets, options)
  return { ...train, dataset: { name: e.datasetName ?? '', params: e.datasetParams }, loss: train.loss ?? (e.loss as RunCreate['loss']) }
}
