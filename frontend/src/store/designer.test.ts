import { beforeEach, describe, expect, it } from 'vitest'
import { CATALOG, MLP, RESIDUAL } from './fixtures'
import { currentDoc, currentGraph, initialParams, useDesigner } from './designer'

const S = () => useDesigner.getState()
const ids = () => currentGraph(S()).nodes.map((n) => n.id)

beforeEach(() => {
  S().setCatalog(CATALOG)
  S().newDesign()
})

describe('designer store', () => {
  it('adds nodes with readable ids, leaving the defaults to the server', () => {
    expect(S().addNode('Linear', { x: 0, y: 0 })).toBe('linear1')
    expect(S().addNode('Linear', { x: 0, y: 100 })).toBe('linear2')
    const n = currentGraph(S()).nodes[1]
    // no real block has a required setting: a new node sends none, the schema's defaults apply
    expect(n.data.params).toEqual({})
    expect(n.selected).toBe(true)
    expect(currentGraph(S()).nodes[0].selected).toBe(false)
    expect(S().addNode('Nope', { x: 0, y: 0 })).toBeNull()
  })

  it('starts every real block with only its required settings (none has one today)', () => {
    for (const b of CATALOG) {
      const required = new Set(b.params_schema.required ?? [])
      expect(Object.keys(initialParams(b.params_schema)).every((k) => required.has(k))).toBe(true)
    }
    // a required setting with a default starts with it (how the server would spell one)
    const linear = CATALOG.find((b) => b.type === 'Linear')!.params_schema
    expect(initialParams({ ...linear, required: ['out_features'] })).toEqual({ out_features: linear.properties!.out_features.default })
  })

  it('undoes and redoes edits', () => {
    S().addNode('Input', { x: 0, y: 0 })
    S().addNode('ReLU', { x: 0, y: 100 })
    S().connect({ source: 'input1', target: 'relu1', sourceHandle: 'out', targetHandle: 'x' })
    expect(currentGraph(S()).edges).toHaveLength(1)
    S().undo()
    expect(currentGraph(S()).edges).toHaveLength(0)
    S().undo()
    expect(ids()).toEqual(['input1'])
    S().redo()
    S().redo()
    expect(currentGraph(S()).edges).toHaveLength(1)
    S().redo() // nothing left
    expect(ids()).toEqual(['input1', 'relu1'])
    // a new edit clears the redo stack
    S().undo()
    S().addNode('ReLU', { x: 0, y: 0 })
    expect(S().future).toHaveLength(0)
  })

  it('coalesces typing in one field into one undo step', () => {
    S().loadDoc(MLP)
    S().updateNodeData('hidden', { params: { out_features: 1 } }, 'params:hidden')
    S().updateNodeData('hidden', { params: { out_features: 12 } }, 'params:hidden')
    S().updateNodeData('hidden', { params: { out_features: 128 } }, 'params:hidden')
    S().undo()
    expect(currentGraph(S()).nodes[1].data.params).toEqual({ out_features: 256 })
  })

  it('deletes the selection with its edges, and copy/paste', () => {
    S().loadDoc(MLP)
    S().selectOnly(['act'])
    S().deleteSelected()
    expect(ids()).not.toContain('act')
    expect(currentGraph(S()).edges).toHaveLength(2)
    S().undo()
    expect(currentGraph(S()).edges).toHaveLength(4)
    S().selectOnly(['hidden', 'act'])
    expect(S().copy()).toBe(2)
    expect(S().paste()).toBe(2)
    expect(ids()).toEqual(['X', 'hidden', 'act', 'out', 'Y', 'hidden1', 'act1'])
    expect(currentGraph(S()).edges).toHaveLength(5)
    S().paste()
    expect(ids()).toHaveLength(9)
    S().undo()
    S().undo()
    expect(ids()).toHaveLength(5)
  })

  it('renames, refusing bad or taken ids', () => {
    S().loadDoc(MLP)
    expect(S().renameNode('hidden', 'out')).toMatch(/taken/)
    expect(S().renameNode('hidden', 'a.b')).toMatch(/letters/)
    expect(S().renameNode('hidden', 'h')).toBeNull()
    expect(currentDoc(S()).edges[0]).toEqual({ source: 'X', target: 'h' })
  })

  it('makes a block, opens it, edits it (linked), and undoes back out of it', () => {
    S().loadDoc(MLP)
    S().selectOnly(['hidden', 'act'])
    expect(S().makeBlock('Hidden')).toBeNull()
    expect(S().makeBlock('Hidden')).toMatch(/select|already/i)
    let doc = currentDoc(S())
    expect(doc.nodes.map((n) => n.type)).toEqual(['Input', 'Linear', 'Output', 'Hidden'])
    expect(Object.keys(doc.blocks)).toEqual(['Hidden'])
    // a second instance from the library
    S().addNode('Hidden', { x: 300, y: 0 })
    S().openBlock('Hidden')
    expect(S().path).toEqual(['Hidden'])
    expect(ids()).toEqual(['x', 'hidden', 'act', 'y'])
    S().updateNodeData('hidden', { params: { out_features: 32 } })
    doc = currentDoc(S())
    expect(doc.blocks.Hidden.nodes[1].params).toEqual({ out_features: 32 })
    // a block cannot contain itself
    expect(S().addNode('Hidden', { x: 0, y: 0 })).toBeNull()
    S().goTo(0)
    expect(S().path).toEqual([])
    // undo everything: the definition disappears, and so does the path into it
    S().openBlock('Hidden')
    while (S().past.length) S().undo()
    expect(S().path).toEqual([])
    expect(currentDoc(S()).blocks).toEqual({})
  })

  it('refuses to delete a block definition that is still used', () => {
    S().loadDoc(MLP)
    S().selectOnly(['act'])
    S().makeBlock('Act')
    expect(S().deleteBlockDef('Act')).toMatch(/still used/)
    S().selectOnly(['act1'])
    S().deleteSelected()
    expect(S().deleteBlockDef('Act')).toBeNull()
    expect(currentDoc(S()).blocks).toEqual({})
  })
})

describe('replacing the canvas', () => {
  it('is one undoable step that brings back the design and which saved design it was', () => {
    S().loadDoc(MLP, 'saved-1')
    S().updateNodeData('hidden', { params: { out_features: 99 } })
    S().loadDoc(RESIDUAL) // a template, say
    expect(ids()).toEqual(['X', 'r1', 'Y'])
    expect(S().designId).toBeNull()
    expect(S().dirty).toBe(false)
    S().undo()
    expect(ids()).toEqual(['X', 'hidden', 'act', 'out', 'Y'])
    expect(currentGraph(S()).nodes[1].data.params).toEqual({ out_features: 99 })
    expect(S().designId).toBe('saved-1')
    S().redo()
    expect(ids()).toEqual(['X', 'r1', 'Y'])
    expect(S().designId).toBeNull()
    S().newDesign()
    expect(ids()).toEqual([])
    S().undo()
    expect(ids()).toEqual(['X', 'r1', 'Y'])
  })
})
