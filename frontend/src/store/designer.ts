// The one store for the designer: the design (root graph + block definitions), which graph is
// open, history, clipboard and the server's latest validation. Later panels (training) add
// their own slices or stores; everything here is plain data so it is easy to extend.
import { applyEdgeChanges, applyNodeChanges, type NodeChange } from '@xyflow/react'
import { create } from 'zustand'
import { frameBatch } from './frameBatch'
import { notify } from './toast'
import { categoriesOf } from '../lib/format'
import type { GraphDoc, ValidateResult } from '../api/types'
import { type Design, type FlowNode, type Graph, ID_RE, baseIdFor, blockInfo, hasOutput, makeEdge, uniqueId } from './graph'
import { wireIn } from './wiring'
import { designToDoc, docToDesign } from './docFlow'
import { copySelection, deleteSelection, pasteClip, renameNode } from './edits'
import { layoutGraph } from './layout'
import { blockUses, makeBlock } from './makeBlock'
import { withoutBlock } from './blockArgs'
import { currentGraph, emptyDesign, fixPath, initialParams, withGraph, type Snapshot } from './design'
import { useProblems, setRunProblems } from './problems'
import { scopeView, withRunProblems } from './validationView'
import type { DesignerActions, DesignerState } from './designerTypes'

export type { DesignerActions, DesignerState }
export type Store = DesignerState & DesignerActions

export { currentGraph, emptyDesign, initialParams }

const HISTORY_LIMIT = 200
const COALESCE_MS = 1200

/** The state after stepping to a snapshot (undo or redo). */
function restore(s: DesignerState, to: Snapshot, history: Pick<DesignerState, 'past' | 'future'>): Partial<DesignerState> {
  return { ...history, design: to.design, designId: to.designId, path: fixPath(s.path, to.design), lastCheckpoint: { key: null, t: 0 }, dirty: true, viewNonce: to.replaced ? s.viewNonce + 1 : s.viewNonce }
}

/** What the canvas shows: the server's validation with a refused run's node errors, seen from the open graph. */
function view(raw: ValidateResult | null, design: Design, path: string[]): ValidateResult | null {
  return scopeView(withRunProblems(raw, useProblems.getState().all), design, path)
}

export const useDesigner = create<Store>()((set, get) => {
  useProblems.subscribe(() => set((s) => ({ validation: view(s.rawValidation, s.design, s.path) })))
  /** Record the current design in history before a change. */
  const checkpoint = (key?: string) => {
    const s = get()
    const now = Date.now()
    if (key && s.lastCheckpoint.key === key && now - s.lastCheckpoint.t < COALESCE_MS) {
      set({ lastCheckpoint: { key, t: now } })
      return
    }
    set({
      past: [...s.past.slice(-HISTORY_LIMIT + 1), { design: s.design, designId: s.designId }],
      future: [],
      lastCheckpoint: { key: key ?? null, t: now },
      dirty: true,
    })
  }
  const setGraph = (g: Graph) => set((s) => ({ design: withGraph(s, g) }))
  const edit = (fn: (g: Graph, s: Store) => Graph, key?: string) => {
    checkpoint(key)
    const s = get()
    setGraph(fn(currentGraph(s), s))
  }
  const applyNodes = (changes: NodeChange<FlowNode>[]) => {
    const g = currentGraph(get())
    setGraph({ ...g, nodes: applyNodeChanges(changes, g.nodes) })
  }
  const replace = (design: Design, designId: string | null) => {
    const s = get()
    const keep = s.design.root.nodes.length > 0 || Object.keys(s.design.blocks).length > 0 || s.past.length > 0
    set({
      past: keep ? [...s.past.slice(-HISTORY_LIMIT + 1), { design: s.design, designId: s.designId, replaced: true }] : s.past,
      future: keep ? [] : s.future,
      lastCheckpoint: { key: null, t: 0 },
      design,
      designId,
      path: [],
      dirty: false,
      pasteCount: 0,
      rawValidation: null,
      validation: null,
      validationError: null,
      viewNonce: s.viewNonce + 1,
    })
  }
  // (no animation frames outside a browser: unit tests apply every change at once)
  const dragMoves =
    typeof requestAnimationFrame === 'undefined' ? null : frameBatch<string, NodeChange<FlowNode>>(applyNodes, (c) => ('id' in c ? c.id : ''), requestAnimationFrame)

  return {
    catalog: {},
    catalogList: [],
    categories: [],
    inits: [],
    templates: [],
    design: emptyDesign(),
    path: [],
    designId: null,
    dirty: false,
    past: [],
    future: [],
    lastCheckpoint: { key: null, t: 0 },
    clipboard: null,
    pasteCount: 0,
    rawValidation: null,
    validation: null,
    validating: false,
    validationError: null,
    viewNonce: 0,

    setCatalog: (blocks) => set({ catalogList: blocks, categories: categoriesOf(blocks), catalog: Object.fromEntries(blocks.map((b) => [b.type, b])) }),
    setInits: (inits) => set({ inits }),
    setTemplates: (templates) => set({ templates }),

    onNodesChange: (changes) => {
      const keep = changes.filter((c) => c.type !== 'remove')
      if (!keep.length) return
      // mid-drag moves render once per frame; anything else first lands the moves before it
      if (dragMoves && keep.every((c) => c.type === 'position' && c.dragging)) return dragMoves.push(keep)
      dragMoves?.flush()
      applyNodes(keep)
    },
    onEdgesChange: (changes) => {
      const keep = changes.filter((c) => c.type !== 'remove')
      if (!keep.length) return
      const g = currentGraph(get())
      setGraph({ ...g, edges: applyEdgeChanges(keep, g.edges) })
    },

    checkpoint,

    addNode: (type, position, wire) => {
      const s = get()
      const info = blockInfo(type, s.catalog, s.design.blocks)
      if (!info) return null
      const openName = s.path[s.path.length - 1]
      if (openName && (type === openName || blockUses(type, s.design.blocks).has(openName))) {
        s.notify(`Block ${type} cannot be used inside ${openName}: that would make it contain itself.`, 'error')
        return null
      }
      const g = currentGraph(s)
      const id = uniqueId(baseIdFor(type), new Set(g.nodes.map((n) => n.id)))
      const node: FlowNode = { id, type: 'block', position, data: { type, params: initialParams(info.params_schema) }, selected: true }
      const unselected: Graph = { nodes: g.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), edges: g.edges.map((e) => (e.selected ? { ...e, selected: false } : e)) }
      edit(() => (wire ? wireIn(unselected, node, wire, info.ports[0]?.name ?? null, hasOutput(info)) : { ...unselected, nodes: [...unselected.nodes, node] }))
      return id
    },

    deleteEdge: (id) => edit((g) => ({ ...g, edges: g.edges.filter((e) => e.id !== id) })),

    connect: (c) => {
      if (!c.source || !c.target) return
      const edge = makeEdge(c.source, c.target, c.targetHandle, c.sourceHandle)
      // the same wire again changes nothing; another output of the same source replaces the old one
      edit((g) => (g.edges.some((e) => e.id === edge.id && e.sourceHandle === edge.sourceHandle) ? g : { ...g, edges: [...g.edges.filter((e) => e.id !== edge.id), edge] }))
    },

    updateNodeData: (id, patch, key) =>
      edit((g) => ({ ...g, nodes: g.nodes.map((n) => (n.id === id ? { ...n, data: { ...n.data, ...patch } } : n)) }), key),

    renameNode: (from, to) => {
      if (from === to) return null
      if (!ID_RE.test(to)) return 'Ids use only letters, digits and _.'
      const g = currentGraph(get())
      if (g.nodes.some((n) => n.id === to)) return `Id ${to} is already taken.`
      edit((g) => renameNode(g, from, to))
      return null
    },

    deleteSelected: () => {
      const g = currentGraph(get())
      if (!g.nodes.some((n) => n.selected) && !g.edges.some((e) => e.selected)) return
      edit(deleteSelection)
    },

    selectAll: () => {
      const g = currentGraph(get())
      setGraph({ nodes: g.nodes.map((n) => ({ ...n, selected: true })), edges: g.edges.map((e) => ({ ...e, selected: true })) })
    },
    selectOnly: (ids) => {
      const want = new Set(ids)
      const g = currentGraph(get())
      setGraph({
        nodes: g.nodes.map((n) => (!!n.selected === want.has(n.id) ? n : { ...n, selected: want.has(n.id) })),
        edges: g.edges.map((e) => (e.selected ? { ...e, selected: false } : e)),
      })
    },

    selectEdge: (id) => {
      const g = currentGraph(get())
      setGraph({
        nodes: g.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)),
        edges: g.edges.map((e) => (!!e.selected === (e.id === id) ? e : { ...e, selected: e.id === id })),
      })
    },
    copy: () => {
      const clip = copySelection(currentGraph(get()))
      if (clip) set({ clipboard: clip, pasteCount: 0 })
      return clip?.nodes.length ?? 0
    },
    paste: () => {
      const { clipboard, pasteCount } = get()
      if (!clipboard) return 0
      const k = pasteCount + 1
      edit((g) => pasteClip(g, clipboard, { x: 40 * k, y: 40 * k }))
      set({ pasteCount: k })
      return clipboard.nodes.length
    },

    undo: () => {
      const s = get()
      const prev = s.past[s.past.length - 1]
      if (!prev) return
      set(restore(s, prev, { past: s.past.slice(0, -1), future: [{ design: s.design, designId: s.designId, replaced: prev.replaced }, ...s.future] }))
    },
    redo: () => {
      const s = get()
      const next = s.future[0]
      if (!next) return
      set(restore(s, next, { past: [...s.past, { design: s.design, designId: s.designId, replaced: next.replaced }], future: s.future.slice(1) }))
    },

    layout: () => {
      edit((g) => layoutGraph(g))
      set((s) => ({ viewNonce: s.viewNonce + 1 }))
    },

    makeBlock: (name) => {
      const s = get()
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return 'A block name starts with a letter and uses only letters, digits and _.'
      if (s.catalog[name] || s.design.blocks[name]) return `There is already a block called ${name}.`
      const r = makeBlock(currentGraph(s), name, s.catalog, s.design.blocks)
      if ('error' in r) return r.error
      checkpoint()
      set((st) => {
        const d = withGraph(st, r.graph)
        return { design: { ...d, blocks: { ...d.blocks, [name]: r.def } } }
      })
      return null
    },

    deleteBlockDef: (name) => {
      const s = get()
      const users = [s.design.root, ...Object.entries(s.design.blocks).filter(([n]) => n !== name).map(([, g]) => g)].some((g) =>
        g.nodes.some((n) => n.data.type === name),
      )
      if (users) return `Block ${name} is still used; delete its instances first.`
      checkpoint()
      const design = withoutBlock(s.design, name)
      set({ design, path: fixPath(s.path, design) })
      return null
    },
    editDesign: (fn, key) => {
      const r = fn(get().design)
      if ('error' in r) return r.error
      if (r.design === get().design) return null
      checkpoint(key)
      set((s) => ({ design: r.design, path: fixPath(s.path, r.design) }))
      return null
    },

    openBlock: (name) => {
      const s = get()
      if (!s.design.blocks[name]) return
      const i = s.path.indexOf(name)
      const p = i >= 0 ? s.path.slice(0, i + 1) : [...s.path, name]
      set({ path: p, validation: view(s.rawValidation, s.design, p), viewNonce: s.viewNonce + 1 })
    },
    goTo: (depth) =>
      set((s) => {
        if (depth === s.path.length) return {}
        const p = s.path.slice(0, depth)
        return { path: p, validation: view(s.rawValidation, s.design, p), viewNonce: s.viewNonce + 1 }
      }),

    // Replacing the canvas (a template, a file, a saved design, a blank one) is one undoable step.
    loadDoc: (doc, id = null) => replace(docToDesign(doc, get().catalog), id),
    newDesign: () => replace(emptyDesign(), null),
    setExtra: (key, value, coalesce) => {
      checkpoint(coalesce)
      set((s) => ({ design: { ...s.design, extra: { ...s.design.extra, [key]: value } } }))
    },
    setName: (name) => {
      checkpoint('name')
      set((s) => ({ design: { ...s.design, name } }))
    },
    markSaved: (id) => set({ designId: id, dirty: false }),

    setValidation: (v, error = null) => {
      // a new answer is about a changed design: a refused run's errors no longer apply
      if (v) setRunProblems([])
      set((s) => ({ rawValidation: v, validation: view(v, s.design, s.path), validationError: error, validating: false }))
    },
    setValidating: (b) => set({ validating: b }),
    notify,
  }
})

export function currentDoc(s: Store): GraphDoc {
  return designToDoc(s.design, s.catalog)
}
