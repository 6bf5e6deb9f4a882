// The run stream's messages (the websocket and GET /api/runs/{id}/metrics): the server's pydantic
// models of each, as the OpenAPI document publishes them (schema.d.ts), one shape per `type`.
import type { api } from './client'
import type { components } from './schema'

type S = components['schemas']
/** one message as GET /api/runs/{id}/metrics answers it, typed by openapi-fetch (the websocket sends the same JSON) */
type Metric = Awaited<ReturnType<typeof api.metrics>>[number]

export type Hist = S['Histogram']
export type LayerStat = S['LayerStats']
export type ActStat = S['NodeActivation']
export type StreamMsg = Metric
export type GridMsg = Omit<Extract<StreamMsg, { type: 'grid' }>, 'seq' | 'type'>
