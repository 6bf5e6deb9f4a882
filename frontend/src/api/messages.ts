// The run stream's messages (the websocket and GET /api/runs/{id}/metrics), one shape per `type`.
export type Hist = { edges: number[]; counts: number[] }
export type LayerStat = {
  name: string
  shape: number[]
  mean: number | null
  std: number | null
  min: number | null
  max: number | null
  grad_norm: number | null
  update_ratio: number | null
  nonfinite?: number
  hist?: Hist | null
}
export type ActStat = { node: string; mean: number | null; std: number | null; dead_fraction?: number }
export type GridMsg = { step: number; x_range: [number, number]; y_range: [number, number]; size: number; values: number[][]; classes: number[][] }

export type StreamMsg =
  | { seq: number; type: 'step'; step: number; epoch: number; loss: number; steps_per_epoch?: number }
  | { seq: number; type: 'start'; epochs: number; steps_per_epoch: number; batch_size?: number; n_train?: number; n_val?: number }
  | { seq: number; type: 'epoch'; epoch: number; step: number; lr?: number; train_loss: number | null; val_loss: number; val_accuracy?: number }
  | { seq: number; type: 'stats'; step: number; layers: LayerStat[] }
  | { seq: number; type: 'activations'; step: number; nodes: ActStat[] }
  | ({ seq: number; type: 'grid' } & GridMsg)
  | { seq: number; type: 'status'; status: string; error?: string | null }
  | { seq: number; type: string; [k: string]: unknown }

