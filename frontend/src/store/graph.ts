// The designer's graph model: React Flow nodes and edges with Blocklab data, the catalog lookups
// (ports, block definitions as blocks), edge ids, node ids and tied-weight links. The passes over
// it live beside it: docFlow.ts (document <-> flow), edits.ts, layout.ts, makeBlock.ts.
import type { Edge, Node } from '@xyflow/react'
import type { ArgSpec, BlockInfo, BlockRole, InitSpec, JsonSchema, Port } from '../api/types'

export type BlockNodeData = {
  type: string
  params: Record<string, unknown>
  init?: Record<string, InitSpec>
  trainable?: boolean
  shares?: string
  /** calls another node's module again (same scope, same type): no module or parameters of its own */
  calls?: string
  /** an instance repeated N times in a chain, each copy with its own parameters */
  repeat?: number
  /** inside a block: an expression over the block's arguments; when false the node passes its input through */
  when?: string
  /** unknown fields of the document node, kept so a round trip loses nothing */
  extra?: Record<string, unknown>
}
export type FlowNode = Node<BlockNodeData, 'block'>
export type FlowEdge = Edge
export type Graph = { nodes: FlowNode[]; edges: FlowEdge[] }
export type Catalog = Record<string, BlockInfo>
/** a block definition's arguments: name -> JSON-schema property (type, default, minimum, ...) */
export type ArgMap = Record<string, ArgSpec>
/** a block definition's fields besides its graph: `args`, and unknown ones kept for the round trip */
export type BlockMeta = { args?: ArgMap; [k: string]: unknown }

/** the palette group (and colour) of the blocks a design defines itself */
export const DESIGN_BLOCKS = 'blocks in this design'
export const ID_RE = /^[A-Za-z0-9_]+$/
export const OUT_HANDLE = 'out'
/** the two handles of a dashed "shares weights" link, drawn only on nodes at either end of one */
export const SHARE_SOURCE = 'share-s'
export const SHARE_TARGET = 'share-t'
export const COL_W = 220 // horizontal distance between siblings
export const ROW_H = 110 // vertical distance between layers

/**
 * The catalog entry for a type: a built-in block, or one derived from a block definition, whose
 * settings are the definition's arguments (so an instance gets the same generated form).
 */
export function blockInfo(type: string, catalog: Catalog, blocks: Record<string, Graph>, meta?: Record<string, BlockMeta>): BlockInfo | undefined {
  if (catalog[type]) return catalog[type]
  const def = blocks[type]
  if (!def) return undefined
  return {
    type,
    category: DESIGN_BLOCKS,
    doc: `Block: ${def.nodes.length} nodes`,
    params_schema: argsSchema(meta?.[type]?.args),
    role: 'layer',
    ports: blockPorts(def, catalog),
    parameters: [],
  }
}

/** The JSON schema of a block's arguments, as SchemaForm draws a built-in block's params. */
export function argsSchema(args: ArgMap | undefined): JsonSchema {
  return { type: 'object', properties: args ?? {} }
}

/** An argument expression in a block definition: a param value `{"expr": "units * 2"}`. */
export type Expr = { expr: string }
export function isExpr(v: unknown): v is Expr {
  return !!v && typeof v === 'object' && !Array.isArray(v) && typeof (v as Expr).expr === 'string' && Object.keys(v).length === 1
}

/** A block's role as the catalog gives it (undefined for unknown types and design blocks). */
export function roleOf(type: string, catalog: Catalog): BlockRole | undefined {
  return catalog[type]?.role
}

/** The catalog's block type for a role (a block definition's Input and Output nodes). */
export function typeWithRole(catalog: Catalog, role: BlockRole): string | undefined {
  return Object.values(catalog).find((b) => b.role === role)?.type
}

/** A composite block's input ports are its input-role nodes, left to right. */
export function blockPorts(def: Graph, catalog: Catalog): Port[] {
  return def.nodes
    .filter((n) => roleOf(n.data.type, catalog) === 'input')
    .sort((a, b) => a.position.x - b.position.x || a.id.localeCompare(b.id))
    .map((n) => ({ name: n.id, optional: false }))
}

/** Whether a block feeds anything (an output block ends the graph; the catalog's role says so). */
export function hasOutput(info: BlockInfo | undefined): boolean {
  return info?.role !== 'output'
}

export function portsOf(type: string, catalog: Catalog, blocks: Record<string, Graph>): Port[] {
  return blockInfo(type, catalog, blocks)?.ports ?? [{ name: 'x' }]
}

export function edgeId(source: string, target: string, port: string | null | undefined): string {
  return `${source}->${target}${port ? `:${port}` : ''}`
}

/** `output`: which of the source's named outputs (the document's source_port); none: its default output. */
export function makeEdge(source: string, target: string, port: string | null | undefined, output?: string | null): FlowEdge {
  return {
    id: edgeId(source, target, port),
    source,
    target,
    sourceHandle: output ?? OUT_HANDLE,
    targetHandle: port ?? null,
    type: 'shape',
  }
}

/** `blockMeta` holds each definition's arguments (and unknown definition fields), beside its graph in `blocks`. */
export type Design = { name: string; root: Graph; blocks: Record<string, Graph>; blockMeta?: Record<string, BlockMeta>; extra?: Record<string, unknown> }

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
