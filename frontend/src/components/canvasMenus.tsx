// The canvas's menus: context menus on nodes, edges and the empty canvas, and the block search
// that places a block (into an edge, or at the loose end of a wire dropped on empty canvas).
import { useReactFlow, type FinalConnectionState, type OnConnectEnd } from '@xyflow/react'
import { useCallback, useState, type MouseEvent as ReactMouseEvent, type ReactNode, type RefObject } from 'react'
import { useDesigner } from '../store/designer'
import type { FlowEdge, FlowNode } from '../store/graph'
import type { Wire } from '../store/wiring'
import { BlockSearch, ContextMenu, type MenuItem, type Pos } from './BlockSearch'

type Open = { kind: 'menu'; at: Pos; client: Pos; items: MenuItem[] } | { kind: 'search'; at: Pos; client: Pos; title: string; wire?: Wire }

export function useCanvasMenus(box: RefObject<HTMLDivElement | null>) {
  const [open, setOpen] = useState<Open | null>(null)
  const { screenToFlowPosition } = useReactFlow()
  const close = useCallback(() => setOpen(null), [])
  const where = useCallback(
    (e: { clientX: number; clientY: number }) => {
      const r = box.current?.getBoundingClientRect()
      return { client: { x: e.clientX, y: e.clientY }, at: { x: e.clientX - (r?.left ?? 0), y: e.clientY - (r?.top ?? 0) } }
    },
    [box],
  )
  const search = useCallback((p: { at: Pos; client: Pos }, title: string, wire?: Wire) => setOpen({ kind: 'search', ...p, title, wire }), [])

  const onNodeContextMenu = useCallback(
    (e: ReactMouseEvent, n: FlowNode) => {
      e.preventDefault()
      const s = useDesigner.getState()
      const only = () => s.selectOnly([n.id])
      const items: MenuItem[] = []
      if (s.design.blocks[n.data.type]) items.push({ label: `Open block ${n.data.type}`, testid: 'menu-open-block', run: () => s.openBlock(n.data.type) })
      items.push(
        { label: 'Duplicate', testid: 'menu-duplicate', run: () => (only(), s.copy(), s.paste()) },
        { label: 'Delete', testid: 'menu-delete-node', danger: true, run: () => (only(), useDesigner.getState().deleteSelected()) },
      )
      setOpen({ kind: 'menu', ...where(e), items })
    },
    [where],
  )
  const onEdgeContextMenu = useCallback(
    (e: ReactMouseEvent, edge: FlowEdge) => {
      if (edge.type === 'share') return
      e.preventDefault()
      const p = where(e)
      setOpen({
        kind: 'menu',
        ...p,
        items: [
          { label: 'Insert block…', testid: 'menu-insert', run: () => search(p, `insert into ${edge.source} → ${edge.target}`, { edge: edge.id }) },
          { label: 'Delete connection', testid: 'menu-delete-edge', danger: true, run: () => useDesigner.getState().deleteEdge(edge.id) },
        ],
      })
    },
    [where, search],
  )
  const onPaneContextMenu = useCallback(
    (e: ReactMouseEvent | MouseEvent) => {
      e.preventDefault()
      const p = where(e)
      setOpen({ kind: 'menu', ...p, items: [{ label: 'Add block…', testid: 'menu-add', run: () => search(p, 'add a block here') }] })
    },
    [where, search],
  )
  // A wire let go over empty canvas: offer the blocks, and connect the one chosen.
  const onConnectEnd: OnConnectEnd = useCallback(
    (e: MouseEvent | TouchEvent, c: FinalConnectionState) => {
      const target = e.target as Element | null
      if (c.isValid || !c.fromHandle || !target?.classList.contains('react-flow__pane')) return
      const pt = 'changedTouches' in e ? e.changedTouches[0] : e
      const wire: Wire = { from: c.fromHandle.nodeId, port: c.fromHandle.id ?? null, side: c.fromHandle.type }
      search(where(pt), c.fromHandle.type === 'source' ? `feed from ${wire.from}` : `feed ${wire.from}`, wire)
    },
    [where, search],
  )

  let overlay: ReactNode = null
  if (open?.kind === 'menu') overlay = <ContextMenu at={open.at} items={open.items} onClose={close} />
  else if (open?.kind === 'search') {
    const { client, wire } = open
    const pick = (type: string) => {
      const p = screenToFlowPosition(client)
      useDesigner.getState().addNode(type, { x: p.x - 80, y: p.y - 24 }, wire)
    }
    overlay = <BlockSearch at={open.at} title={open.title} onPick={pick} onClose={close} />
  }
  return { handlers: { onNodeContextMenu, onEdgeContextMenu, onPaneContextMenu, onConnectEnd, onPaneClick: close, onMoveStart: close }, overlay }
}
