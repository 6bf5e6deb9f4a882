import { describe, expect, it } from 'vitest'
import { DEAD_BADGE, formatStat, gradColor, gradHealth, gradT, probColor } from './colors'
import { lossColumns, overlayColumns, positiveOrNull } from './series'
import { applyMessages, emptyRun, nodeOfKey, normFromMoments, progress, stepsPerEpoch, summarize, type LayerStat, type StreamMsg } from './stream'

const layer = (name: string, shape: number[], grad: number, extra: Partial<LayerStat> = {}): LayerStat => ({
  name,
  shape,
  mean: 0,
  std: 1,
  min: -2,
  max: 2,
  grad_norm: grad,
  update_ratio: 0.01,
  nonfinite: 0,
  hist: { edges: [-2, 0, 2], counts: [3, 4] },
  ...extra,
})

describe('stream reducer', () => {
  it('applies steps, epochs, stats, activations, grid and status', () => {
    const d = emptyRun()
    const msgs: StreamMsg[] = [
      { seq: 1, type: 'status', status: 'running' },
      { seq: 2, type: 'step', step: 1, epoch: 1, loss: 0.7 },
      { seq: 3, type: 'stats', step: 1, layers: [layer('h1.weight', [4, 2], 3), layer('h1.bias', [4], 4), layer('res1.conv.weight', [2, 2], 1)] },
      { seq: 4, type: 'activations', step: 1, nodes: [{ node: 'a1', mean: 0.1, std: 0.2, dead_fraction: 0.5 }] },
      { seq: 5, type: 'epoch', epoch: 1, step: 10, train_loss: 0.6, val_loss: 0.65, val_accuracy: 0.7 },
      { seq: 6, type: 'grid', step: 10, x_range: [0, 1], y_range: [0, 1], size: 2, values: [[0, 1], [1, 0]], classes: [[0, 1], [1, 0]] },
      { seq: 7, type: 'status', status: 'completed' },
    ]
    expect(applyMessages(d, msgs)).toBe(true)
    expect(d.lastSeq).toBe(7)
    expect(d.gaps).toEqual([])
    expect(d.steps.loss).toEqual([0.7])
    expect(d.epochs.acc).toEqual([0.7])
    expect(d.lastEpoch).toBe(1)
    expect(Object.keys(d.nodes).sort()).toEqual(['h1', 'res1'])
    expect(d.nodes.h1.gradNorm).toBeCloseTo(5) // sqrt(3² + 4²)
    expect(d.nodes.h1.layers).toHaveLength(2)
    expect(d.nodes.h1.hist).toBe(d.nodes.h1.layers[0].hist) // the weight's, the bigger tensor
    expect(d.series.h1.gradNorm).toEqual([d.nodes.h1.gradNorm])
    expect(d.acts.a1.dead).toBe(0.5)
    expect(d.grid?.size).toBe(2)
    expect(d.status).toBe('completed')
  })

  it('drops duplicates and records gaps', () => {
    const d = emptyRun()
    applyMessages(d, [
      { seq: 1, type: 'step', step: 1, epoch: 1, loss: 1 },
      { seq: 2, type: 'step', step: 2, epoch: 1, loss: 0.9 },
    ])
    // a replay that overlaps what is there already: nothing doubles
    expect(applyMessages(d, [{ seq: 2, type: 'step', step: 2, epoch: 1, loss: 0.9 }])).toBe(false)
    expect(d.duplicates).toBe(1)
    expect(d.steps.step).toEqual([1, 2])
    applyMessages(d, [{ seq: 5, type: 'step', step: 5, epoch: 1, loss: 0.5 }])
    expect(d.gaps).toEqual([{ after: 2, got: 5 }])
    expect(d.lastSeq).toBe(5)
    expect(d.seqCount).toBe(3)
  })

  it('resuming after=N continues without gaps', () => {
    const all: StreamMsg[] = Array.from({ length: 20 }, (_, i) => ({ seq: i + 1, type: 'step', step: i + 1, epoch: 1, loss: 1 / (i + 1) }))
    const d = emptyRun()
    applyMessages(d, all.slice(0, 8)) // replayed from /metrics
    applyMessages(d, all.filter((m) => m.seq > d.lastSeq)) // the socket, ?after=8
    expect(d.gaps).toEqual([])
    expect(d.steps.step).toEqual(all.map((m) => (m as { step: number }).step))
  })

  it('maps state_dict keys to the top-level node', () => {
    expect(nodeOfKey('h1.weight')).toBe('h1')
    expect(nodeOfKey('res1.conv1.weight')).toBe('res1')
    expect(nodeOfKey('0.1.weight')).toBe('0')
    expect(nodeOfKey('solo')).toBe('solo')
  })

  it('computes norms from moments and counts non-finite values', () => {
    expect(normFromMoments([4], 1, 0)).toBeCloseTo(2)
    expect(normFromMoments([2, 2], 0, 1)).toBeCloseTo(Math.sqrt(3))
    expect(normFromMoments([3], 1, 1)).toBeCloseTo(Math.sqrt(5)) // [0, 1, 2]
    const s = summarize(3, [layer('x.weight', [2], 1, { mean: null, nonfinite: 2 })])
    expect(s.x.nonfinite).toBe(3)
  })

  it('estimates progress and ETA', () => {
    const d = emptyRun()
    applyMessages(d, [{ seq: 1, type: 'step', step: 10, epoch: 1, loss: 1 }], 1000)
    applyMessages(d, [{ seq: 2, type: 'step', step: 20, epoch: 1, loss: 1 }], 2000)
    const p = progress(d, 2, 20)
    expect(p.frac).toBeCloseTo(0.5)
    expect(p.eta).toBeGreaterThan(0)
  })

  it('takes steps per epoch from the start message', () => {
    const d = emptyRun()
    expect(stepsPerEpoch(d)).toBeNull()
    expect(progress(d, 4).frac).toBe(0)
    applyMessages(d, [
      { seq: 1, type: 'status', status: 'running' },
      { seq: 2, type: 'start', epochs: 4, steps_per_epoch: 10, batch_size: 32, n_train: 300, n_val: 75 },
    ])
    expect(d.stepsPerEpoch).toBe(10)
    expect([d.nTrain, d.nVal]).toEqual([300, 75])
    applyMessages(d, [{ seq: 3, type: 'step', step: 5, epoch: 1, loss: 1 }], 1000)
    applyMessages(d, [{ seq: 4, type: 'step', step: 10, epoch: 1, loss: 1 }], 2000)
    const p = progress(d, 4) // 10 of 40 steps
    expect(p.frac).toBeCloseTo(0.25)
    expect(p.eta).toBeCloseTo(3) // 5 steps a second, 30 to go
    // the server's count wins over the epoch messages' ratio (a short last batch)
    applyMessages(d, [{ seq: 5, type: 'epoch', epoch: 1, step: 9, train_loss: 1, val_loss: 1 }])
    expect(stepsPerEpoch(d)).toBe(10)
  })

  it('falls back to the epoch messages for runs without a start message', () => {
    const d = emptyRun()
    applyMessages(d, [
      { seq: 1, type: 'step', step: 8, epoch: 1, loss: 1 },
      { seq: 2, type: 'epoch', epoch: 1, step: 8, train_loss: 1, val_loss: 1 },
    ])
    expect(stepsPerEpoch(d)).toBe(8)
    expect(progress(d, 2).frac).toBeCloseTo(0.5)
    applyMessages(d, [{ seq: 3, type: 'status', status: 'completed' }])
    expect(progress(d, 2)).toEqual({ frac: 1, eta: 0 })
  })
})

describe('stat -> colour', () => {
  it('orders gradient norms on a log scale', () => {
    expect(gradT(1e-6)).toBe(0)
    expect(gradT(1e2)).toBe(1)
    expect(gradT(1e-2)).toBeCloseTo(0.5)
    expect(gradT(0)).toBe(0)
  })
  it('gives distinct colours to vanishing, healthy, exploding and non-finite', () => {
    const cs = [gradColor(1e-7), gradColor(1e-2), gradColor(1e3), gradColor(Infinity), gradColor(null)]
    expect(new Set(cs).size).toBe(5)
    expect(gradColor(Infinity)).toBe('#ff2bd6')
  })
  it('classifies health', () => {
    expect(gradHealth(1e-7)).toBe('vanishing')
    expect(gradHealth(0.1)).toBe('ok')
    expect(gradHealth(1e3)).toBe('exploding')
    expect(gradHealth(0.1, 1)).toBe('nonfinite')
    expect(gradHealth(NaN)).toBe('none')
    expect(DEAD_BADGE).toBeGreaterThan(0)
  })
  it('maps probabilities between the two class colours', () => {
    expect(probColor(0)).toEqual([245, 146, 62])
    expect(probColor(1)).toEqual([60, 140, 230])
    expect(probColor(-3)).toEqual(probColor(0))
  })
  it('formats numbers compactly', () => {
    expect(formatStat(null)).toBe('–')
    expect(formatStat(0.000012)).toBe('1.2e-5')
    expect(formatStat(3.14159)).toBe('3.14')
    expect(formatStat(Infinity)).toBe('∞')
  })
})

describe('chart columns', () => {
  it('puts epoch losses at their steps', () => {
    const d = emptyRun()
    applyMessages(d, [
      { seq: 1, type: 'step', step: 5, epoch: 1, loss: 1 },
      { seq: 2, type: 'step', step: 10, epoch: 1, loss: 0.8 },
      { seq: 3, type: 'epoch', epoch: 1, step: 10, train_loss: 0.9, val_loss: 0.85 },
    ])
    expect(lossColumns(d)).toEqual([[5, 10], [1, 0.8], [null, 0.9], [null, 0.85]])
  })
  it('overlays runs on a common epoch axis', () => {
    expect(overlayColumns([{ epoch: [1, 2], values: [1, 0.5] }, { epoch: [1, 2, 3], values: [2, 1, NaN] }])).toEqual([
      [1, 2, 3],
      [1, 0.5, null],
      [2, 1, null],
    ])
    expect(positiveOrNull(0)).toBeNull()
  })
})

describe('training settings', async () => {
  const { readFileSync } = await import('node:fs')
  const read = (f: string) => JSON.parse(readFileSync(new URL(`../api/fixtures/${f}.json`, import.meta.url), 'utf8'))
  const options = read('options') as import('../api/types').Options
  const datasets = read('datasets') as import('../api/types').DatasetInfo[]
  const { effective, runSettings } = await import('./settings')
  it('leave every default to the server, filling in only a dataset and the usual loss for its task', () => {
    const body = runSettings({}, datasets, options)
    expect(Object.keys(body).sort()).toEqual(['dataset', 'loss'])
    expect(body.dataset.name).toBe(datasets[0].name)
    const usual = options.losses.find((l) => l.usual && l.task === datasets[0].task)!
    expect(body.loss).toBe(usual.name)
    const reg = datasets.find((d) => d.task === 'regression')!
    expect(effective({ dataset: { name: reg.name } }, datasets, options).loss).toBe(options.losses.find((l) => l.usual && l.task === 'regression')!.name)
  })
  it('keep what was set, and show the registry default optimizer when none is', () => {
    const opt = { name: options.optimizers[0].name, lr: 0.5 }
    expect(runSettings({ optimizer: opt as import("./settings").TrainSettings["optimizer"], epochs: 3 }, datasets, options)).toMatchObject({ optimizer: opt, epochs: 3 })
    expect(effective({}, datasets, options).optimizer).toBe(options.optimizers.find((o) => o.default)!.name)
  })
  it('link runs of a saved design to it', async () => {
    const { buildRunBody } = await import('./actions')
    const { useDesigner } = await import('../store/designer')
    useDesigner.setState({ designId: null })
    expect(buildRunBody()).not.toHaveProperty('graph_id')
    useDesigner.setState({ designId: '42' })
    const body = buildRunBody()
    expect(body).toMatchObject({ graph_id: '42' })
    expect(body.graph?.nodes).toBeDefined() // the graph on the canvas is what trains
    expect(body.graph).not.toHaveProperty('train') // its settings travel in the body, not in the graph
    useDesigner.setState({ designId: null })
  })
})
