import { describe, expect, it } from 'vitest'
import { CATALOG, MLP } from './fixtures'
import { docToDesign } from './docFlow'
import type { Catalog, FlowNode } from './graph'
import { wireIn } from './wiring'

const catalog: Catalog = Object.fromEntries(CATALOG.map((b) => [b.type, b]))
const g = () => docToDesign(MLP, catalog).root
const relu: FlowNode = { id: 'r', type: 'block', position: { x: 0, y: 0 }, data: { type: 'ReLU', params: {} } }
const pairs = (es: { source: string; target: string; targetHandle?: string | null }[]) => es.map((e) => `${e.source}>${e.target}:${e.targetHandle}`).sort()

describe('wiring a new node in', () => {
  it('splits an edge: its source feeds the node, the node feeds the old target port', () => {
    const before = g()
    const e = before.edges.find((x) => x.source === 'hidden')!
    const after = wireIn(before, relu, { edge: e.id }, 'x', true)
    expect(after.nodes.map((n) => n.id)).toContain('r')
    expect(pairs(after.edges)).toEqual(pairs([...before.edges.filter((x) => x !== e), { source: 'hidden', target: 'r', targetHandle: 'x' }, { source: 'r', target: 'act', targetHandle: e.targetHandle }]))
  })
  it('connects the loose end of a dropped wire, from an output or to an input port', () => {
    expect(pairs(wireIn(g(), relu, { from: 'act', port: 'out', side: 'source' }, 'x', true).edges)).toContain('act>r:x')
    expect(pairs(wireIn(g(), relu, { from: 'Y', port: 'x', side: 'target' }, 'x', true).edges)).toContain('r>Y:x')
    // a block that feeds nothing (an output) is placed, not wired from
    expect(wireIn(g(), relu, { from: 'Y', port: 'x', side: 'target' }, 'x', false).edges).toHaveLength(4)
  })
})
