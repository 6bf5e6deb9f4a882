// Problems the server's validation of the design cannot see, kept per source and shown beside it
// (outlined nodes, the status bar, the Train button): the node errors a refused run reported
// ("run"), and text in a settings field that does not parse ("field:…"). Written by the forms and
// the training side, read by the designer: a shared module, so neither store writes the other.
import { create } from 'zustand'
import type { ValidationError } from '../api/types'

type State = { bySource: Record<string, ValidationError[]>; all: ValidationError[] }

export const useProblems = create<State>()(() => ({ bySource: {}, all: [] }))

export function setProblems(source: string, errors: ValidationError[]) {
  const cur = useProblems.getState().bySource
  if (!errors.length && !cur[source]) return
  const bySource = { ...cur }
  if (errors.length) bySource[source] = errors
  else delete bySource[source]
  useProblems.setState({ bySource, all: Object.values(bySource).flat() })
}

export const RUN = 'run'
export const setRunProblems = (errors: ValidationError[]) => setProblems(RUN, errors)

/** Settings fields whose text does not parse (a run would silently use the old value). */
export function fieldProblems(): ValidationError[] {
  return Object.entries(useProblems.getState().bySource).flatMap(([k, v]) => (k.startsWith('field:') ? v : []))
}
