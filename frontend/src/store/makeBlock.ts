// Make block: the selected nodes become a block definition, replaced by one instance node.
import { type Catalog, type FlowEdge, type FlowNode, type Graph, COL_W, OUT_HANDLE, ROW_H, baseIdFor, makeEdge, portsOf, roleOf, typeWithRole, uniqueId } from './graph'

export type MakeBlockResult = { graph: Graph; def: Graph; instanceId: string } | { error: string }

/**
 * Turn the selected nodes into a block definition and replace them with one instance node.
 * Each distinct outside source feeding the selection becomes an Input node of the block;
 * the single inner node that feeds the outside (or the selection's only sink) feeds its Output.
 */
export function makeBlock(g: Graph, name: string, catalog: Catalog, blocks: Record<string, Graph>): MakeBlockResult {
  const inside = g.nodes.filter((n) => n.selected)
  if (!inside.length) return { error: 'Select the nodes to put into the block first.' }
  const ends = inside.filter((n) => ['input', 'output'].includes(roleOf(n.data.type, catalog) ?? ''))
  if (ends.length) return { error: `Input and output nodes stay outside a block: leave ${ends.map((n) => n.id).join(', ')} out of the selection.` }
  const inputType = typeWithRole(catalog, 'input')
  const outputType = typeWithRole(catalog, 'output')
  if (!inputType || !outputType) return { error: 'The catalog has no input or output block to build a block with.' }
  const ids = new Set(inside.map((n) => n.id))
  const incoming = g.edges.filter((e) => !ids.has(e.source) && ids.has(e.target))
  const outgoing = g.edges.filter((e) => ids.has(e.source) && !ids.has(e.target))
  const internal = g.edges.filter((e) => ids.has(e.source) && ids.has(e.target))

  // a wire's source end: the node and which of its outputs (an LSTM's h_n) it takes
  const end = (e: FlowEdge) => `${e.source}\0${e.sourceHandle ?? OUT_HANDLE}`
  const outs = [...new Map(outgoing.map((e) => [end(e), e])).values()]
  let exits = outs.map((e) => (e.sourceHandle && e.sourceHandle !== OUT_HANDLE ? `${e.source}.${e.sourceHandle}` : e.source))
  if (!exits.length) {
    const hasInnerSucc = new Set(internal.map((e) => e.source))
    exits = inside.filter((n) => !hasInnerSucc.has(n.id)).map((n) => n.id)
  }
  if (exits.length !== 1)
    return { error: `A block has one output, but ${exits.length} selected nodes feed the rest of the graph (${exits.join(', ')}).` }
  const exit = outs[0]?.source ?? exits[0]
  const exitHandle = outs[0]?.sourceHandle
  const minX = Math.min(...inside.map((n) => n.position.x))
  const maxX = Math.max(...inside.map((n) => n.position.x))
  const minY = Math.min(...inside.map((n) => n.position.y))
  const maxY = Math.max(...inside.map((n) => n.position.y))

  // One block Input per distinct outside source (and output of it), in left-to-right order.
  const innerTaken = new Set(ids)
  const x = (id: string) => g.nodes.find((n) => n.id === id)?.position.x ?? 0
  const feeds = [...new Map(incoming.map((e) => [end(e), e])).values()].sort((a, b) => x(a.source) - x(b.source))
  const sources = feeds.map(end)
  const inputFor = new Map<string, string>()
  const inputNodes: FlowNode[] = sources.map((s, i) => {
    const want = sources.length === 1 ? 'x' : `x${i + 1}`
    const id = innerTaken.has(want) ? uniqueId(`in${i + 1}`, innerTaken) : want
    innerTaken.add(id)
    inputFor.set(s, id)
    return { id, type: 'block', position: { x: minX + i * COL_W, y: minY - ROW_H }, data: { type: inputType, params: {} } }
  })
  const outId = innerTaken.has('y') ? uniqueId('out1', innerTaken) : 'y'
  const outputNode: FlowNode = { id: outId, type: 'block', position: { x: (minX + maxX) / 2, y: maxY + ROW_H }, data: { type: outputType, params: {} } }

  const defNodes: FlowNode[] = [...inputNodes, ...inside.map((n) => ({ ...structuredClone(n), selected: false })), outputNode]
  const defEdges: FlowEdge[] = [
    ...internal.map((e) => ({ ...e, selected: false })),
    ...incoming.map((e) => makeEdge(inputFor.get(end(e))!, e.target, e.targetHandle)),
    makeEdge(exit, outId, 'x', exitHandle),
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
    ...feeds.map((e) => makeEdge(e.source, instanceId, ports.length ? inputFor.get(end(e))! : null, e.sourceHandle)),
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
