// What the Train panel's buttons do: start a run from the design and the form, stop it, delete
// a finished one. A refused run's node errors go to the shared run-problems list, which the canvas
// shows beside the validation's.
import { api, ApiError } from '../api/client'
import type { RunCreate, ValidationError } from '../api/types'
import { useDesigner } from '../store/designer'
import { designToDoc } from '../store/docFlow'
import { fieldProblems, setRunProblems } from '../store/problems'
import { notify } from '../store/toast'
import { attachRun, detachRun } from './connection'
import { refreshHistory } from './history'
import { runSettings, trainOf, TRAIN_KEY } from './settings'
import { ACTIVE_KEY, useTrain } from './store'

function runErrors(e: unknown): { message: string; errors: ValidationError[] } {
  if (e instanceof ApiError) {
    const body = e.body as { detail?: unknown } | null
    const d = body?.detail
    if (d && typeof d === 'object' && !Array.isArray(d) && 'errors' in d) {
      const dd = d as { message?: string; errors?: ValidationError[] }
      return { message: dd.message ?? 'the run was refused', errors: dd.errors ?? [] }
    }
    if (Array.isArray(d))
      return {
        message: 'the run settings are invalid',
        errors: d.map((x: { loc?: unknown[]; msg?: string }) => ({ node: null, field: (x.loc ?? []).slice(1).join('.'), message: x.msg ?? JSON.stringify(x) })),
      }
    if (e.status === 429) return { message: typeof d === 'string' ? d : 'the queue is full; try again in a moment', errors: [] }
    return { message: typeof d === 'string' ? d : e.message, errors: [] }
  }
  return { message: String((e as Error)?.message ?? e), errors: [] }
}

/** The run body: the design on the canvas and its training settings. */
export function buildRunBody(): RunCreate {
  const s = useDesigner.getState()
  const t = useTrain.getState()
  const doc = designToDoc(s.design, s.catalog)
  const { [TRAIN_KEY]: _train, ...graph } = doc
  return {
    ...runSettings(trainOf(s.design), t.datasets, t.options),
    graph,
    // a design saved on the server: the run is linked to it (its history), the graph sent is trained
    ...(s.designId ? { graph_id: s.designId } : {}),
    name: doc.name || 'Untitled',
  }
}

export async function startRun(): Promise<string | null> {
  const unparsed = fieldProblems()
  if (unparsed.length) {
    useTrain.setState({ startError: { message: 'Fix these settings first:', errors: unparsed } })
    return null
  }
  useTrain.setState({ starting: true, startError: null })
  setRunProblems([])
  try {
    const body = buildRunBody()
    let created: { id: string }
    try {
      created = await api.createRun(body)
    } catch (e) {
      // the saved design is gone from the server: train it anyway, unlinked
      if (!body.graph_id || !runErrors(e).errors.some((x) => x.field === 'graph_id')) throw e
      const { graph_id: _g, ...rest } = body
      created = await api.createRun(rest)
    }
    const { id } = created
    localStorage.setItem(ACTIVE_KEY, id)
    await attachRun(id)
    void refreshHistory()
    return id
  } catch (e) {
    const err = runErrors(e)
    useTrain.setState({ startError: err })
    // node errors outline the nodes on the canvas, as validation does
    setRunProblems(err.errors.filter((x) => x.node).map((x) => ({ ...x, severity: 'error' })))
    return null
  } finally {
    useTrain.setState({ starting: false })
  }
}

export async function stopRun() {
  const id = useTrain.getState().runId
  if (!id) return
  try {
    await api.stopRun(id)
  } catch (e) {
    notify(`Stop failed: ${(e as Error).message}`, 'error')
  }
}

/** Delete a finished run from the server; the run on screen and the comparison let go of it. */
export async function deleteRun(id: string) {
  try {
    await api.deleteRun(id)
  } catch (e) {
    notify(`Delete failed: ${(e as Error).message}`, 'error')
    return
  }
  if (useTrain.getState().runId === id) detachRun()
  useTrain.setState((s) => {
    const { [id]: _gone, ...curves } = s.curves
    return { history: s.history.filter((r) => r.id !== id), compare: s.compare.filter((x) => x !== id), curves }
  })
  void refreshHistory()
}
