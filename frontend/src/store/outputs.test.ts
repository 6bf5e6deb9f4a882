// Edges from a named output (an LSTM's h_n and c_n): the document's source_port is the edge's
// source handle, and every edit that re-creates edges (paste, make block, connect) keeps it.
import { beforeEach, describe, expect, it } from 'vitest'
import type { GraphDoc } from '../api/types'
import { CATALOG } from './fixtures'
import { type Catalog } from './graph'
import { designToDoc, docToDesign } from './docFlow'
import { copySelection, pasteClip } from './edits'
import { makeBlock } from './makeBlock'
import { currentDoc, currentGraph, useDesigner } from './designer'

const catalog: Catalog = Object.fromEntries(CATALOG.map((b) => [b.type, b]))
const S = () => useDesigner.getState()

const SEQ2SEQ: GraphDoc = {
  version: 1,
  name: 'lstm seq2seq',
  nodes: [
    { id: 'src', type: 'Input', params: { shape: [5, 7] }, position: { x: 0, y: 0 } },
    { id: 'tgt', type: 'Input', params: { shape: [4, 6] }, position: { x: 300, y: 0 } },
    { id: 'enc', type: 'LSTM', params: { hidden_size: 8 }, position: { x: 0, y: 120 } },
    { id: 'dec', type: 'LSTM', params: { hidden_size: 8 }, position: { x: 300, y: 240 } },
    { id: 'Y', type: 'Output', params: {}, position: { x: 300, y: 360 } },
  ],
  edges: [
    { source: 'src', target: 'enc', target_port: 'x' },
    { source: 'tgt', target: 'dec', target_port: 'x' },
    { source: 'enc', source_port: 'h_n', target: 'dec', target_port: 'h0' },
    { source: 'enc', source_port: 'c_n', target: 'dec', target_port: 'c0' },
    { source: 'dec', target: 'Y' },
  ],
  blocks: {},
}

describe('named outputs', () => {
  beforeEach(() => {
    S().setCatalog(CATALOG)
    S().newDesign()
  })

  it('the catalog lists an LSTM outputs and the param picking the default', () => {
    expect(catalog.LSTM.outputs).toEqual(['sequence', 'h_n', 'c_n'])
    expect(catalog.LSTM.output_param).toBe('returns')
    expect(catalog.Linear.outputs ?? []).toEqual([])
  })

  it('round-trips source_port as the edge source handle, and leaves it out for the default output', () => {
    const d = docToDesign(SEQ2SEQ, catalog)
    const h = d.root.edges.find((e) => e.targetHandle === 'h0')!
    expect(h).toMatchObject({ source: 'enc', sourceHandle: 'h_n', target: 'dec' })
    expect(d.root.edges.find((e) => e.target === 'Y')!.sourceHandle).toBe('out')
    const back = designToDoc(d, catalog)
    expect(back.edges).toEqual(SEQ2SEQ.edges)
  })

  it('pastes a copy keeping which output each wire takes', () => {
    const d = docToDesign(SEQ2SEQ, catalog)
    const g = { ...d.root, nodes: d.root.nodes.map((n) => ({ ...n, selected: n.id === 'enc' || n.id === 'dec' })) }
    const pasted = pasteClip(g, copySelection(g)!)
    const fresh = pasted.edges.filter((e) => !g.edges.some((x) => x.id === e.id))
    expect(fresh.map((e) => [e.source, e.sourceHandle, e.targetHandle]).sort()).toEqual([
      ['enc1', 'c_n', 'c0'],
      ['enc1', 'h_n', 'h0'],
    ])
  })

  it('makes a block whose Inputs are the outside outputs it takes, each wired from its handle', () => {
    const d = docToDesign(SEQ2SEQ, catalog)
    const g = { ...d.root, nodes: d.root.nodes.map((n) => ({ ...n, selected: n.id === 'dec' })) }
    const r = makeBlock(g, 'Decoder', catalog, {})
    if ('error' in r) throw new Error(r.error)
    const into = r.graph.edges.filter((e) => e.target === r.instanceId)
    expect(into.map((e) => [e.source, e.sourceHandle]).sort()).toEqual([
      ['enc', 'c_n'],
      ['enc', 'h_n'],
      ['tgt', 'out'],
    ])
    // inside, each Input feeds the port the outside wire fed
    const inner = r.def.edges.filter((e) => e.target === 'dec').map((e) => e.targetHandle).sort()
    expect(inner).toEqual(['c0', 'h0', 'x'])
  })

  it('refuses a block that would give two outputs of one inner node', () => {
    const d = docToDesign(SEQ2SEQ, catalog)
    const g = { ...d.root, nodes: d.root.nodes.map((n) => ({ ...n, selected: n.id === 'enc' })) }
    const r = makeBlock(g, 'Encoder', catalog, {})
    expect('error' in r && r.error).toContain('enc.h_n, enc.c_n')
  })

  it('connecting another output of the same source into the same port replaces the wire (one undo step)', () => {
    S().loadDoc(SEQ2SEQ)
    S().connect({ source: 'enc', target: 'dec', sourceHandle: 'c_n', targetHandle: 'h0' })
    const into = currentGraph(S()).edges.filter((e) => e.target === 'dec' && e.targetHandle === 'h0')
    expect(into.map((e) => e.sourceHandle)).toEqual(['c_n'])
    expect(currentDoc(S()).edges.filter((e) => e.target_port === 'h0')).toEqual([
      { source: 'enc', source_port: 'c_n', target: 'dec', target_port: 'h0' },
    ])
    S().undo()
    expect(currentGraph(S()).edges.find((e) => e.targetHandle === 'h0')!.sourceHandle).toBe('h_n')
  })
})
