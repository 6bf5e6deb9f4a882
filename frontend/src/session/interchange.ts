// Files in and out of the page: Import (a graph JSON document or an .onnx model, from the button
// or dropped onto the canvas) and the toolbar's Export .onnx. An imported model replaces the
// canvas as one undoable step (designer.loadDoc); its weights ride in the document's `train`
// settings as `init_weights`, so Train starts from them and Undo takes them away with the design.
import { create } from 'zustand'
import { api, saveBlob } from '../api/client'
import type { GraphDoc, Unsupported } from '../api/types'
import { useDesigner } from '../store/designer'
import { designToDoc } from '../store/docFlow'
import { mayReplaceCanvas } from '../store/replace'
import { notify } from '../store/toast'
import { TRAIN_KEY } from '../train/settings'

/** What the last model import could not map (shown until dismissed). */
export type ImportReport = { file: string; unsupported: Unsupported[]; weightsId: string | null }
export const useImportReport = create<{ report: ImportReport | null }>()(() => ({ report: null }))
export const dismissImportReport = () => useImportReport.setState({ report: null })

/** The importers, by file extension; a file matching none is read as a graph JSON document. */
const IMPORTERS: { ext: string; accept: string; load: (f: File) => Promise<void> }[] = [{ ext: '.onnx', accept: '.onnx', load: importOnnx }]

/** The `accept` attribute of the Import file input. */
export const IMPORT_ACCEPT = ['application/json', '.json', ...IMPORTERS.map((i) => i.accept)].join(',')

export function stem(fileName: string): string {
  return fileName.replace(/\.[^.]+$/, '') || fileName
}

export async function importFile(f: File): Promise<void> {
  const importer = IMPORTERS.find((i) => f.name.toLowerCase().endsWith(i.ext))
  try {
    await (importer ? importer.load(f) : importJson(f))
  } catch (e) {
    notify(`Import failed: ${(e as Error).message}`, 'error')
  }
}

async function importJson(f: File) {
  const parsed = JSON.parse(await f.text()) as Partial<GraphDoc> & { graph?: GraphDoc }
  const doc = (parsed.graph ?? parsed) as GraphDoc
  if (!Array.isArray(doc.nodes)) throw new Error('not a graph document (no "nodes" list)')
  if (!mayReplaceCanvas(f.name)) return
  useDesigner.getState().loadDoc({ ...doc, name: doc.name || stem(f.name) })
  notify(`Imported ${f.name}`)
}

async function importOnnx(f: File) {
  const { graph, weights_id, unsupported } = await api.importOnnx(f)
  if (!mayReplaceCanvas(f.name)) return
  const train = { ...((graph[TRAIN_KEY] as Record<string, unknown> | undefined) ?? {}), ...(weights_id ? { init_weights: weights_id } : {}) }
  const doc: GraphDoc = { ...graph, name: graph.name || stem(f.name), ...(Object.keys(train).length ? { [TRAIN_KEY]: train } : {}) }
  useDesigner.getState().loadDoc(doc)
  useImportReport.setState({ report: unsupported.length ? { file: f.name, unsupported, weightsId: weights_id } : null })
  if (unsupported.length) notify(`Imported ${f.name}: ${unsupported.length} operator${unsupported.length === 1 ? '' : 's'} without a block`, 'error')
  else notify(`Imported ${f.name}${weights_id ? ' with its weights' : ''}`)
}

/** The design on the canvas as an .onnx file (fresh weights; a run's downloads carry trained ones). */
export async function exportOnnx(): Promise<void> {
  const s = useDesigner.getState()
  const doc = designToDoc(s.design, s.catalog)
  try {
    const { [TRAIN_KEY]: _train, ...graph } = doc
    saveBlob(`${safeName(doc.name)}.onnx`, await api.exportOnnx({ graph: graph as GraphDoc }))
  } catch (e) {
    notify(`Export failed: ${(e as Error).message}`, 'error')
  }
}

export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, '_') || 'design'
}
