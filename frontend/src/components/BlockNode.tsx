// The one node component: everything it draws comes from the block's catalog entry
// (ports -> target handles) and from the server's validation (shape, params, errors).
import { Handle, Position, useUpdateNodeInternals, type NodeProps } from '@xyflow/react'
import { memo, useEffect, useMemo, useRef } from 'react'
import { currentGraph, useDesigner } from '../store/designer'
import { useTuple } from '../store/useTuple'
import { OUT_HANDLE, SHARE_SOURCE, SHARE_TARGET, blockInfo, hasOutput, isExpr, shareLinks, type FlowNode } from '../store/graph'
import { problemsOf } from '../store/validationIndex'
import { categoryColor, formatCount, formatShape, formatValue } from '../lib/format'
import { NodeOverlay } from '../train/NodeOverlay'
import { useTrain } from '../train/store'

function BlockNodeImpl({ id, data, selected }: NodeProps<FlowNode>) {
  // One subscription per node, not one per value: the store changes on every mouse move of a drag,
  // and a 300-node canvas would otherwise run 2,100 listeners per move instead of 300.
  const [catalog, def, nodeInfo, problems, topLevel, inShare, categories] = useDesigner(
    useTuple(
      (s) =>
        [
          s.catalog,
          s.design.blocks[data.type],
          s.validation?.nodes[id],
          // one lookup per node in an index built once per validation result: a stable array, no scan of all errors
          problemsOf(s.validation, id),
          // statistics belong to the top-level canvas (state_dict keys start with top-level ids)
          s.path.length === 0,
          // The dashed "shares weights" link ends in two handles of its own. Every <Handle> subscribes to
          // React Flow's store, which notifies on each drag move, so only the nodes at either end of a
          // link get them: a boolean per node from a set built once per node list.
          shareLinks(currentGraph(s).nodes).ids.has(id),
          s.categories,
        ] as const,
    ),
  )
  const info = useMemo(() => blockInfo(data.type, catalog, def ? { [data.type]: def } : {}), [catalog, def, data.type])
  const errors = useMemo(() => problems.filter((e) => e.severity !== 'warning'), [problems])
  const shown = errors.length ? errors : problems

  const ports = info?.ports ?? []
  // a block with several outputs (an LSTM's sequence, h_n, c_n): one handle each beside the default one
  const outputs = info?.outputs ?? []
  const outAt = (k: number) => (outputs.length ? { left: `${((k + 1) * 100) / (outputs.length + 2)}%` } : undefined)
  const isOutput = !hasOutput(info)
  const color = categoryColor(info?.category, categories)
  const summary = useMemo(
    () =>
      Object.entries(data.params ?? {})
        .filter(([, v]) => (v !== undefined && v !== null && typeof v !== 'object') || Array.isArray(v) || isExpr(v))
        .slice(0, 3),
    [data.params],
  )
  const unknown = !info
  const training = useTrain((s) => s.runId !== null && s.tab === 'train') && topLevel
  // React Flow measures a node's handles when it mounts or resizes; handles added or removed later
  // (a link made in the inspector) need a re-measure, or the new share edge finds no handle to end in.
  const updateNodeInternals = useUpdateNodeInternals()
  const firstShare = useRef(inShare)
  useEffect(() => {
    if (firstShare.current === inShare) return
    firstShare.current = inShare
    updateNodeInternals(id)
  }, [inShare, id, updateNodeInternals])

  return (
    <div
      className={`bn${selected ? ' selected' : ''}${errors.length ? ' fault' : problems.length ? ' warn' : ''}${def ? ' composite' : ''}`}
      style={{ '--cat': color } as React.CSSProperties}
      data-type={data.type}
      data-testid={`node-${id}`}
    >
      <div className="bn-head">
        <span className="bn-type">
          {def && (
            <svg className="bn-block-icon" viewBox="0 0 12 12" width="11" height="11" aria-label="block">
              <title>a block: double-click to open its definition</title>
              <rect x="0.5" y="0.5" width="7" height="7" rx="1.5" fill="none" stroke="currentColor" />
              <rect x="4.5" y="4.5" width="7" height="7" rx="1.5" fill="currentColor" opacity="0.6" />
            </svg>
          )}
          {data.type}
        </span>
        {nodeInfo && nodeInfo.params > 0 && (
          <span className="bn-params" title={`${nodeInfo.params.toLocaleString()} parameters`}>
            {formatCount(nodeInfo.params)}
          </span>
        )}
      </div>
      <div className="bn-body">
        <div className="bn-id">
          {id}
          {data.trainable === false && <span className="bn-tag" title="parameters frozen">frozen</span>}
          {data.repeat !== undefined && data.repeat !== 1 && (
            <span className="bn-tag" title={`${data.repeat} copies in a chain`} data-testid={`repeat-${id}`}>
              ×{data.repeat}
            </span>
          )}
          {data.calls && (
            <span className="bn-tag share" title={`calls the module of ${data.calls} again`}>
              ↻ {data.calls}
            </span>
          )}
          {data.when && (
            <span className="bn-tag" title={`present only when ${data.when}`}>
              when {data.when}
            </span>
          )}
          {data.shares && (
            <span className="bn-tag share" title={`uses the parameters of ${data.shares}`}>
              ⇄ {data.shares}
            </span>
          )}
        </div>
        {summary.length > 0 && (
          <div className="bn-summary">
            {summary.map(([k, v]) => (
              <span key={k}>
                {k}=<b className={isExpr(v) ? 'expr' : undefined}>{isExpr(v) ? v.expr : formatValue(v)}</b>
              </span>
            ))}
          </div>
        )}
        {nodeInfo && (isOutput || nodeInfo.output_shape == null) && (
          <div className={`bn-shape${nodeInfo.output_shape == null ? ' unknown' : ''}`}>→ {formatShape(nodeInfo.output_shape)}</div>
        )}
        {training && <NodeOverlay id={id} />}
        {unknown && <div className="bn-err">unknown block type</div>}
        {shown.length > 0 && (
          <div
            className={`bn-errors${errors.length ? '' : ' warning'}`}
            data-testid={`errors-${id}`}
            title={problems.map((e) => (e.field ? `${e.field}: ` : '') + e.message).join('\n')}
          >
            <div className="bn-errmsg">{shown[0].message}</div>
            {problems.length > 1 && <div className="bn-more">+{problems.length - 1} more (see inspector)</div>}
          </div>
        )}
      </div>
      {ports.map((p, i) => (
        <Handle
          key={p.name}
          type="target"
          id={p.name}
          position={Position.Top}
          className={`port${p.optional ? ' optional' : ''}`}
          title={p.name}
          style={ports.length > 1 ? { left: `${((i + 1) * 100) / (ports.length + 1)}%` } : undefined}
        >
          {ports.length > 1 && <span className="port-label">{p.name}</span>}
        </Handle>
      ))}
      {!isOutput && (
        <Handle
          type="source"
          id={OUT_HANDLE}
          position={Position.Bottom}
          className="port out"
          title={outputs.length ? `output: the one ${info?.output_param ?? 'its settings'} picks` : 'output'}
          style={outAt(0)}
        >
          {outputs.length > 0 && <span className="port-label">out</span>}
        </Handle>
      )}
      {outputs.map((name, k) => (
        <Handle
          key={name}
          type="source"
          id={name}
          position={Position.Bottom}
          className="port out named"
          title={`output ${name} ${formatShape(nodeInfo?.output_shapes?.[name])}`}
          style={outAt(k + 1)}
          data-testid={`out-${id}-${name}`}
        >
          <span className="port-label">{name}</span>
        </Handle>
      ))}
      {inShare && (
        <>
          <Handle type="source" id={SHARE_SOURCE} position={Position.Right} className="share-handle" isConnectable={false} />
          <Handle type="target" id={SHARE_TARGET} position={Position.Right} className="share-handle" isConnectable={false} />
        </>
      )}
    </div>
  )
}

// React Flow hands a node new props whenever anything about it changes, its position included (on
// every mouse move of a drag). What is drawn depends only on these three, so a moved node's body is
// not rendered again; the wrapper React Flow owns does the moving.
export const BlockNode = memo(
  BlockNodeImpl,
  (a: NodeProps<FlowNode>, b: NodeProps<FlowNode>) => a.id === b.id && a.data === b.data && a.selected === b.selected,
)
