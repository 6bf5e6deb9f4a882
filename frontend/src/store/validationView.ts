// The validation the canvas shows: the server's answer for the whole design, plus the node errors
// a refused run reported, seen from the graph on screen (an open block definition shows its first
// instance).
import type { NodeInfo, ValidateResult, ValidationError } from '../api/types'
import type { Design, FlowNode } from './graph'

/** The validation with a refused run's node errors added (they outline nodes like any other). */
export function withRunProblems(raw: ValidateResult | null, problems: ValidationError[]): ValidateResult | null {
  if (!problems.length) return raw
  const v = raw ?? { ok: false, errors: [], nodes: {}, total_params: 0 }
  return { ...v, ok: false, errors: [...v.errors, ...problems] }
}

/**
 * The server validates the whole design. While a block definition is open, show what the server
 * said about the first instance of it: its inner nodes' shapes, and errors whose path runs through it.
 */
export function scopeView(raw: ValidateResult | null, d: Design, path: string[]): ValidateResult | null {
  if (!raw || !path.length) return raw
  let graph = d.root
  let infos: Record<string, NodeInfo> | undefined = raw.nodes
  let prefix = ''
  for (const name of path) {
    const inst: FlowNode | undefined = graph.nodes.find((n) => n.data.type === name && infos?.[n.id]?.inner) ?? graph.nodes.find((n) => n.data.type === name)
    graph = d.blocks[name] ?? { nodes: [], edges: [] }
    if (!inst) {
      infos = undefined
      prefix = ''
      break
    }
    infos = infos?.[inst.id]?.inner ?? undefined
    prefix = prefix ? `${prefix}.${inst.id}` : inst.id
  }
  const open = path[path.length - 1]
  const errors: ValidationError[] = raw.errors.flatMap((e) => {
    if (prefix && e.path && e.path.startsWith(`${prefix}.`)) return [{ ...e, node: e.path.slice(prefix.length + 1).split('.')[0] }]
    if (!prefix && e.block === open && e.path) return [{ ...e, node: e.path.split('.').pop()! }]
    return []
  })
  if (!prefix)
    errors.unshift({ node: null, field: null, message: `Block ${open} is not used in the design yet: place an instance of it to see shapes.` })
  return { ok: raw.ok, errors, nodes: infos ?? {}, total_params: raw.total_params }
}
