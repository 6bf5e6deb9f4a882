import { importFile } from '../session/interchange'
import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  useStore,
  type EdgeChange,
  type NodeMouseHandler,
} from '@xyflow/react'
import { useCallback, useEffect, useMemo, useRef, type DragEvent } from 'react'
import { currentGraph, useDesigner } from '../store/designer'
import { SHARE_SOURCE, SHARE_TARGET, blockInfo, shareLinks, type FlowEdge, type FlowNode } from '../store/graph'
import { categoryColor } from '../lib/format'
import { BlockNode } from './BlockNode'
import { FAR_ZOOM, FarZoom } from './farZoom'
import { ShapeEdge, ShareEdge } from './edges'
import { useCanvasMenus } from './canvasMenus'
import { fitReadable } from './fitView'

// Module scope, so React Flow never sees new type maps.
const nodeTypes = { block: BlockNode }
const edgeTypes = { shape: ShapeEdge, share: ShareEdge }
export const DND_TYPE = 'application/x-blocklab-block'
const SHARE_PREFIX = 'share:'
// Constant props live here too: a new array or object on each render would make React Flow write it
// into its store again, and every node and edge selector would run once more (on each drag move).
const SNAP_GRID: [number, number] = [10, 10]
const DEFAULT_EDGE_OPTIONS = { type: 'shape' }
const PRO_OPTIONS = { hideAttribution: true }
const MULTI_SELECT_KEYS = ['Control', 'Meta']
const NO_SHARES: FlowEdge[] = []

function shareEdge(from: string, to: string): FlowEdge {
  return {
    id: `${SHARE_PREFIX}${from}`,
    source: from,
    target: to,
    sourceHandle: SHARE_SOURCE,
    targetHandle: SHARE_TARGET,
    type: 'share',
    selectable: false,
    deletable: false,
    focusable: false,
  } as unknown as FlowEdge
}

/**
 * The dot grid, thinned out as the view zooms out: React Flow draws the pattern `gap * zoom` px apart,
 * so a 300-node design fitted at zoom 0.2 would have a dot every 4 px (~80,000 of them) to paint on
 * every pan frame. Doubling the gap until the dots are at least 16 px apart on screen keeps that to
 * a few thousand; the dots grow with the gap, so the grid looks the same at any zoom.
 */
export function dotGap(zoom: number, base = 20, minPx = 16): number {
  let gap = base
  while (gap * zoom < minPx && gap < base * 1024) gap *= 2
  return gap
}
const BASE_GAP = 20
function Dots() {
  const gap = useStore((s) => dotGap(s.transform[2], BASE_GAP))
  return <Background variant={BackgroundVariant.Dots} gap={gap} size={(1.2 * gap) / BASE_GAP} />
}

export function Canvas() {
  const graph = useDesigner(currentGraph)
  const path = useDesigner((s) => s.path)
  const viewNonce = useDesigner((s) => s.viewNonce)
  const onNodesChange = useDesigner((s) => s.onNodesChange)
  const onEdgesChangeStore = useDesigner((s) => s.onEdgesChange)
  const connect = useDesigner((s) => s.connect)
  const addNode = useDesigner((s) => s.addNode)
  const checkpoint = useDesigner((s) => s.checkpoint)
  const openBlock = useDesigner((s) => s.openBlock)
  const goTo = useDesigner((s) => s.goTo)
  const isComposite = useDesigner((s) => s.design.blocks)
  const catalog = useDesigner((s) => s.catalog)
  const categories = useDesigner((s) => s.categories)
  const validation = useDesigner((s) => s.validation)
  const globalErrors = useMemo(() => {
    const ids = new Set(graph.nodes.map((n) => n.id))
    return validation?.errors.filter((e) => e.node == null || !ids.has(e.node))
  }, [validation, graph.nodes])
  const { screenToFlowPosition } = useReactFlow()
  const box = useRef<HTMLDivElement>(null)
  const menus = useCanvasMenus(box)
  // a boolean, so the canvas renders again only when the zoom crosses the threshold
  const far = useStore((s) => s.transform[2] < FAR_ZOOM)

  // Tied weights: a dashed, non-interactive link from each sharing node to the node it shares with.
  // Keyed by the links themselves, so a drag (new node objects, same links) keeps the same edge list.
  const shareKey = shareLinks(graph.nodes).key
  const shares = useMemo(
    () =>
      shareKey
        ? shareKey.split('\n').map((l) => {
            const [from, to] = l.split('\u0000')
            return shareEdge(from, to)
          })
        : NO_SHARES,
    [shareKey],
  )
  const edges = useMemo(() => (shares.length ? [...graph.edges, ...shares] : graph.edges), [graph.edges, shares])

  const onEdgesChange = useCallback(
    (changes: EdgeChange[]) => onEdgesChangeStore(changes.filter((c) => !('id' in c) || !c.id.startsWith(SHARE_PREFIX))),
    [onEdgesChangeStore],
  )

  // Fit only when asked (load, open block, layout): never on ordinary edits.
  // (React Flow queues a fit on an empty graph until nodes appear, so skip those.)
  const rf = useReactFlow<FlowNode, FlowEdge>()
  const rfRef = useRef(rf)
  rfRef.current = rf
  useEffect(() => {
    const t = window.setTimeout(() => {
      if (currentGraph(useDesigner.getState()).nodes.length && box.current) fitReadable(rfRef.current, box.current.getBoundingClientRect())
    }, 30)
    return () => window.clearTimeout(t)
  }, [viewNonce])

  const onDragOver = useCallback((e: DragEvent) => {
    if (e.dataTransfer.types.includes(DND_TYPE) || e.dataTransfer.types.includes('text/plain') || e.dataTransfer.types.includes('Files')) {
      e.preventDefault()
      e.dataTransfer.dropEffect = 'copy'
    }
  }, [])
  const onDrop = useCallback(
    (e: DragEvent) => {
      // a file from the desktop: imported as Import would (a graph document or a model)
      const file = e.dataTransfer.files?.[0]
      if (file && !e.dataTransfer.types.includes(DND_TYPE)) {
        e.preventDefault()
        void importFile(file)
        return
      }
      const type = e.dataTransfer.getData(DND_TYPE) || e.dataTransfer.getData('text/plain')
      if (!type) return
      e.preventDefault()
      const p = screenToFlowPosition({ x: e.clientX, y: e.clientY })
      // dropped onto a connection: the block goes into it
      const edge = document
        .elementsFromPoint(e.clientX, e.clientY)
        .map((el) => el.closest('.react-flow__edge')?.getAttribute('data-id'))
        .find((id) => id && !id.startsWith(SHARE_PREFIX))
      addNode(type, { x: p.x - 80, y: p.y - 24 }, edge ? { edge } : undefined)
    },
    [screenToFlowPosition, addNode],
  )
  const onNodeDoubleClick: NodeMouseHandler<FlowNode> = useCallback(
    (_e, n) => {
      if (isComposite[n.data.type]) openBlock(n.data.type)
    },
    [isComposite, openBlock],
  )
  const onDragStart = useCallback(() => checkpoint(), [checkpoint])
  const minimapColor = useCallback(
    (n: FlowNode) => categoryColor(blockInfo(n.data.type, catalog, isComposite)?.category, categories),
    [catalog, isComposite, categories],
  )

  return (
    <div className={far ? 'canvas far' : 'canvas'} onDragOver={onDragOver} onDrop={onDrop} data-testid="canvas" ref={box}>
      <FarZoom.Provider value={far}>
        <ReactFlow<FlowNode, FlowEdge>
          nodes={graph.nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          edgeTypes={edgeTypes}
          onNodesChange={onNodesChange}
          onEdgesChange={onEdgesChange}
          onConnect={connect}
          onNodeDragStart={onDragStart}
          onSelectionDragStart={onDragStart}
          onNodeDoubleClick={onNodeDoubleClick}
          {...menus.handlers}
          deleteKeyCode={null}
          selectionKeyCode="Shift"
          multiSelectionKeyCode={MULTI_SELECT_KEYS}
          colorMode="dark"
          minZoom={0.1}
          maxZoom={2.5}
          snapToGrid
          snapGrid={SNAP_GRID}
          defaultEdgeOptions={DEFAULT_EDGE_OPTIONS}
          proOptions={PRO_OPTIONS}
        >
          <Dots />
          <MiniMap pannable zoomable nodeColor={minimapColor} nodeStrokeWidth={0} maskColor="rgba(10,12,18,0.7)" />
          <Controls showInteractive={false} />
        </ReactFlow>
      </FarZoom.Provider>
      {menus.overlay}
      <nav className="breadcrumb" data-testid="breadcrumb">
        <button className={path.length ? 'link' : 'link current'} onClick={() => goTo(0)}>
          Design
        </button>
        {path.map((p, i) => (
          <span key={p}>
            <span className="sep">›</span>
            <button className={i === path.length - 1 ? 'link current' : 'link'} onClick={() => goTo(i + 1)}>
              {p}
            </button>
          </span>
        ))}
        {path.length > 0 && <span className="crumb-note">editing block definition: every instance updates</span>}
      </nav>
      {graph.nodes.length === 0 && (
        <div className="empty-hint">
          <h3>Empty canvas</h3>
          <p>Drag blocks here from the palette, or open a template.</p>
        </div>
      )}
      {globalErrors && globalErrors.length > 0 && (
        <ul className="global-errors" data-testid="global-errors">
          {globalErrors.map((e, i) => (
            <li key={i}>
              {e.node ? <b>{e.node}: </b> : null}
              {e.field ? <b>{e.field}: </b> : null}
              {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  )
}
