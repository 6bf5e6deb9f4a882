// Node placement: a layered top-to-bottom layout, and stretching designs drawn for smaller nodes.
import { COL_W, ROW_H, type FlowNode, type Graph } from './graph'

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
