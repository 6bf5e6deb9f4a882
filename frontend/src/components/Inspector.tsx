import { Fragment, useEffect, useMemo, useState } from 'react'
import { currentGraph, useDesigner } from '../store/designer'
import { useTuple } from '../store/useTuple'
import { blockInfo, roleOf, type BlockNodeData } from '../store/graph'
import { problemsOf } from '../store/validationIndex'
import { categoryColor, formatCount, formatShape } from '../lib/format'
import { SchemaForm } from '../forms/SchemaForm'
import { InitEditor } from './InitEditor'
import { NodeExtras } from './NodeExtras'
import { Overview } from './Overview'
import { ExprField } from '../forms/ExprField'
import { argsOf } from '../store/blockArgs'

// The inspector selects only what it shows (ids, types, the one node's data), compared shallowly:
// dragging a node makes new node objects on every mouse move, and must not render the inspector again.
const SEP = '\u0000'

export function Inspector({ onMakeBlock }: { onMakeBlock: () => void }) {
  const selected = useDesigner(useTuple((s) => currentGraph(s).nodes.flatMap((n) => (n.selected ? [`${n.id}${SEP}${n.data.type}`] : []))))
  if (selected.length === 1) return <NodeInspector key={selected[0].split(SEP)[0]} id={selected[0].split(SEP)[0]} />
  if (selected.length > 1)
    return (
      <div className="inspector">
        <h2>{selected.length} nodes selected</h2>
        <p className="muted">Group them into a reusable block: their inputs from outside become the block's Input nodes.</p>
        <button className="primary" onClick={onMakeBlock} data-testid="inspector-make-block">
          Make block…
        </button>
        <ul className="sel-list">
          {selected.map((k) => {
            const [id, type] = k.split(SEP)
            return (
              <li key={id}>
                <b>{id}</b> <span className="muted">{type}</span>
              </li>
            )
          })}
        </ul>
      </div>
    )
  return <Overview />
}

const NO_DATA: BlockNodeData = { type: '', params: {} }

function NodeInspector({ id }: { id: string }) {
  const data = useDesigner((s) => currentGraph(s).nodes.find((n) => n.id === id)?.data ?? NO_DATA)
  const node = useMemo(() => ({ id, data }), [id, data])
  // the other nodes, as id + type (for "shares parameters with")
  const others = useDesigner(useTuple((s) => currentGraph(s).nodes.flatMap((n) => (n.id === id ? [] : [`${n.id}${SEP}${n.data.type}`]))))
  const nodes = useMemo(() => others.map((k) => { const [nid, type] = k.split(SEP); return { id: nid, data: { type } } }), [others])
  const catalog = useDesigner((s) => s.catalog)
  const categories = useDesigner((s) => s.categories)
  const blocks = useDesigner((s) => s.design.blocks)
  const meta = useDesigner((s) => s.design.blockMeta)
  // inside a block definition, settings may be bound to the block's arguments
  const openName = useDesigner((s) => s.path[s.path.length - 1])
  const openArgs = useDesigner((s) => (openName ? argsOf(s.design, openName) : null))
  const argNames = useMemo(() => (openArgs ? Object.keys(openArgs) : null), [openArgs])
  const inits = useDesigner((s) => s.inits)
  const update = useDesigner((s) => s.updateNodeData)
  const rename = useDesigner((s) => s.renameNode)
  const openBlock = useDesigner((s) => s.openBlock)
  const nodeInfo = useDesigner((s) => s.validation?.nodes[node.id])
  const errors = useDesigner((s) => problemsOf(s.validation, node.id))
  const info = blockInfo(node.data.type, catalog, blocks, meta)
  // what a setting's expression may name: the open block's arguments, and the copy index of a repeated instance
  const repeated = !!blocks[node.data.type] && (node.data.repeat ?? 1) > 1
  const exprNames = argNames || repeated ? [...(argNames ?? []), ...(repeated ? ['i'] : [])] : null
  const composite = !!blocks[node.data.type]
  const [idText, setIdText] = useState(node.id)
  const [idError, setIdError] = useState<string | null>(null)
  useEffect(() => setIdText(node.id), [node.id])

  const commitId = () => {
    const err = rename(node.id, idText.trim())
    setIdError(err)
    if (err) setIdText(node.id)
  }
  const parameters = info?.parameters ?? []
  // settings whose keys name tensors of the node (the schema's "x-state-keys" hint) are state_dict entries too
  const stateKeyFields = Object.entries(info?.params_schema.properties ?? {}).flatMap(([k, p]) => (p['x-state-keys'] ? [k] : []))
  const declared = stateKeyFields.flatMap((k) => {
    const v = node.data.params?.[k]
    return v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : []
  })
  const keys = [...parameters, ...declared]
  const sameType = nodes.filter((n) => n.id !== node.id && n.data.type === node.data.type)
  const otherType = nodes.filter((n) => n.id !== node.id && n.data.type !== node.data.type && !['input', 'output'].includes(roleOf(n.data.type, catalog) ?? ''))

  return (
    <div className="inspector" data-testid="inspector">
      <div className="insp-head" style={{ '--cat': categoryColor(info?.category, categories) } as React.CSSProperties}>
        <span className="insp-type">{node.data.type}</span>
        <span className="muted small">{info?.category}</span>
      </div>
      {info?.doc && <p className="doc">{info.doc}</p>}

      <div className="field">
        <label className="field-label" htmlFor="node-id">
          id
        </label>
        <input
          id="node-id"
          data-testid="node-id"
          value={idText}
          spellCheck={false}
          onChange={(e) => setIdText(e.target.value)}
          onBlur={commitId}
          onKeyDown={(e) => {
            if (e.key === 'Enter') (e.target as HTMLInputElement).blur()
            if (e.key === 'Escape') setIdText(node.id)
          }}
        />
        {idError && <div className="field-err">{idError}</div>}
        <div className="field-desc">
          The submodule name: its weights are saved as{' '}
          {keys.length ? (
            keys.map((p, i) => (
              <span key={p}>
                {i > 0 && ', '}
                <code>
                  {node.id}.{p}
                </code>
              </span>
            ))
          ) : (
            <code>{node.id}.…</code>
          )}{' '}
          in the state_dict.
        </div>
      </div>

      {nodeInfo && (
        <div className="kv">
          <span>Output shape</span>
          <b>{formatShape(nodeInfo.output_shape)}</b>
          {Object.entries(nodeInfo.output_shapes ?? {}).map(([name, shape]) => (
            <Fragment key={name}>
              <span>Output {name}</span>
              <b data-testid={`output-shape-${name}`}>{formatShape(shape)}</b>
            </Fragment>
          ))}
          <span>Parameters</span>
          <b title={nodeInfo.params.toLocaleString()}>{formatCount(nodeInfo.params)}</b>
        </div>
      )}
      {errors.length > 0 && (
        <ul className="err-list" data-testid="inspector-errors">
          {errors.map((e, i) => (
            <li key={i} className={e.severity === 'warning' ? 'warning' : undefined}>
              {e.field && <b>{e.field}: </b>}
              {e.message}
            </li>
          ))}
        </ul>
      )}

      {composite && (
        <button onClick={() => openBlock(node.data.type)} data-testid="open-block">
          Open block {node.data.type}
        </button>
      )}

      {node.data.calls && <p className="muted small">Calls the module of {node.data.calls}: its settings and parameters are that node's.</p>}
      {!node.data.calls && info && Object.keys(info.params_schema.properties ?? {}).length > 0 && (
        <section>
          <h3>Settings</h3>
          <SchemaForm
            schema={info.params_schema}
            value={node.data.params ?? {}}
            resolved={nodeInfo?.resolved ?? undefined}
            owner={{ node: node.id, field: '' }}
            onChange={(params) => update(node.id, { params }, `params:${node.id}`)}
            renderField={exprNames ? (p) => <ExprField {...p} args={exprNames} /> : undefined}
          />
        </section>
      )}

      <NodeExtras
        id={node.id}
        data={node.data}
        composite={composite}
        args={argNames}
        sameType={sameType.map((n) => n.id)}
        update={(patch, key) => update(node.id, patch, key)}
      />

      {!node.data.calls && (parameters.length > 0 || composite) && (
        <section>
          <h3>Parameters</h3>
          <label className="check">
            <input
              type="checkbox"
              data-testid="trainable"
              checked={node.data.trainable !== false}
              onChange={(e) => update(node.id, { trainable: e.target.checked ? undefined : false })}
            />
            trainable
          </label>
          <div className="field">
            <label className="field-label" htmlFor="shares">
              share parameters with…
            </label>
            <select
              id="shares"
              data-testid="shares"
              value={node.data.shares ?? ''}
              onChange={(e) => update(node.id, { shares: e.target.value || undefined })}
            >
              <option value="">— own parameters —</option>
              {sameType.map((n) => (
                <option key={n.id} value={n.id}>
                  {n.id}
                </option>
              ))}
              {otherType.length > 0 && (
                <optgroup label="other types">
                  {otherType.map((n) => (
                    <option key={n.id} value={n.id}>
                      {n.id} ({n.data.type})
                    </option>
                  ))}
                </optgroup>
              )}
            </select>
            <div className="field-desc">Tied weights: this node uses the other node's module, so both train the same tensors.</div>
          </div>
          {!node.data.shares &&
            parameters.map((p) => (
              <InitEditor
                key={p}
                param={p}
                spec={node.data.init?.[p]}
                inits={inits}
                onChange={(spec) => {
                  const init = { ...(node.data.init ?? {}) }
                  if (spec) init[p] = spec
                  else delete init[p]
                  update(node.id, { init: Object.keys(init).length ? init : undefined }, `init:${node.id}:${p}`)
                }}
              />
            ))}
        </section>
      )}
    </div>
  )
}
