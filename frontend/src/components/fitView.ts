// "Fit view" that stays readable: the whole graph when it fits at a zoom where node text can be
// read, else that zoom, centred across and showing the top of the graph (scroll for the rest).
import type { ReactFlowInstance } from '@xyflow/react'
import type { FlowEdge, FlowNode } from '../store/graph'

/** the smallest zoom at which a node's 10–11 px text stays legible */
export const READABLE_ZOOM = 0.65
const MAX_ZOOM = 1.1
const PAD = 40

export function fitReadable(rf: ReactFlowInstance<FlowNode, FlowEdge>, box: { width: number; height: number }, duration = 0) {
  const nodes = rf.getNodes()
  if (!nodes.length || !box.width || !box.height) return
  const b = rf.getNodesBounds(nodes)
  const fit = Math.min((box.width - 2 * PAD) / b.width, (box.height - 2 * PAD) / b.height)
  const zoom = Math.max(READABLE_ZOOM, Math.min(MAX_ZOOM, fit))
  const x = box.width / 2 - (b.x + b.width / 2) * zoom
  const y = b.height * zoom <= box.height - 2 * PAD ? box.height / 2 - (b.y + b.height / 2) * zoom : PAD - b.y * zoom
  void rf.setViewport({ x, y, zoom }, { duration })
}
