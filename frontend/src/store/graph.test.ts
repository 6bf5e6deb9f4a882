import { describe, expect, it } from 'vitest'
import type { ValidateResult } from '../api/types'
import { CATALOG, MLP, RESIDUAL } from './fixtures'
import { type Catalog, uniqueId } from './graph'
import { designToDoc, docToDesign } from './docFlow'
import { layoutGraph } from './layout'
import { makeBlock } from './makeBlock'
import { pasteClip, copySelection, renameNode } from './edits'
import { scopeView } from './validationView'

const catalog: Catalog = Object.fromEntries(CATALOG.map((b) => [b.type, b]))

describe('document conversion', () => {
  it('round-trips a document without losing anything', () => {
    const d = docToDesign(MLP, catalog)
    expect(d.root.nodes.map((n) => n.id)).toEqual(['X', 'hidden', 'act', 'out', 'Y'])
    expect(d.root.edges[0]).toMatchObject({ source: 'X', target: 'hidden', targetHandle: 'x', sourceHandle: 'out' })
    const back = designToDoc(d, catalog)
    expect(back).toEqual({ ...MLP, nodes: MLP.nodes.map((n) => ({ params: {}, ...n })) })
  })

  it('names ports only for multi-input blocks and keeps init/trainable/shares and unknown fields', () => {
    const doc = structuredClone(RESIDUAL)
    doc.nodes[1].color = 'red'
    doc.extra_top = 1
    const d = docToDesign(doc, catalog)
    const out = designToDoc(d, catalog)
    expect(out.nodes[1].color).toBe('red')
    expect(out.extra_top).toBe(1)
    expect(out.blocks.Residual.edges).toEqual(RESIDUAL.blocks.Residual.edges)
    expect(out.blocks.Residual.nodes[1]).toMatchObject({ init: { weight: { fn: 'normal', std: 0.01 } }, trainable: false })
    expect(out.edges).toEqual(RESIDUAL.edges) // one Input: no target_port on the instance edge
  })

  it('stretches designs drawn with too little room between layers', () => {
    const doc = structuredClone(MLP)
    doc.nodes.forEach((n, i) => (n.position = { x: 0, y: i * 90 }))
    const ys = docToDesign(doc, catalog).root.nodes.map((n) => n.position.y)
    expect(ys[1] - ys[0]).toBeGreaterThanOrEqual(105)
  })

  it('lays out documents that have no positions', () => {
    const d = docToDesign(RESIDUAL, catalog)
    const ys = d.root.nodes.map((n) => n.position.y)
    expect(ys[0]).toBeLessThan(ys[1])
    expect(ys[1]).toBeLessThan(ys[2])
  })
})

describe('helpers', () => {
  it('makes readable unique ids', () => {
    expect(uniqueId('linear', new Set())).toBe('linear1')
    expect(uniqueId('linear1', new Set(['linear1', 'linear2']))).toBe('linear3')
  })

  it('renames a node with its edges and shares', () => {
    const g = docToDesign(MLP, catalog).root
    g.nodes[3].data.shares = 'hidden'
    const r = renameNode(g, 'hidden', 'h')
    expect(r.nodes.map((n) => n.id)).toContain('h')
    expect(r.edges.filter((e) => e.source === 'h' || e.target === 'h')).toHaveLength(2)
    expect(r.nodes[3].data.shares).toBe('h')
  })

  it('layers the layout by depth', () => {
    const g = layoutGraph(docToDesign(MLP, catalog).root)
    const y = Object.fromEntries(g.nodes.map((n) => [n.id, n.position.y]))
    expect(y.X).toBeLessThan(y.hidden)
    expect(y.out).toBeLessThan(y.Y)
  })

  it('pastes copies with fresh ids and inner edges, remapping shares', () => {
    const g = docToDesign(MLP, catalog).root
    g.nodes = g.nodes.map((n) => ({ ...n, selected: n.id === 'hidden' || n.id === 'act' || n.id === 'out' }))
    g.nodes[3].data.shares = 'hidden'
    const clip = copySelection(g)!
    expect(clip.edges).toHaveLength(2)
    const p = pasteClip(g, clip)
    expect(p.nodes).toHaveLength(8)
    const pasted = p.nodes.filter((n) => n.selected)
    expect(pasted.map((n) => n.id)).toEqual(['hidden1', 'act1', 'out1'])
    expect(pasted[2].data.shares).toBe('hidden1')
    expect(p.edges.filter((e) => pasted.some((n) => n.id === e.source))).toHaveLength(2)
  })
})

describe('make block', () => {
  it('turns a selection into a definition and one instance', () => {
    const g = docToDesign(MLP, catalog).root
    g.nodes = g.nodes.map((n) => ({ ...n, selected: n.id === 'hidden' || n.id === 'act' }))
    const r = makeBlock(g, 'Hidden', catalog, {})
    if ('error' in r) throw new Error(r.error)
    expect(r.instanceId).toBe('hidden1')
    expect(r.graph.nodes.map((n) => n.id)).toEqual(['X', 'out', 'Y', 'hidden1'])
    expect(r.graph.edges.map((e) => `${e.source}>${e.target}`).sort()).toEqual(['X>hidden1', 'hidden1>out', 'out>Y'])
    expect(r.def.nodes.map((n) => `${n.id}:${n.data.type}`)).toEqual(['x:Input', 'hidden:Linear', 'act:ReLU', 'y:Output'])
    expect(r.def.edges.map((e) => `${e.source}>${e.target}`).sort()).toEqual(['act>y', 'hidden>act', 'x>hidden'])
    const doc = designToDoc({ name: 'm', root: r.graph, blocks: { Hidden: r.def } }, catalog)
    expect(doc.nodes.find((n) => n.id === 'hidden1')?.type).toBe('Hidden')
  })

  it('gives a block one Input per outside source, as named ports', () => {
    const g = docToDesign(RESIDUAL, catalog).blocks.Residual
    g.nodes = g.nodes.map((n) => ({ ...n, selected: n.id === 'add' }))
    const r = makeBlock(g, 'Adder', catalog, {})
    if ('error' in r) throw new Error(r.error)
    expect(r.def.nodes.filter((n) => n.data.type === 'Input')).toHaveLength(2)
    const inst = r.graph.edges.filter((e) => e.target === r.instanceId)
    expect(inst.map((e) => e.targetHandle).sort()).toEqual(['x1', 'x2'])
  })

  it('refuses selections with Input/Output or two exits', () => {
    const g = docToDesign(MLP, catalog).root
    g.nodes = g.nodes.map((n) => ({ ...n, selected: n.id === 'X' }))
    expect(makeBlock(g, 'B', catalog, {})).toHaveProperty('error')
  })
})

describe('scope view of the validation', () => {
  it('shows a block through its first instance', () => {
    const d = docToDesign(RESIDUAL, catalog)
    const raw: ValidateResult = {
      ok: false,
      total_params: 72,
      nodes: { X: { output_shape: [8], params: 0 }, r1: { output_shape: [8], params: 72, inner: { lin: { output_shape: [8], params: 72 } } } },
      errors: [{ node: 'r1', field: 'b', message: 'bad add', path: 'r1.add', block: 'Residual' }],
    }
    const v = scopeView(raw, d, ['Residual'])!
    expect(v.nodes.lin.output_shape).toEqual([8])
    expect(v.errors).toEqual([{ node: 'add', field: 'b', message: 'bad add', path: 'r1.add', block: 'Residual' }])
    expect(scopeView(raw, d, [])).toBe(raw)
  })
})

describe('compact JSON', async () => {
  const { compactJson } = await import('../forms/SchemaForm')
  it('keeps number lists on one line', () => {
    expect(compactJson({ w: { shape: [20, 20], init: 'rand' } })).toBe('{\n  "w": {\n    "shape": [20, 20],\n    "init": "rand"\n  }\n}')
    expect(JSON.parse(compactJson({ a: [1.5, -2e-3], b: [] }))).toEqual({ a: [1.5, -2e-3], b: [] })
  })
})
