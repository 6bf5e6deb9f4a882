// Pure graph helpers: document <-> React Flow conversion, ids, make-block, layout, paste.
// Nothing here judges whether a graph is valid: that is the server's job.
import type { Edge, Node } from '@xyflow/react'
import type { BlockDef, BlockInfo, DocEdge, DocNode, GraphDoc, InitSpec, NodeInfo, Port, ValidateResult, ValidationError } from '../api/types'

export type BlockNodeData = {
  type: string
  params: Record<string, unknown>
  init?: Record<string, InitSpec>
  trainable?: boolean
  shares?: string
  /** unknown fields of the document node, kept so a round trip loses nothing */
  extra?: Record<string, unknown>
}
export type FlowNode = Node<BlockNodeData, 'block'>
export type FlowEdge = Edge
export type Graph = { nodes: FlowNode[]; edges: FlowEdge[] }
export type Catalog = Record<string, BlockInfo>

export const ID_RE = /^[A-Za-z0-9_]+$/
export const OUT_HANDLE = 'out'
/** the two handles of a dashed "shares weights" link, drawn only on nodes at either end of one */
export const SHARE_SOURCE = 'share-s'
export const SHARE_TARGET = 'share-t'
const COL_W = 220 // horizontal distance between siblings
const ROW_H = 110 // vertical distance between layers

/** The catalog entry for a type: a built-in block, or one derived from a block definition. */
export function blockInfo(type: string, catalog: Catalog, blocks: Record<string, Graph>): BlockInfo | undefined {
  if (catalog[type]) return catalog[type]
  const def = blocks[type]
  if (!def) return undefined
  return {
    type,
    category: 'custom',
    doc: `Block: ${def.nodes.length} nodes`,
    params_schema: { type: 'object', properties: {} },
    ports: blockPorts(def),
    parameters: [],
  }
}

/** A composite block's input ports are its Input nodes, left to right. */
export function blockPorts(def: Graph): Port[] {
  return def.nodes
    .filter((n) => n.data.type === 'Input')
    .sort((a, b) => a.position.x - b.position.x || a.id.localeCompare(b.id))
    .map((n) => ({ name: n.id, optional: false }))
}

export function portsOf(type: string, catalog: Catalog, blocks: Record<string, Graph>): Port[] {
  return blockInfo(type, catalog, blocks)?.ports ?? [{ name: 'x' }]
}

export function edgeId(source: string, target: string, port: string | null | undefined): string {
  return `${source}->${target}${port ? `:${port}` : ''}`
}

export function makeEdge(source: string, target: string, port: string | null | undefined): FlowEdge {
  return {
    id: edgeId(source, target, port),
    source,
    target,
    sourceHandle: OUT_HANDLE,
    targetHandle: port ?? null,
    type: 'shape',
  }
}

// ---------------------------------------------------------------- document -> flow

function nodeFromDoc(n: DocNode, i: number): FlowNode {
  const { id, type, params, shares, init, trainable, position, ...extra } = n
  const data: BlockNodeData = { type, params: { ...(params ?? {}) } }
  if (init && Object.keys(init).length) data.init = structuredClone(init)
  if (trainable === false) data.trainable = false
  if (shares) data.shares = shares
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
    return makeEdge(e.source, e.target, port)
  })
  const g = { nodes: flowNodes, edges: flowEdges }
  return nodes.some((n) => !n.position) ? layoutGraph(g) : spreadIfCrowded(g)
}

/** Designs drawn for smaller nodes (e.g. 90 px between layers) get stretched vertically to fit shape labels. */
export function spreadIfCrowded(g: Graph, want = ROW_H): Graph {
  const y = new Map(g.nodes.map((n) => [n.id, n.position.y]))
  const gaps = g.edges
    .map((e) => (y.get(e.target) ?? 0) - (y.get(e.source) ?? 0))
    .filter((d) => d > 0)
    .sort((a, b) => a - b)
  if (!gaps.length) return g
  const median = gaps[Math.floor(gaps.length / 2)]
  if (median >= want - 5) return g
  const f = want / median
  const top = Math.min(...g.nodes.map((n) => n.position.y))
  return { ...g, nodes: g.nodes.map((n) => ({ ...n, position: { x: n.position.x, y: Math.round(top + (n.position.y - top) * f) } })) }
}

export type Design = { name: string; root: Graph; blocks: Record<string, Graph>; extra?: Record<string, unknown> }

export function docToDesign(doc: GraphDoc, catalog: Catalog): Design {
  const { version: _v, name, nodes, edges, blocks, ...extra } = doc
  // Block ports depend on block definitions, so convert blocks first (their Input nodes need no ports).
  const blockGraphs: Record<string, Graph> = {}
  const rawBlocks = blocks ?? {}
  const portsFor = (t: string): Port[] => {
    if (catalog[t]) return catalog[t].ports
    const def = rawBlocks[t]
    if (def) {
      return def.nodes
        .filter((n) => n.type === 'Input')
        .sort((a, b) => (a.position?.x ?? 0) - (b.position?.x ?? 0) || a.id.localeCompare(b.id))
        .map((n) => ({ name: n.id }))
    }
    return [{ name: 'x' }]
  }
  for (const [bname, def] of Object.entries(rawBlocks)) blockGraphs[bname] = graphFromDoc(def.nodes ?? [], def.edges ?? [], portsFor)
  return {
    name: name ?? 'Untitled',
    root: graphFromDoc(nodes ?? [], edges ?? [], portsFor),
    blocks: blockGraphs,
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
      // Single-input blocks need no port name; multi-input blocks name the port.
      if (e.targetHandle && ports.length > 1) out.target_port = e.targetHandle
      return out
    }),
  }
}

export function designToDoc(d: Design, catalog: Catalog): GraphDoc {
  const blocks: Record<string, BlockDef> = {}
  for (const [name, g] of Object.entries(d.blocks)) blocks[name] = graphToDoc(g, catalog, d.blocks)
  return { ...(d.extra ?? {}), version: 1, name: d.name, ...graphToDoc(d.root, catalog, d.blocks), blocks }
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

// ---------------------------------------------------------------- ids

export function baseIdFor(type: string): string {
  const s = type.replace(/[^A-Za-z0-9_]/g, '').toLowerCase()
  return s || 'node'
}

export function uniqueId(base: string, taken: Set<string>): string {
  const b = base.replace(/[^A-Za-z0-9_]/g, '_') || 'node'
  const stem = b.replace(/\d+$/, '')
  for (let i = 1; ; i++) {
    const id = `${stem}${i}`
    if (!taken.has(id)) return id
  }
}

// ---------------------------------------------------------------- layout

/** Layered top-to-bottom layout: layer = longest path from a source; siblings keep their left-to-right order. */
export function layoutGraph(g: Graph): Graph {
  const ids = g.nodes.map((n) => n.id)
  const preds = new Map<string, string[]>(ids.map((id) => [id, []]))
  for (const e of g.edges) if (preds.has(e.target) && preds.has(e.source)) preds.get(e.target)!.push(e.source)
  const depth = new Map<string, number>()
  const visiting = new Set<string>()
  const depthOf = (id: string): number => {
    if (depth.has(id)) return depth.get(id)!
    if (visiting.has(id)) return 0 // a cycle: the server reports it
    visiting.add(id)
    const d = Math.max(-1, ...preds.get(id)!.map(depthOf)) + 1
    visiting.delete(id)
    depth.set(id, d)
    return d
  }
  ids.forEach(depthOf)
  const layers = new Map<number, FlowNode[]>()
  for (const n of g.nodes) {
    const d = depth.get(n.id)!
    if (!layers.has(d)) layers.set(d, [])
    layers.get(d)!.push(n)
  }
  const pos = new Map<string, { x: number; y: number }>()
  const widest = Math.max(1, ...[...layers.values()].map((c) => c.length))
  for (const [d, layer] of layers) {
    layer.sort((a, b) => a.position.x - b.position.x || a.id.localeCompare(b.id))
    const offset = ((widest - layer.length) * COL_W) / 2
    layer.forEach((n, i) => pos.set(n.id, { x: offset + i * COL_W, y: d * ROW_H }))
  }
  return { ...g, nodes: g.nodes.map((n) => ({ ...n, position: pos.get(n.id)! })) }
}

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
    return {
      id: rename.get(n.id)!,
      type: 'block',
      position: { x: n.position.x + offset.x, y: n.position.y + offset.y },
      data,
      selected: true,
    }
  })
  const edges = clip.edges.map((e) => ({ ...makeEdge(rename.get(e.source)!, rename.get(e.target)!, e.targetHandle), selected: false }))
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
      if (n.id !== from && shares === n.data.shares) return n
      return { ...n, id: r(n.id), data: { ...n.data, shares } }
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
      .map((n) => (n.data.shares && gone.has(n.data.shares) ? { ...n, data: { ...n.data, shares: undefined } } : n)),
    edges: g.edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target)),
  }
}

// ---------------------------------------------------------------- make block

export type MakeBlockResult = { graph: Graph; def: Graph; instanceId: string } | { error: string }

/**
 * Turn the selected nodes into a block definition and replace them with one instance node.
 * Each distinct outside source feeding the selection becomes an Input node of the block;
 * the single inner node that feeds the outside (or the selection's only sink) feeds its Output.
 */
export function makeBlock(g: Graph, name: string, catalog: Catalog, blocks: Record<string, Graph>): MakeBlockResult {
  const inside = g.nodes.filter((n) => n.selected)
  if (!inside.length) return { error: 'Select the nodes to put into the block first.' }
  if (inside.some((n) => n.data.type === 'Input' || n.data.type === 'Output'))
    return { error: 'Input and Output nodes stay outside a block: leave them out of the selection.' }
  const ids = new Set(inside.map((n) => n.id))
  const incoming = g.edges.filter((e) => !ids.has(e.source) && ids.has(e.target))
  const outgoing = g.edges.filter((e) => ids.has(e.source) && !ids.has(e.target))
  const internal = g.edges.filter((e) => ids.has(e.source) && ids.has(e.target))

  let exits = [...new Set(outgoing.map((e) => e.source))]
  if (!exits.length) {
    const hasInnerSucc = new Set(internal.map((e) => e.source))
    exits = inside.filter((n) => !hasInnerSucc.has(n.id)).map((n) => n.id)
  }
  if (exits.length !== 1)
    return { error: `A block has one output, but ${exits.length} selected nodes feed the rest of the graph (${exits.join(', ')}).` }
  const exit = exits[0]

  const minX = Math.min(...inside.map((n) => n.position.x))
  const maxX = Math.max(...inside.map((n) => n.position.x))
  const minY = Math.min(...inside.map((n) => n.position.y))
  const maxY = Math.max(...inside.map((n) => n.position.y))

  // One block Input per distinct outside source, in left-to-right order.
  const innerTaken = new Set(ids)
  const sources = [...new Set(incoming.map((e) => e.source))].sort((a, b) => {
    const pa = g.nodes.find((n) => n.id === a)?.position.x ?? 0
    const pb = g.nodes.find((n) => n.id === b)?.position.x ?? 0
    return pa - pb
  })
  const inputFor = new Map<string, string>()
  const inputNodes: FlowNode[] = sources.map((s, i) => {
    const want = sources.length === 1 ? 'x' : `x${i + 1}`
    const id = innerTaken.has(want) ? uniqueId(`in${i + 1}`, innerTaken) : want
    innerTaken.add(id)
    inputFor.set(s, id)
    return { id, type: 'block', position: { x: minX + i * COL_W, y: minY - ROW_H }, data: { type: 'Input', params: {} } }
  })
  const outId = innerTaken.has('y') ? uniqueId('out1', innerTaken) : 'y'
  const outputNode: FlowNode = { id: outId, type: 'block', position: { x: (minX + maxX) / 2, y: maxY + ROW_H }, data: { type: 'Output', params: {} } }

  const defNodes: FlowNode[] = [...inputNodes, ...inside.map((n) => ({ ...structuredClone(n), selected: false })), outputNode]
  const defEdges: FlowEdge[] = [
    ...internal.map((e) => ({ ...e, selected: false })),
    ...incoming.map((e) => makeEdge(inputFor.get(e.source)!, e.target, e.targetHandle)),
    makeEdge(exit, outId, 'x'),
  ]
  const def: Graph = { nodes: defNodes, edges: dedupeEdges(defEdges) }

  const outerTaken = new Set(g.nodes.filter((n) => !ids.has(n.id)).map((n) => n.id))
  const instanceId = uniqueId(baseIdFor(name), outerTaken)
  const instance: FlowNode = {
    id: instanceId,
    type: 'block',
    position: { x: (minX + maxX) / 2, y: (minY + maxY) / 2 },
    data: { type: name, params: {} },
    selected: true,
  }
  const nextBlocks = { ...blocks, [name]: def }
  const ports = portsOf(name, catalog, nextBlocks)
  const newEdges: FlowEdge[] = [
    ...sources.map((s) => makeEdge(s, instanceId, ports.length ? inputFor.get(s)! : null)),
    ...outgoing.map((e) => makeEdge(instanceId, e.target, e.targetHandle)),
  ]
  return {
    graph: {
      nodes: [...g.nodes.filter((n) => !ids.has(n.id)).map((n) => (n.selected ? { ...n, selected: false } : n)), instance],
      edges: dedupeEdges([...g.edges.filter((e) => !ids.has(e.source) && !ids.has(e.target)), ...newEdges]),
    },
    def,
    instanceId,
  }
}

function dedupeEdges(edges: FlowEdge[]): FlowEdge[] {
  const seen = new Set<string>()
  return edges.filter((e) => (seen.has(e.id) ? false : (seen.add(e.id), true)))
}

/** Block names a block (transitively) uses; used to refuse putting a block inside itself. */
export function blockUses(name: string, blocks: Record<string, Graph>, seen = new Set<string>()): Set<string> {
  for (const n of blocks[name]?.nodes ?? []) {
    const t = n.data.type
    if (blocks[t] && !seen.has(t)) {
      seen.add(t)
      blockUses(t, blocks, seen)
    }
  }
  return seen
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
      if (x !== y && (x.id !== y.id || x.source !== y.source || x.target !== y.target || x.targetHandle !== y.targetHandle)) return false
    }
  return true
}

/**
 * Whether two designs differ only in node positions, sizes or selection (what a drag, a click or a
 * box selection changes), by reference checks: nothing the server validates has changed then.
 */
export function sameDesignIgnoringLayout(a: Design, b: Design): boolean {
  if (a === b) return true
  if (a.name !== b.name || a.extra !== b.extra) return false
  if (!sameGraphIgnoringLayout(a.root, b.root)) return false
  if (a.blocks === b.blocks) return true
  const ka = Object.keys(a.blocks)
  if (ka.length !== Object.keys(b.blocks).length) return false
  return ka.every((k) => b.blocks[k] !== undefined && sameGraphIgnoringLayout(a.blocks[k], b.blocks[k]))
}

/**
 * Tied weights of a graph: `key` lists the drawn share links ("from\0to" per line, '' for none) and
 * `ids` holds every node at either end of one. A link is drawn when `shares` names another node of
 * the same graph. Built once per node list (cached on the array), so hundreds of nodes can each ask
 * "am I in a share link?" on every store update (a drag move included) for the cost of one lookup.
 */
export type ShareLinks = { key: string; ids: ReadonlySet<string> }
const shareCache = new WeakMap<readonly FlowNode[], ShareLinks>()
const NO_LINKS: ShareLinks = { key: '', ids: new Set() }

export function shareLinks(nodes: readonly FlowNode[]): ShareLinks {
  let links = shareCache.get(nodes)
  if (!links) {
    let all: Set<string> | null = null
    const lines: string[] = []
    const ids = new Set<string>()
    for (const n of nodes) {
      const to = n.data.shares
      if (!to || to === n.id) continue
      all ??= new Set(nodes.map((m) => m.id))
      if (!all.has(to)) continue
      lines.push(`${n.id}\u0000${to}`)
      ids.add(n.id)
      ids.add(to)
    }
    links = lines.length ? { key: lines.join('\n'), ids } : NO_LINKS
    shareCache.set(nodes, links)
  }
  return links
}
