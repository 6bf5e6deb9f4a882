// A new node wired in as it is placed: into an existing edge (source -> node -> target), or at the
// loose end of a wire dropped on empty canvas. Pure: the designer applies it as one undo step.
import { type FlowNode, type Graph, makeEdge } from './graph'

export type Wire =
  /** split this edge: its source feeds the node, the node feeds the edge's old target port */
  | { edge: string }
  /** a wire dragged from a node's output (side 'source') or from an input port (side 'target') */
  | { from: string; port: string | null; side: 'source' | 'target' }

/** `inPort`: the new node's first input port (null: it has none); `hasOutput`: whether it feeds anything. */
export function wireIn(g: Graph, node: FlowNode, wire: Wire, inPort: string | null, hasOutput: boolean): Graph {
  const nodes = [...g.nodes, node]
  if ('edge' in wire) {
    const e = g.edges.find((x) => x.id === wire.edge)
    if (!e || inPort === null || !hasOutput) return { nodes, edges: g.edges }
    const edges = g.edges.filter((x) => x !== e)
    return { nodes, edges: [...edges, makeEdge(e.source, node.id, inPort, e.sourceHandle), makeEdge(node.id, e.target, e.targetHandle ?? null)] }
  }
  if (wire.side === 'source') return { nodes, edges: inPort === null ? g.edges : [...g.edges, makeEdge(wire.from, node.id, inPort, wire.port)] }
  return { nodes, edges: hasOutput ? [...g.edges, makeEdge(node.id, wire.from, wire.port)] : g.edges }
}
