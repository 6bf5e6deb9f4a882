import { BaseEdge, EdgeLabelRenderer, getBezierPath, type EdgeProps } from '@xyflow/react'
import { memo } from 'react'
import { useDesigner } from '../store/designer'
import { useTuple } from '../store/useTuple'
import { formatShape } from '../lib/format'
import { OUT_HANDLE } from '../store/graph'
import { isFaultyPort } from '../store/validationIndex'
import { useFarZoom } from './farZoom'

/** A data edge labelled with the shape its source produces, as the server computed it. */
function ShapeEdgeImpl(p: EdgeProps) {
  const [path, lx, ly] = getBezierPath(p)
  // one subscription per edge (the store changes on every drag move); the server names the faulty
  // input port in `field` (e.g. Add's "b"): draw that edge red (an O(1) lookup in an index built
  // once per validation result)
  const [info, faulty] = useDesigner(
    useTuple((s) => [s.validation?.nodes[p.source], isFaultyPort(s.validation, p.target, p.targetHandleId)] as const),
  )
  // an edge from a named output (an LSTM's h_n) shows that output's shape
  const named = p.sourceHandleId && p.sourceHandleId !== OUT_HANDLE ? p.sourceHandleId : null
  const shape = named ? info?.output_shapes?.[named] : info?.output_shape
  const far = useFarZoom()
  return (
    <>
      <BaseEdge id={p.id} path={path} markerEnd={p.markerEnd} className={faulty ? 'faulty' : undefined} interactionWidth={far ? 0 : 24} />
      {info !== undefined && !far && (
        <EdgeLabelRenderer>
          <div
            className={`edge-label nodrag nopan${shape == null || faulty ? ' unknown' : ''}${p.selected ? ' selected' : ''}`}
            style={{ transform: `translate(-50%, -50%) translate(${lx}px, ${ly}px)` }}
            data-testid={`shape-${p.source}-${p.target}`}
            title="click to select the connection"
            onClick={(e) => {
              e.stopPropagation() // the pane under it would clear the selection again
              useDesigner.getState().selectEdge(p.id)
            }}
          >
            {formatShape(shape)}
            {p.selected && (
              <button
                className="edge-del"
                title="delete this connection (Del)"
                aria-label="delete connection"
                data-testid={`edge-delete-${p.source}-${p.target}`}
                onClick={(e) => {
                  e.stopPropagation()
                  useDesigner.getState().deleteEdge(p.id)
                }}
              >
                ✕
              </button>
            )}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  )
}
export const ShapeEdge = memo(ShapeEdgeImpl)

/** A dashed link from a node to the node whose parameters it shares (tied weights). */
function ShareEdgeImpl(p: EdgeProps) {
  // both ends sit on the right side of their nodes: bow out to the right
  const bow = 70 + Math.min(120, Math.abs(p.targetY - p.sourceY) / 4)
  const path = `M ${p.sourceX},${p.sourceY} C ${p.sourceX + bow},${p.sourceY} ${p.targetX + bow},${p.targetY} ${p.targetX},${p.targetY}`
  const lx = (p.sourceX + p.targetX) / 2 + bow * 0.75
  const ly = (p.sourceY + p.targetY) / 2
  const far = useFarZoom()
  return (
    <>
      <BaseEdge id={p.id} path={path} className="share-edge" />
      {!far && (
        <EdgeLabelRenderer>
          <div className="edge-label share" style={{ transform: `translate(-50%, -50%) translate(${lx}px, ${ly}px)` }}>
            shares weights
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  )
}
export const ShareEdge = memo(ShareEdgeImpl)
