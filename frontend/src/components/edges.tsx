import { BaseEdge, EdgeLabelRenderer, getBezierPath, type EdgeProps } from '@xyflow/react'
import { memo } from 'react'
import { useDesigner } from '../store/designer'
import { formatShape } from '../format'

/** A data edge labelled with the shape its source produces, as the server computed it. */
function ShapeEdgeImpl(p: EdgeProps) {
  const [path, lx, ly] = getBezierPath(p)
  const info = useDesigner((s) => s.validation?.nodes[p.source])
  const shape = info?.output_shape
  return (
    <>
      <BaseEdge id={p.id} path={path} markerEnd={p.markerEnd} className={p.selected ? 'selected' : undefined} interactionWidth={18} />
      {info !== undefined && (
        <EdgeLabelRenderer>
          <div
            className={`edge-label${shape == null ? ' unknown' : ''}${p.selected ? ' selected' : ''}`}
            style={{ transform: `translate(-50%, -50%) translate(${lx}px, ${ly}px)` }}
            data-testid={`shape-${p.source}-${p.target}`}
          >
            {formatShape(shape)}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  )
}
export const ShapeEdge = memo(ShapeEdgeImpl)

/** A dashed link from a node to the node whose parameters it shares (tied weights). */
function ShareEdgeImpl(p: EdgeProps) {
  const [path, lx, ly] = getBezierPath({ ...p, curvature: 0.6 })
  return (
    <>
      <BaseEdge id={p.id} path={path} className="share-edge" />
      <EdgeLabelRenderer>
        <div className="edge-label share" style={{ transform: `translate(-50%, -50%) translate(${lx}px, ${ly}px)` }}>
          shares weights
        </div>
      </EdgeLabelRenderer>
    </>
  )
}
export const ShareEdge = memo(ShareEdgeImpl)
