// Node errors a refused run reported (the server checks a design against the dataset only when a
// run starts). Written by the training side, shown by the designer beside the validation: a shared
// module, so neither store writes into the other.
import { create } from 'zustand'
import type { ValidationError } from '../api/types'

export const useRunProblems = create<{ errors: ValidationError[] }>()(() => ({ errors: [] }))

export function setRunProblems(errors: ValidationError[]) {
  if (errors.length || useRunProblems.getState().errors.length) useRunProblems.setState({ errors })
}
