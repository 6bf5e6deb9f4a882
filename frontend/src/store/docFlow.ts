// A graph document (the server's JSON) <-> the designer's React Flow graphs, losing nothing on a
// round trip: unknown node fields ride along in `extra`, block definitions convert first.
import type { BlockDef, DocEdge, DocNode, GraphDoc, Port } from '../api/types'
import { type BlockMeta, type BlockNodeData, type Catalog, type Design, type FlowNode, type Graph, OUT_HANDLE, ROW_H, makeEdge, portsOf, roleOf } from './graph'
import { layoutGraph, spreadIfCrowded } from './layout'

// ---------------------------------------------------------------- document -> flow

function nodeFromDoc(n: DocNode, i: number): FlowNode {
  const { id, type, params, shares, init, trainable, position, calls, repeat, when, ...extra } = n
  const data: BlockNodeData = { type, params: { ...(params ?? {}) } }
  if (init && Object.keys(init).length) data.init = structuredClone(init)
  if (trainable === false) data.trainable = false
  if (shares) data.shares = shares
  if (typeof calls === 'string' && calls) data.calls = calls
  if (typeof repeat === 'number') data.repeat = repeat
  else if (repeat != null) extra.repeat = repeat
  if (typeof when === 'string' && when) data.when = when
  if (Object.keys(extra).length) data.extra = extra
  return {
    id,
    type: 'block',
    position: position && Number.isFinite(position.x) ? { x: position.x, y: position.y } : { x: 0, y: i * ROW_H },
    data,
  }
}

function graphFromDoc(nodes: DocNode[], edges: DocEdge[], portsFor: (type: string) => Port[]): Graph {
  const flowNodes = nodes.map(nodeFromDoc)
  const typeOf = new Map(flowNodes.map((n) => [n.id, n.data.type]))
  const flowEdges = edges.map((e) => {
    const t = typeOf.get(e.target)
    const port = e.target_port ?? (t ? portsFor(t)[0]?.name : undefined) ?? null
    return makeEdge(e.source, e.target, port, e.source_port)
  })
  const g = { nodes: flowNodes, edges: flowEdges }
  return nodes.some((n) => !n.position) ? layoutGraph(g) : spreadIfCrowded(g)
}


export function docToDesign(doc: GraphDoc, catalog: Catalog): Design {
  const { version: _v, name, nodes, edges, blocks, ...extra } = doc
  // Block ports depend on block definitions, so convert blocks first (their input nodes need no ports).
  const blockGraphs: Record<string, Graph> = {}
  const rawBlocks = blocks ?? {}
  const portsFor = (t: string): Port[] => {
    if (catalog[t]) return catalog[t].ports
    const def = rawBlocks[t]
    if (def) {
      return def.nodes
        .filter((n) => roleOf(n.type, catalog) === 'input')
        .sort((a, b) => (a.position?.x ?? 0) - (b.position?.x ?? 0) || a.id.localeCompare(b.id))
        .map((n) => ({ name: n.id }))
    }
    return [{ name: 'x' }]
  }
  const blockMeta: Record<string, BlockMeta> = {}
  for (const [bname, def] of Object.entries(rawBlocks)) {
    const { nodes: dn, edges: de, ...meta } = def
    blockGraphs[bname] = graphFromDoc(dn ?? [], de ?? [], portsFor)
    if (Object.keys(meta).length) blockMeta[bname] = structuredClone(meta)
  }
  return {
    name: name ?? 'Untitled',
    root: graphFromDoc(nodes ?? [], edges ?? [], portsFor),
    blocks: blockGraphs,
    ...(Object.keys(blockMeta).length ? { blockMeta } : {}),
    extra: Object.keys(extra).length ? extra : undefined,
  }
}

// ---------------------------------------------------------------- flow -> document

function nodeToDoc(n: FlowNode): DocNode {
  const d = n.data
  const out: DocNode = { ...(d.extra ?? {}), id: n.id, type: d.type, params: { ...d.params } }
  if (d.shares) out.shares = d.shares
  if (d.init && Object.keys(d.init).length) out.init = structuredClone(d.init)
  if (d.trainable === false) out.trainable = false
  if (d.calls) out.calls = d.calls
  if (d.repeat !== undefined) out.repeat = d.repeat
  if (d.when) out.when = d.when
  out.position = { x: Math.round(n.position.x), y: Math.round(n.position.y) }
  return out
}

export function graphToDoc(g: Graph, catalog: Catalog, blocks: Record<string, Graph>): { nodes: DocNode[]; edges: DocEdge[] } {
  const typeOf = new Map(g.nodes.map((n) => [n.id, n.data.type]))
  return {
    nodes: g.nodes.map(nodeToDoc),
    edges: g.edges.map((e) => {
      const t = typeOf.get(e.target)
      const ports = t ? portsOf(t, catalog, blocks) : []
      const out: DocEdge = { source: e.source, target: e.target }
      // A named output of a block with several (an LSTM's h_n); the default one needs no name.
      if (e.sourceHandle && e.sourceHandle !== OUT_HANDLE) out.source_port = e.sourceHandle
      // Single-input blocks need no port name; multi-input blocks name the port.
      if (e.targetHandle && ports.length > 1) out.target_port = e.targetHandle
      return out
    }),
  }
}

export function designToDoc(d: Design, catalog: Catalog): GraphDoc {
  const blocks: Record<string, BlockDef> = {}
  for (const [name, g] of Object.entries(d.blocks)) blocks[name] = { ...structuredClone(d.blockMeta?.[name] ?? {}), ...graphToDoc(g, catalog, d.blocks) }
  return { ...(d.extra ?? {}), version: 1, name: d.name, ...graphToDoc(d.root, catalog, d.blocks), blocks }
}
