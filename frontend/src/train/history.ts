// The run history (per saved design, or all), the comparison's curves, and the datasets with
// their samples: read from the server, cached where it pays.
import { api } from '../api/client'
import type { Samples } from '../api/types'
import { useDesigner } from '../store/designer'
import { notify } from '../store/toast'
import type { StreamMsg } from './stream'
import { useTrain, type CompareCurve } from './store'

/** The datasets and the training options, once: the settings form is drawn from them. */
export async function loadDatasets() {
  if (useTrain.getState().datasets.length && useTrain.getState().options) return
  try {
    const [datasets, options] = await Promise.all([api.datasets(), api.options()])
    // a dataset uploaded while this list was on its way stays in it
    useTrain.setState((s) => ({ datasets: [...datasets, ...s.datasets.filter((d) => !datasets.some((x) => x.name === d.name))], options }))
  } catch (e) {
    notify(`Cannot load datasets and training options: ${(e as Error).message}`, 'error')
  }
}

let historyCall = 0

/** The run history: a saved design's runs (GET /api/runs?graph_id=), or all of them. */
export async function refreshHistory() {
  const call = ++historyCall
  const designId = useDesigner.getState().designId
  const all = useTrain.getState().historyAll
  try {
    const history = await api.runs(all ? null : designId)
    if (call === historyCall) useTrain.setState({ history })
  } catch {
    /* keep the old list */
  }
}

const samplesCache = new Map<string, Promise<Samples>>()

/** Samples of a dataset split, fetched once per (dataset, params, split, limit). */
export function loadSamples(name: string, params: Record<string, unknown>, split: 'train' | 'val', limit: number): Promise<Samples> {
  const key = JSON.stringify([name, params, split, limit])
  let p = samplesCache.get(key)
  if (!p) {
    p = api.samples(name, split, limit, params)
    p.catch(() => samplesCache.delete(key))
    samplesCache.set(key, p)
  }
  return p
}

export async function toggleCompare(id: string) {
  const st = useTrain.getState()
  if (st.compare.includes(id)) {
    useTrain.setState({ compare: st.compare.filter((x) => x !== id) })
    return
  }
  useTrain.setState({ compare: [...st.compare, id] })
  if (st.curves[id]) return
  try {
    const msgs = (await api.metrics(id, 0, 'epoch')).filter((m): m is Extract<StreamMsg, { type: 'epoch' }> => m.type === 'epoch')
    const run = st.history.find((r) => r.id === id)
    const c: CompareCurve = { id, name: run?.name ?? id.slice(0, 8), epoch: [], val: [], train: [], acc: [] }
    for (const m of msgs) {
      c.epoch.push(m.epoch)
      c.val.push(m.val_loss)
      c.train.push(m.train_loss ?? null)
      c.acc.push(m.val_accuracy ?? null)
    }
    useTrain.setState((s) => ({ curves: { ...s.curves, [id]: c } }))
  } catch (e) {
    notify(`Cannot load run ${id.slice(0, 8)}: ${(e as Error).message}`, 'error')
  }
}
