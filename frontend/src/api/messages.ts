// The run stream's messages (the websocket and GET /api/runs/{id}/metrics): the server's pydantic
// models of each, as the OpenAPI document publishes them (schema.d.ts), one shape per `type`.
import type { components } from './schema'

type S = components['schemas']

export type Hist = S['Histogram']
export type LayerStat = S['LayerStats']
export type ActStat = S['NodeActivation']
export type GridMsg = Omit<S['GridMessage'], 'seq' | 'type'>

export type StreamMsg = S['StepMessage'] | S['StartMessage'] | S['EpochMessage'] | S['StatsMessage'] | S['ActivationsMessage'] | S['GridMessage'] | S['StatusMessage']
