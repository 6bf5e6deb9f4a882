import { describe, expect, it } from 'vitest'
import { shareLinks, type FlowNode } from './graph'

const node = (id: string, shares?: string): FlowNode => ({
  id,
  type: 'block',
  position: { x: 0, y: 0 },
  data: { type: 'Dense', params: {}, ...(shares ? { shares } : {}) },
})

describe('shareLinks', () => {
  it('lists drawn links and the nodes at either end of one', () => {
    const nodes = [node('a'), node('b', 'a'), node('c'), node('d', 'missing'), node('e', 'e')]
    const l = shareLinks(nodes)
    expect(l.key).toBe('b\u0000a')
    expect([...l.ids].sort()).toEqual(['a', 'b'])
  })

  it('is built once per node list and empty without links', () => {
    const nodes = [node('a'), node('b')]
    expect(shareLinks(nodes)).toBe(shareLinks(nodes))
    expect(shareLinks(nodes).key).toBe('')
    expect(shareLinks(nodes).ids.size).toBe(0)
    // a new list (an edit in the inspector) gets a fresh answer at once
    const tied = nodes.map((n) => (n.id === 'b' ? { ...n, data: { ...n.data, shares: 'a' } } : n))
    expect(shareLinks(tied).ids.has('a')).toBe(true)
    expect(shareLinks(tied).ids.has('b')).toBe(true)
  })
})
