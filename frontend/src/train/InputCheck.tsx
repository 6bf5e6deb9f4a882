// Before Train: does the design's Input take what the chosen dataset gives? Checked as the dataset
// (or its settings, or the design) changes, with a button that adopts the dataset's shape.
import { resolveField } from '../forms/SchemaForm'
import { formatShape } from '../lib/format'
import { useDesigner } from '../store/designer'
import { roleOf } from '../store/graph'
import type { Probe } from './datasetProbe'

const same = (a: number[] | null | undefined, b: number[]) => !!a && a.length === b.length && a.every((v, i) => v === b[i])

export function InputCheck({ probe, dataset }: { probe: Probe | null; dataset: string }) {
  const nodes = useDesigner((s) => s.design.root.nodes)
  const validation = useDesigner((s) => s.rawValidation)
  const catalog = useDesigner((s) => s.catalog)
  const inputs = nodes.filter((n) => roleOf(n.data.type, catalog) === 'input')
  if (!probe || 'error' in probe || inputs.length !== 1 || !validation) return null
  const inp = inputs[0]
  const got = validation.nodes[inp.id]?.output_shape
  if (same(got, probe.input_shape)) return null
  // the input block's setting that holds a shape: its list-of-numbers field
  const schema = catalog[inp.data.type]?.params_schema
  const field = Object.entries(schema?.properties ?? {}).find(([, p]) => resolveField(p, schema!).kind === 'numlist')?.[0]
  const adopt = () => field && useDesigner.getState().updateNodeData(inp.id, { params: { ...inp.data.params, [field]: probe.input_shape } })
  return (
    <div className="warn-box" data-testid="input-check">
      <span>
        <code>{inp.id}</code> {got ? `takes ${formatShape(got)}` : 'has no shape'}, but {dataset} gives samples of {formatShape(probe.input_shape)}.
      </span>
      {field && (
        <button className="mini" onClick={adopt} data-testid="adopt-shape">
          Use {formatShape(probe.input_shape)}
        </button>
      )}
    </div>
  )
}
