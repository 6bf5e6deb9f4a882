// Plain edits of one graph (copy, paste, rename, delete) and the cheap check that two designs
// differ only in layout or selection.
import { type Design, type FlowEdge, type FlowNode, type Graph, edgeId, makeEdge, uniqueId } from './graph'

// ---------------------------------------------------------------- copy / paste

export type Clip = { nodes: FlowNode[]; edges: FlowEdge[] }

export function copySelection(g: Graph): Clip | null {
  const nodes = g.nodes.filter((n) => n.selected)
  if (!nodes.length) return null
  const ids = new Set(nodes.map((n) => n.id))
  const edges = g.edges.filter((e) => ids.has(e.source) && ids.has(e.target))
  return structuredClone({ nodes, edges })
}

/** Paste a clip with fresh ids, offset, selected; everything else deselected. */
export function pasteClip(g: Graph, clip: Clip, offset = { x: 40, y: 40 }): Graph {
  const taken = new Set(g.nodes.map((n) => n.id))
  const rename = new Map<string, string>()
  for (const n of clip.nodes) {
    const id = uniqueId(n.id, taken)
    taken.add(id)
    rename.set(n.id, id)
  }
  const nodes: FlowNode[] = clip.nodes.map((n) => {
    const data = structuredClone(n.data)
    if (data.shares && rename.has(data.shares)) data.shares = rename.get(data.shares)
    if (data.calls && rename.has(data.calls)) data.calls = rename.get(data.calls)
    return {
      id: rename.get(n.id)!,
      type: 'block',
      position: { x: n.position.x + offset.x, y: n.position.y + offset.y },
      data,
      selected: true,
    }
  })
  const edges = clip.edges.map((e) => ({ ...makeEdge(rename.get(e.source)!, rename.get(e.target)!, e.targetHandle, e.sourceHandle), selected: false }))
  return {
    nodes: [...g.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...nodes],
    edges: [...g.edges.map((e) => (e.selected ? { ...e, selected: false } : e)), ...edges],
  }
}

// ---------------------------------------------------------------- rename / delete

export function renameNode(g: Graph, from: string, to: string): Graph {
  const r = (id: string) => (id === from ? to : id)
  return {
    nodes: g.nodes.map((n) => {
      const shares = n.data.shares === from ? to : n.data.shares
      const calls = n.data.calls === from ? to : n.data.calls
      if (n.id !== from && shares === n.data.shares && calls === n.data.calls) return n
      return { ...n, id: r(n.id), data: { ...n.data, shares, calls } }
    }),
    edges: g.edges.map((e) =>
      e.source === from || e.target === from ? { ...e, id: edgeId(r(e.source), r(e.target), e.targetHandle), source: r(e.source), target: r(e.target) } : e,
    ),
  }
}

export function deleteSelection(g: Graph): Graph {
  const gone = new Set(g.nodes.filter((n) => n.selected).map((n) => n.id))
  return {
    nodes: g.nodes
      .filter((n) => !gone.has(n.id))
      .map((n) => {
        const shares = n.data.shares && gone.has(n.data.shares) ? undefined : n.data.shares
        const calls = n.data.calls && gone.has(n.data.calls) ? undefined : n.data.calls
        return shares === n.data.shares && calls === n.data.calls ? n : { ...n, data: { ...n.data, shares, calls } }
      }),
    edges: g.edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target)),
  }
}
// ---------------------------------------------------------------- change detection

function sameGraphIgnoringLayout(a: Graph, b: Graph): boolean {
  if (a === b) return true
  if (a.nodes.length !== b.nodes.length || a.edges.length !== b.edges.length) return false
  for (let i = 0; i < a.nodes.length; i++) {
    const x = a.nodes[i]
    const y = b.nodes[i]
    if (x !== y && (x.id !== y.id || x.data !== y.data)) return false
  }
  if (a.edges !== b.edges)
    for (let i = 0; i < a.edges.length; i++) {
      const x = a.edges[i]
      const y = b.edges[i]
      if (x !== y && (x.id !== y.id || x.source !== y.source || x.target !== y.target || x.targetHandle !== y.targetHandle || x.sourceHandle !== y.sourceHandle)) return false
    }
  return true
}

/**
 * Whether two designs differ only in node positions, sizes or selection (what a drag, a click or a
 * box selection changes), by reference checks: nothing the server validates has changed then.
 */
export function sameDesignIgnoringLayout(a: Design, b: Design): boolean {
  if (a === b) return true
  if (a.name !== b.name || a.extra !== b.extra || a.blockMeta !== b.blockMeta) return false
  if (!sameGraphIgnoringLayout(a.root, b.root)) return false
  if (a.blocks === b.blocks) return true
  const ka = Object.keys(a.blocks)
  if (ka.length !== Object.keys(b.blocks).length) return false
  return ka.every((k) => b.blocks[k] !== undefined && sameGraphIgnoringLayout(a.blocks[k], b.blocks[k]))
}

