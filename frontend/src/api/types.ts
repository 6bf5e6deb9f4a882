// API shapes used by the UI, taken from the schema generated from the backend's OpenAPI
// (`npm run gen:api` -> schema.d.ts). JSON-schema and graph-document fields are typed more
// precisely here; the `Check` lines at the bottom make `tsc` fail when the backend drifts.
import type { components } from './schema'

type S = components['schemas']

export type JsonSchema = {
  type?: string | string[]
  title?: string
  description?: string
  default?: unknown
  examples?: unknown[]
  enum?: unknown[]
  const?: unknown
  minimum?: number
  maximum?: number
  exclusiveMinimum?: number
  exclusiveMaximum?: number
  minItems?: number
  maxItems?: number
  items?: JsonSchema
  properties?: Record<string, JsonSchema>
  required?: string[]
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  allOf?: JsonSchema[]
  $ref?: string
  $defs?: Record<string, JsonSchema>
  definitions?: Record<string, JsonSchema>
  additionalProperties?: boolean | JsonSchema
  [k: string]: unknown
}

export type Port = { name: string; optional?: boolean }

/** what a block is to the designer (the catalog's `role`): a model input, an output, a layer, a code-defined layer */
export type BlockRole = S['BlockInfo']['role']
export type BlockInfo = Omit<S['BlockInfo'], 'params_schema' | 'ports'> & { params_schema: JsonSchema; ports: Port[] }

export type InitInfo = Omit<S['InitInfo'], 'params_schema'> & { params_schema: JsonSchema }

export type InitSpec = { fn: string; [k: string]: unknown }

export type DocNode = {
  id: string
  type: string
  params?: Record<string, unknown>
  shares?: string | null
  init?: Record<string, InitSpec> | null
  trainable?: boolean
  position?: { x: number; y: number }
  /** another node of the same scope whose module this node calls again */
  calls?: string | null
  /** an instance repeated N times in a chain */
  repeat?: number | { expr: string } | null
  /** inside a block: an expression over its arguments; false passes the input through */
  when?: string | null
  [k: string]: unknown
}

/** `source_port`: which output of a block with several (an LSTM's sequence, h_n, c_n); none: its default */
export type DocEdge = S['Edge']

/** a composite block's argument: a JSON-schema property with a default (the form draws it like a block's setting) */
export type ArgSpec = Omit<JsonSchema, 'type' | 'default' | 'enum'> & { type: S['ArgSpec']['type']; default: S['ArgSpec']['default']; enum?: string[] }

/** `args`: the block's arguments, name -> JSON-schema property with a default */
export type BlockDef = { nodes: DocNode[]; edges: DocEdge[]; args?: Record<string, ArgSpec>; [k: string]: unknown }

export type GraphDoc = {
  version: 1
  name: string
  nodes: DocNode[]
  edges: DocEdge[]
  blocks: Record<string, BlockDef>
  [k: string]: unknown
}

/**
 * `path` is the dotted path to the faulty node through block instances ("res1.add"), `block`
 * the block definition it is in; `severity` "warning" marks advice rather than an error.
 * (The server leaves out `node` and `field` when they are null.)
 */
export type ValidationError = Omit<S['ErrorInfo'], 'node' | 'field'> & { node?: string | null; field?: string | null }
/** `resolved`: settings as the server resolved them; `inner`: a block instance's inner nodes. */
export type NodeInfo = Omit<S['NodeInfo'], 'output_shape' | 'inner'> & {
  output_shape?: number[] | null
  inner?: Record<string, NodeInfo> | null
}
export type ValidateResult = {
  ok: boolean
  errors: ValidationError[]
  nodes: Record<string, NodeInfo>
  total_params: number
}

export type Template = {
  id: string
  title: string
  description: string
  graph: GraphDoc
  train?: Record<string, unknown> | null
}

export type DesignSummary = S['DesignSummary']
export type Design = DesignSummary & { graph: GraphDoc }

// ---- drift checks: each line fails to compile when the backend's shapes change under us
type Check<T extends true> = T
type Extends<A, B> = A extends B ? true : false
export type _Checks = [
  Check<Extends<S['ValidationReport'], ValidateResult>>,
  Check<Extends<S['Template'], Omit<Template, 'graph' | 'train'>>>,
  Check<Extends<S['DesignOut'], DesignSummary>>,
  Check<Extends<S['PortInfo'], Port>>,
  Check<Extends<DocEdge, S['Edge']>>,
  Check<Extends<GraphDoc, S['GraphDoc']>>,
  Check<Extends<ArgSpec, S['ArgSpec']>>,
]

// ---- training
export type DatasetInfo = Omit<S['DatasetInfo'], 'params_schema'> & { params_schema: JsonSchema }
export type RunOut = S['RunOut']
export type RunCreate = S['RunCreate']
type WithSchema<T> = Omit<T, 'params_schema'> & { params_schema: JsonSchema }
/** GET /api/options: the optimizers, losses, schedules and metrics a run can use, each with its params' schema */
export type Options = {
  optimizers: WithSchema<S['Option']>[]
  losses: WithSchema<S['LossOption']>[]
  schedules: WithSchema<S['Option']>[]
  metrics: WithSchema<S['MetricOption']>[]
}
export type _OptionsCheck = Check<Extends<Options, S['Options']>>
export type Samples = S['Samples']
export type PredictResult = { outputs: unknown[]; probabilities?: number[][]; predicted?: number[]; labels?: string[] }

// ---- models in and out, evaluation, sweeps
export type ExportIn = S['ExportIn']
export type Unsupported = S['Unsupported']
export type Evaluation = S['Evaluation']
export type SweepCreate = S['SweepCreate']
export type SweepOut = S['SweepOut']
export type Trial = S['Trial']
