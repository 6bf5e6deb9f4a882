// API shapes used by the UI. Where the generated OpenAPI schema (schema.d.ts, `npm run gen:api`)
// describes a response precisely these types are checked against it in client.ts; the graph
// document is typed here because the canvas needs a stricter shape than JSON schema gives.

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

export type BlockInfo = {
  type: string
  category: string
  doc: string
  params_schema: JsonSchema
  ports: Port[]
  parameters: string[]
}

export type InitInfo = { fn: string; params_schema: JsonSchema; doc?: string }

export type InitSpec = { fn: string; [k: string]: unknown }

export type DocNode = {
  id: string
  type: string
  params?: Record<string, unknown>
  shares?: string | null
  init?: Record<string, InitSpec> | null
  trainable?: boolean | null
  position?: { x: number; y: number }
  [k: string]: unknown
}

export type DocEdge = { source: string; target: string; target_port?: string | null }

export type BlockDef = { nodes: DocNode[]; edges: DocEdge[]; [k: string]: unknown }

export type GraphDoc = {
  version: 1
  name: string
  nodes: DocNode[]
  edges: DocEdge[]
  blocks: Record<string, BlockDef>
  [k: string]: unknown
}

export type ValidationError = {
  node?: string | null
  field?: string | null
  message: string
  /** dotted path to the faulty node through block instances, e.g. "res1.add" */
  path?: string | null
  /** the block definition the faulty node is in */
  block?: string | null
}
export type NodeInfo = {
  output_shape?: number[] | null
  params: number
  /** settings as the server resolved them (inferred in_features, defaults, ...) */
  resolved?: Record<string, unknown>
  /** for block instances: the inner nodes of this instance */
  inner?: Record<string, NodeInfo>
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

export type DesignSummary = { id: string; name: string; created_at: string; updated_at: string }
export type Design = DesignSummary & { graph: GraphDoc }
