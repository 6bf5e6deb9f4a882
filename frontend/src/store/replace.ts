// Before anything replaces the whole canvas (a template, an imported file, a saved design, a run's
// design, a blank one): ask when the design on it has unsaved changes. The replacement itself is
// one undoable step (designer.loadDoc), so the old design also stays one Undo away.
import { useDesigner } from './designer'

export function mayReplaceCanvas(what: string): boolean {
  const s = useDesigner.getState()
  const empty = !s.design.root.nodes.length && !Object.keys(s.design.blocks).length
  if (!s.dirty || empty) return true
  return window.confirm(`Replace “${s.design.name}” with ${what}?\nIts changes are not saved; Undo brings them back.`)
}
