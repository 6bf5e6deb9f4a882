// The designer store's shape: the design (root graph + block definitions), which graph is open,
// history, clipboard and the server's latest validation, and the actions on them.
import type { Connection, EdgeChange, NodeChange } from '@xyflow/react'
import type { BlockInfo, GraphDoc, InitInfo, Template, ValidateResult } from '../api/types'
import type { DesignEdit } from './blockArgs'
import type { Snapshot } from './design'
import type { Clip } from './edits'
import type { BlockNodeData, Catalog, Design, FlowNode } from './graph'
import type { Toast } from './toast'
import type { Wire } from './wiring'

export type DesignerState = {
  catalog: Catalog
  catalogList: BlockInfo[]
  /** the catalog's categories in registry order (colours and palette groups follow it) */
  categories: string[]
  inits: InitInfo[]
  templates: Template[]

  design: Design
  /** open block definitions, outermost first; empty = the design's top level */
  path: string[]
  designId: string | null
  dirty: boolean

  past: Snapshot[]
  future: Snapshot[]
  lastCheckpoint: { key: string | null; t: number }
  clipboard: Clip | null
  pasteCount: number

  /** the server's answer for the whole design */
  rawValidation: ValidateResult | null
  /** the same, seen from the graph on screen (a block definition shows its first instance) */
  validation: ValidateResult | null
  validating: boolean
  validationError: string | null
  /** bumped when the view should fit the graph again (load, open block, layout) */
  viewNonce: number
}

export type DesignerActions = {
  setCatalog(blocks: BlockInfo[]): void
  setInits(inits: InitInfo[]): void
  setTemplates(t: Template[]): void
  onNodesChange(changes: NodeChange<FlowNode>[]): void
  onEdgesChange(changes: EdgeChange[]): void
  checkpoint(key?: string): void
  /** place a node (wired into an edge or onto a dropped wire's end, in the same undo step) */
  addNode(type: string, position: { x: number; y: number }, wire?: Wire): string | null
  deleteEdge(id: string): void
  selectEdge(id: string): void
  connect(c: Connection): void
  updateNodeData(id: string, patch: Partial<BlockNodeData>, key?: string): void
  renameNode(from: string, to: string): string | null
  deleteSelected(): void
  selectAll(): void
  selectOnly(ids: string[]): void
  copy(): number
  paste(): number
  undo(): void
  redo(): void
  layout(): void
  makeBlock(name: string): string | null
  deleteBlockDef(name: string): string | null
  /** one undoable edit of the whole design (e.g. a block's arguments); returns the error that refused it */
  editDesign(fn: (d: Design) => DesignEdit, key?: string): string | null
  openBlock(name: string): void
  goTo(depth: number): void
  loadDoc(doc: GraphDoc, id?: string | null): void
  newDesign(): void
  setName(name: string): void
  /** set a document field the designer keeps without reading it (e.g. `train`), as one undo step per `coalesce` burst */
  setExtra(key: string, value: unknown, coalesce?: string): void
  markSaved(id: string): void
  setValidation(v: ValidateResult | null, error?: string | null): void
  setValidating(b: boolean): void
  notify(message: string, kind?: Toast['kind']): void
}

