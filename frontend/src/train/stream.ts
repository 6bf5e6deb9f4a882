// The run stream, reduced to what the dashboard draws. Pure and synchronous: messages go in
// (from the websocket or a replay of GET /api/runs/{id}/metrics), in seq order; duplicates are
// dropped and gaps are counted, so a resumed stream can be checked for continuity.

import type { GridMsg, Hist, LayerStat, StreamMsg } from '../api/messages'

export type { GridMsg, Hist, LayerStat, StreamMsg }

/** One node's summary of its parameters (all tensors whose state_dict key starts with it). */
export type NodeStat = {
  step: number
  weightNorm: number
  gradNorm: number
  updateRatio: number | null
  nonfinite: number
  hist: Hist | null
  layers: LayerStat[]
}
export type NodeAct = { mean: number | null; std: number | null; dead?: number }

/** A node's history, for the drawer: one point per stats message. */
export type NodeSeries = { step: number[]; weightNorm: number[]; gradNorm: number[]; updateRatio: (number | null)[] }

export const FINISHED = ['completed', 'failed', 'stopped', 'interrupted']

export type RunData = {
  lastSeq: number
  /** every seq applied, in order (for the continuity check) */
  seqCount: number
  gaps: { after: number; got: number }[]
  duplicates: number
  status: string
  error: string | null
  steps: { step: number[]; epoch: number[]; loss: (number | null)[] }
  epochs: { epoch: number[]; step: number[]; train: (number | null)[]; val: (number | null)[]; acc: (number | null)[] }
  lastStep: number
  lastEpoch: number
  /** from the start message (runs before it lack it) */
  stepsPerEpoch: number | null
  /** training and validation samples, from the start message */
  nTrain: number | null
  nVal: number | null
  nodes: Record<string, NodeStat>
  series: Record<string, NodeSeries>
  acts: Record<string, NodeAct>
  grid: GridMsg | null
  gridCount: number
  statsCount: number
  firstStepAt: number | null
  lastStepAt: number | null
}

export function emptyRun(): RunData {
  return {
    lastSeq: 0,
    seqCount: 0,
    gaps: [],
    duplicates: 0,
    status: 'queued',
    error: null,
    steps: { step: [], epoch: [], loss: [] },
    epochs: { epoch: [], step: [], train: [], val: [], acc: [] },
    lastStep: 0,
    lastEpoch: 0,
    stepsPerEpoch: null,
    nTrain: null,
    nVal: null,
    nodes: {},
    series: {},
    acts: {},
    grid: null,
    gridCount: 0,
    statsCount: 0,
    firstStepAt: null,
    lastStepAt: null,
  }
}

/** `h1.weight` -> `h1`; `res1.conv1.weight` -> `res1` (the instance on the top-level canvas). */
export function nodeOfKey(key: string): string {
  const i = key.indexOf('.')
  return i < 0 ? key : key.slice(0, i)
}

function numel(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1)
}

/** L2 norm of a tensor from its mean and (unbiased) std: sum x² = n·mean² + (n-1)·std². */
export function normFromMoments(shape: number[], mean: number | null, std: number | null): number {
  const n = numel(shape)
  if (mean == null || std == null || !n) return NaN
  return Math.sqrt(n * mean * mean + Math.max(0, n - 1) * std * std)
}

/** Group one stats message's layers by canvas node. */
export function summarize(step: number, layers: LayerStat[]): Record<string, NodeStat> {
  const out: Record<string, NodeStat> = {}
  for (const l of layers) {
    const id = nodeOfKey(l.name)
    const cur = (out[id] ??= { step, weightNorm: 0, gradNorm: 0, updateRatio: null, nonfinite: 0, hist: null, layers: [] })
    cur.layers.push(l)
    const w = normFromMoments(l.shape, l.mean, l.std)
    cur.weightNorm += Number.isFinite(w) ? w * w : 0
    cur.gradNorm += l.grad_norm != null && Number.isFinite(l.grad_norm) ? l.grad_norm * l.grad_norm : 0
    cur.nonfinite += l.nonfinite ?? 0
    if (l.mean == null || l.std == null) cur.nonfinite += 1
    if (l.update_ratio != null) cur.updateRatio = Math.max(cur.updateRatio ?? 0, l.update_ratio)
    // the sparkline shows the biggest tensor of the node (the weight, not the bias)
    if (l.hist && (!cur.hist || numel(l.shape) > numel(cur.layers.find((x) => x.hist === cur.hist)?.shape ?? []))) cur.hist = l.hist
  }
  for (const s of Object.values(out)) {
    s.weightNorm = Math.sqrt(s.weightNorm)
    s.gradNorm = Math.sqrt(s.gradNorm)
  }
  return out
}

/**
 * Apply messages in place. Returns true when anything changed. A message with seq <= lastSeq
 * is a duplicate (a replay overlapping the live stream) and is skipped; seq > lastSeq + 1 is a
 * gap and is recorded (it would mean lost data).
 */
export function applyMessages(d: RunData, msgs: StreamMsg[], now = Date.now()): boolean {
  let changed = false
  for (const m of msgs) {
    if (typeof m.seq !== 'number') continue
    if (m.seq <= d.lastSeq) {
      d.duplicates++
      continue
    }
    if (m.seq !== d.lastSeq + 1) d.gaps.push({ after: d.lastSeq, got: m.seq })
    d.lastSeq = m.seq
    d.seqCount++
    changed = true
    applyOne(d, m, now)
  }
  return changed
}

function applyOne(d: RunData, m: StreamMsg, now: number) {
  switch (m.type) {
    case 'step':
      d.steps.step.push(m.step)
      d.steps.epoch.push(m.epoch)
      d.steps.loss.push(m.loss)
      d.lastStep = m.step
      d.lastEpoch = Math.max(d.lastEpoch, m.epoch - 1)
      if (d.firstStepAt == null) d.firstStepAt = now
      d.lastStepAt = now
      if (d.status === 'queued') d.status = 'running'
      break
    case 'start':
      if (m.steps_per_epoch > 0) d.stepsPerEpoch = m.steps_per_epoch
      d.nTrain = m.n_train
      d.nVal = m.n_val
      break
    case 'epoch':
      d.epochs.epoch.push(m.epoch)
      d.epochs.step.push(m.step)
      d.epochs.train.push(m.train_loss ?? null)
      d.epochs.val.push(m.val_loss ?? null)
      d.epochs.acc.push(m.val_accuracy ?? null)
      d.lastEpoch = Math.max(d.lastEpoch, m.epoch)
      d.lastStep = Math.max(d.lastStep, m.step)
      break
    case 'stats': {
      const sum = summarize(m.step, m.layers)
      d.nodes = { ...d.nodes, ...sum }
      for (const [id, st] of Object.entries(sum)) {
        const ser = (d.series[id] ??= { step: [], weightNorm: [], gradNorm: [], updateRatio: [] })
        ser.step.push(m.step)
        ser.weightNorm.push(st.weightNorm)
        ser.gradNorm.push(st.gradNorm)
        ser.updateRatio.push(st.updateRatio)
      }
      d.statsCount++
      break
    }
    case 'activations': {
      const acts: Record<string, NodeAct> = { ...d.acts }
      for (const n of m.nodes) acts[nodeOfKey(n.node)] = { mean: n.mean, std: n.std, dead: n.dead_fraction ?? undefined }
      d.acts = acts
      break
    }
    case 'grid': {
      const { seq: _s, type: _t, ...g } = m
      d.grid = g
      d.gridCount++
      break
    }
    case 'status':
      d.status = m.status
      if (m.error) d.error = m.error
      break
  }
}

export function isFinished(status: string): boolean {
  return FINISHED.includes(status)
}

/**
 * Optimizer steps per epoch: as the start message (or a step message) says, else (runs streamed before the server
 * sent it) from the first epoch message; null while neither has come.
 */
export function stepsPerEpoch(d: RunData): number | null {
  if (d.stepsPerEpoch) return d.stepsPerEpoch
  for (let i = 0; i < d.epochs.epoch.length; i++) if (d.epochs.epoch[i] > 0) return d.epochs.step[i] / d.epochs.epoch[i]
  return null
}

/** Progress 0..1 and an ETA in seconds (null until there is a rate to go by). */
export function progress(d: RunData, epochs: number, spe: number | null = stepsPerEpoch(d)): { frac: number; eta: number | null } {
  const stepsPerEpoch = spe
  if (isFinished(d.status) && d.status === 'completed') return { frac: 1, eta: 0 }
  const total = stepsPerEpoch ? epochs * stepsPerEpoch : null
  const frac = total ? Math.min(1, d.lastStep / total) : epochs ? Math.min(1, d.lastEpoch / epochs) : 0
  let eta: number | null = null
  if (d.firstStepAt != null && d.lastStepAt != null && frac > 0 && frac < 1 && d.lastStepAt > d.firstStepAt) {
    const rate = frac / ((d.lastStepAt - d.firstStepAt) / 1000)
    if (rate > 0) eta = (1 - frac) / rate
  }
  return { frac, eta }
}
