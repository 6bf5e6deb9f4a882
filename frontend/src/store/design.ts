// The design as the designer holds it, and small pure helpers over it: the graph on screen (the
// root, or the open block definition), a new node's settings, undo snapshots.
import type { JsonSchema } from '../api/types'
import type { Design, Graph } from './graph'

/** What one undo step restores: the design and which saved design it was (a replaced canvas may have been another). */
export type Snapshot = { design: Design; designId: string | null; replaced?: boolean }

export function emptyDesign(name = 'Untitled'): Design {
  return { name, root: { nodes: [], edges: [] }, blocks: {} }
}

export function currentGraph(s: { design: Design; path: string[] }): Graph {
  const p = s.path
  return p.length ? (s.design.blocks[p[p.length - 1]] ?? { nodes: [], edges: [] }) : s.design.root
}

export function withGraph(s: { design: Design; path: string[] }, g: Graph): Design {
  const p = s.path
  if (!p.length) return { ...s.design, root: g }
  return { ...s.design, blocks: { ...s.design.blocks, [p[p.length - 1]]: g } }
}

/** Values a new node starts with: required settings that have a default or an example. */
export function initialParams(schema: JsonSchema | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of schema?.required ?? []) {
    const prop = schema?.properties?.[key]
    if (!prop) continue
    if (prop.default !== undefined) out[key] = structuredClone(prop.default)
    else if (prop.examples?.length) out[key] = structuredClone(prop.examples[0])
  }
  return out
}

export function fixPath(path: string[], design: Design): string[] {
  const i = path.findIndex((p) => !design.blocks[p])
  return i === -1 ? path : path.slice(0, i)
}

