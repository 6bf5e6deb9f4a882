// Per-node and per-port lookups of one validation result, built once per result (cached on the
// result object), so that each of hundreds of nodes and edges can select its own slice in O(1)
// on every store update instead of scanning the whole error list.
import type { ValidateResult, ValidationError } from '../api/types'

export type ValidationIndex = {
  /** errors and warnings per node id, in the server's order; the same array until the next result */
  byNode: Map<string, ValidationError[]>
  /** `${node}\u0000${port}` of input ports the server names as faulty (errors only, not warnings) */
  faultyPorts: Set<string>
}

const cache = new WeakMap<ValidateResult, ValidationIndex>()
const EMPTY: ValidationIndex = { byNode: new Map(), faultyPorts: new Set() }
export const NO_PROBLEMS: readonly ValidationError[] = Object.freeze([])

export function validationIndex(v: ValidateResult | null | undefined): ValidationIndex {
  if (!v) return EMPTY
  let ix = cache.get(v)
  if (!ix) {
    ix = { byNode: new Map(), faultyPorts: new Set() }
    for (const e of v.errors) {
      if (e.node == null) continue
      const list = ix.byNode.get(e.node)
      if (list) list.push(e)
      else ix.byNode.set(e.node, [e])
      if (e.field != null && e.severity !== 'warning') ix.faultyPorts.add(portKey(e.node, e.field))
    }
    cache.set(v, ix)
  }
  return ix
}

const portKey = (node: string, port: string) => `${node}\u0000${port}`

/** A node's problems (errors and warnings); a stable array per validation result. */
export function problemsOf(v: ValidateResult | null | undefined, node: string): readonly ValidationError[] {
  return validationIndex(v).byNode.get(node) ?? NO_PROBLEMS
}

/** Whether the server names this input port of `node` as faulty (e.g. Add's "b"). */
export function isFaultyPort(v: ValidateResult | null | undefined, node: string, port: string | null | undefined): boolean {
  return port != null && validationIndex(v).faultyPorts.has(portKey(node, port))
}
