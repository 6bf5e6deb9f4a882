import { readFileSync } from 'node:fs'
import { beforeEach, describe, expect, it } from 'vitest'
import type { DocNode, GraphDoc, Template } from '../api/types'
import { CATALOG } from './fixtures'
import { addArg, argRefs, exprNames, removeArg, renameArg, renameInExpr, setArgSpec, type DesignEdit } from './blockArgs'
import { currentDoc, currentGraph, useDesigner } from './designer'
import { designToDoc, docToDesign } from './docFlow'
import { deleteSelection, renameNode } from './edits'
import { blockInfo, type Catalog, type Design } from './graph'

const S = () => useDesigner.getState()
const catalog: Catalog = Object.fromEntries(CATALOG.map((b) => [b.type, b]))

// Dense(units, use_bias): fc = Linear(out_features=units * 2, bias=use_bias), act only when units > 8
const DENSE: GraphDoc = {
  version: 1,
  name: 'dense',
  nodes: [
    { id: 'X', type: 'Input', params: { shape: [8] } },
    { id: 'd1', type: 'Dense', params: { units: 16 } },
    { id: 'd2', type: 'Dense', params: { units: 32, use_bias: false }, repeat: 2 },
    { id: 'Y', type: 'Output' },
  ],
  edges: [
    { source: 'X', target: 'd1' },
    { source: 'd1', target: 'd2' },
    { source: 'd2', target: 'Y' },
  ],
  blocks: {
    Dense: {
      args: { units: { type: 'integer', default: 64, minimum: 1 }, use_bias: { type: 'boolean', default: true } },
      nodes: [
        { id: 'x', type: 'Input' },
        { id: 'fc', type: 'Linear', params: { out_features: { expr: 'units * 2' }, bias: { expr: 'use_bias' } } },
        { id: 'act', type: 'ReLU', when: "units > 8 and x.units != 'units'" },
        { id: 'again', type: 'ReLU', calls: 'act' },
        { id: 'y', type: 'Output' },
      ],
      edges: [
        { source: 'x', target: 'fc' },
        { source: 'fc', target: 'act' },
        { source: 'act', target: 'again' },
        { source: 'again', target: 'y' },
      ],
    },
  },
}

const design = (): Design => docToDesign(DENSE, catalog)
const ok = (r: DesignEdit): Design => {
  if ('error' in r) throw new Error(r.error)
  return r.design
}
const params = (d: Design, id: string) => d.root.nodes.find((n) => n.id === id)!.data.params
const inner = (d: Design, id: string) => d.blocks.Dense.nodes.find((n) => n.id === id)!.data

describe('block arguments', () => {
  it('round-trips args, expressions, when, repeat and calls through the document', () => {
    const doc = designToDoc(design(), catalog)
    expect(doc.blocks.Dense.args).toEqual(DENSE.blocks.Dense.args)
    const fc = doc.blocks.Dense.nodes.find((n) => n.id === 'fc')!
    expect(fc.params).toEqual({ out_features: { expr: 'units * 2' }, bias: { expr: 'use_bias' } })
    expect(doc.blocks.Dense.nodes.find((n) => n.id === 'act')!.when).toBe(DENSE.blocks.Dense.nodes[2].when)
    expect(doc.blocks.Dense.nodes.find((n) => n.id === 'again')!.calls).toBe('act')
    expect(doc.nodes.find((n) => n.id === 'd2')!.repeat).toBe(2)
  })

  it('keeps every template\'s arguments, expressions, when, repeat and calls through the designer', () => {
    const templates: Template[] = JSON.parse(readFileSync(new URL('../api/fixtures/templates.json', import.meta.url), 'utf8'))
    const withArgs = templates.filter((t) => Object.values(t.graph.blocks ?? {}).some((b) => b.args))
    expect(withArgs.length).toBeGreaterThan(0) // the server's own designs that use block arguments
    const plain = (nodes: DocNode[]) => nodes.map(({ position: _p, ...n }) => ({ params: {}, ...n }))
    for (const t of templates) {
      const back = designToDoc(docToDesign(t.graph, catalog), catalog)
      expect(plain(back.nodes)).toEqual(plain(t.graph.nodes))
      for (const [name, b] of Object.entries(t.graph.blocks ?? {})) {
        expect(back.blocks[name].args).toEqual(b.args)
        expect(plain(back.blocks[name].nodes)).toEqual(plain(b.nodes))
      }
    }
  })

  it('gives an instance the same generated form as a built-in block: its definition\'s arguments', () => {
    const d = design()
    expect(blockInfo('Dense', catalog, d.blocks, d.blockMeta)!.params_schema).toEqual({ type: 'object', properties: DENSE.blocks.Dense.args })
  })

  it('reads names in expressions, not attributes or strings', () => {
    expect([...exprNames("units > 8 and x.units != 'units'")]).toEqual(['units', 'x'])
    expect(renameInExpr("units > 8 and x.units != 'units'", 'units', 'width')).toBe("width > 8 and x.units != 'units'")
    expect(renameInExpr('2*units+1e3', 'units', 'w')).toBe('2*w+1e3')
  })

  it('renames an argument in every instance and every expression', () => {
    const d = ok(renameArg(design(), 'Dense', 'units', 'width'))
    expect(Object.keys(d.blockMeta!.Dense.args!)).toEqual(['width', 'use_bias'])
    expect(params(d, 'd1')).toEqual({ width: 16 })
    expect(params(d, 'd2')).toEqual({ width: 32, use_bias: false })
    expect(inner(d, 'fc').params.out_features).toEqual({ expr: 'width * 2' })
    expect(inner(d, 'fc').params.bias).toEqual({ expr: 'use_bias' })
    expect(inner(d, 'act').when).toBe("width > 8 and x.units != 'units'")
    const doc = designToDoc(d, catalog)
    expect(doc.blocks.Dense.args).toHaveProperty('width.default', 64)
  })

  it('refuses names that clash or are not identifiers', () => {
    expect(renameArg(design(), 'Dense', 'units', 'use_bias')).toEqual({ error: 'Block Dense already has an argument use_bias.' })
    expect(renameArg(design(), 'Dense', 'units', '2x')).toHaveProperty('error')
    expect(addArg(design(), 'Dense', 'lambda')).toHaveProperty('error', 'lambda is a Python word; pick another name.')
    expect(addArg(design(), 'Nope', 'a')).toHaveProperty('error')
  })

  it('adds an argument with a default; instances leave it out', () => {
    const d = ok(addArg(design(), 'Dense', 'depth'))
    expect(d.blockMeta!.Dense.args!.depth).toEqual({ type: 'integer', default: 1, minimum: 1 })
    expect(params(d, 'd1')).toEqual({ units: 16 })
    const d2 = ok(setArgSpec(d, 'Dense', 'depth', { type: 'integer', default: 3, minimum: 1, maximum: 8 }))
    expect(designToDoc(d2, catalog).blocks.Dense.args!.depth).toEqual({ type: 'integer', default: 3, minimum: 1, maximum: 8 })
  })

  it('changing an argument type drops the instance values the new type cannot hold', () => {
    // units: integer -> number keeps 16 and 32; -> string drops both (the instances take the default)
    const num = ok(setArgSpec(design(), 'Dense', 'units', { type: 'number', default: 64.0 }))
    expect([params(num, 'd1'), params(num, 'd2')]).toEqual([{ units: 16 }, { units: 32, use_bias: false }])
    const str = ok(setArgSpec(design(), 'Dense', 'units', { type: 'string', default: 'wide', enum: ['wide', 'narrow'] }))
    expect([params(str, 'd1'), params(str, 'd2')]).toEqual([{}, { use_bias: false }])
    // a number argument narrowed to integers keeps whole values only
    const frac = ok(setArgSpec({ ...num, root: { ...num.root, nodes: num.root.nodes.map((n) => (n.id === 'd1' ? { ...n, data: { ...n.data, params: { units: 2.5 } } } : n)) } }, 'Dense', 'units', { type: 'integer', default: 4 }))
    expect([params(frac, 'd1'), params(frac, 'd2')]).toEqual([{}, { units: 32, use_bias: false }])
  })

  it('refuses to remove an argument an expression still names, and says where', () => {
    const r = removeArg(design(), 'Dense', 'units')
    expect(r).toEqual({ error: 'units is still used by fc.params.out_features, act.when: bind those to values first.' })
    expect(argRefs(design(), 'Dense', 'use_bias')).toEqual([{ node: 'fc', field: 'params.bias', expr: 'use_bias' }])
  })

  it('removes an unused argument and every instance\'s value for it', () => {
    let d = design()
    d = { ...d, blocks: { ...d.blocks, Dense: { ...d.blocks.Dense, nodes: d.blocks.Dense.nodes.map((n) => (n.id === 'fc' ? { ...n, data: { ...n.data, params: { out_features: { expr: 'units * 2' } } } } : n)) } } }
    d = ok(removeArg(d, 'Dense', 'use_bias'))
    expect(Object.keys(d.blockMeta!.Dense.args!)).toEqual(['units'])
    expect(params(d, 'd2')).toEqual({ units: 32 })
  })

  it('keeps calls pointing at the right node through a rename and drops it when that node goes', () => {
    const def = design().blocks.Dense
    expect(renameNode(def, 'act', 'relu').nodes.find((n) => n.id === 'again')!.data.calls).toBe('relu')
    const sel = { ...def, nodes: def.nodes.map((n) => ({ ...n, selected: n.id === 'act' })) }
    expect(deleteSelection(sel).nodes.find((n) => n.id === 'again')!.data.calls).toBeUndefined()
  })
})

describe('argument edits in the designer store', () => {
  beforeEach(() => {
    S().setCatalog(CATALOG)
    S().newDesign()
    S().loadDoc(DENSE)
  })

  it('is one undo step each, and undo/redo restores instances and expressions', () => {
    expect(S().editDesign((d) => renameArg(d, 'Dense', 'units', 'width'))).toBeNull()
    expect(currentDoc(S()).nodes.find((n) => n.id === 'd1')!.params).toEqual({ width: 16 })
    S().undo()
    expect(currentDoc(S()).nodes.find((n) => n.id === 'd1')!.params).toEqual({ units: 16 })
    expect(currentDoc(S()).blocks.Dense.nodes.find((n) => n.id === 'fc')!.params!.out_features).toEqual({ expr: 'units * 2' })
    S().redo()
    expect(currentDoc(S()).blocks.Dense.args).toHaveProperty('width')
  })

  it('changes nothing and records no step when an edit is refused', () => {
    const before = S().past.length
    expect(S().editDesign((d) => removeArg(d, 'Dense', 'units'))).toMatch(/still used by fc/)
    expect(S().past.length).toBe(before)
  })

  it('deleting an unused definition drops its arguments too', () => {
    S().selectAll()
    S().deleteSelected()
    expect(S().deleteBlockDef('Dense')).toBeNull()
    expect(currentDoc(S()).blocks).toEqual({})
    expect(S().design.blockMeta?.Dense).toBeUndefined()
    expect(currentGraph(S()).nodes).toHaveLength(0)
  })
})
