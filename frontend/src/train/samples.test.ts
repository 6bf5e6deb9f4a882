import { describe, expect, it } from 'vitest'
import { classOf, datasetOfRun, formatSample, numel, pointsOnGrid, sampleRows, shownRuns } from './samples'

describe('dataset samples', () => {
  it('finds the dataset of a run', () => {
    expect(datasetOfRun({ config: { dataset: { name: 'moons', params: { n: 200 } } } })).toEqual({ name: 'moons', params: { n: 200 } })
    expect(datasetOfRun({ config: { dataset: { name: 'moons' } } })).toEqual({ name: 'moons', params: {} })
    expect(datasetOfRun({ config: {} })).toBeNull()
    expect(datasetOfRun(null)).toBeNull()
  })

  it('reads class targets', () => {
    expect(classOf(2)).toBe(2)
    expect(classOf([1])).toBe(1)
    expect(classOf([0, 0, 1])).toBe(2)
    expect(classOf(0.5)).toBeNull()
    expect(classOf('a')).toBeNull()
  })

  it('places 2-D points on the grid square, y up, dropping those outside', () => {
    const s = { task: 'classification' as const, inputs: [[-1, -1], [1, 1], [0, 0], [5, 0], [1, 2, 3]], targets: [0, 1, [1], 0, 0] }
    const pts = pointsOnGrid(s, [-1, 1], [-1, 1], 300)
    expect(pts).toHaveLength(3)
    expect(pts[0]).toMatchObject({ px: 0, py: 300, cls: 0 }) // bottom left
    expect(pts[1]).toMatchObject({ px: 300, py: 0, cls: 1 }) // top right
    expect(pts[2]).toMatchObject({ px: 150, py: 150, cls: 1 })
    // regression targets carry no class; a degenerate range draws nothing
    expect(pointsOnGrid({ ...s, task: 'regression' }, [-1, 1], [-1, 1], 10)[0].cls).toBeNull()
    expect(pointsOnGrid(s, [1, 1], [-1, 1], 10)).toEqual([])
  })

  it('formats small samples in full and big ones by shape', () => {
    expect(formatSample([0.123456, -2])).toBe('[0.123, -2]')
    expect(numel([[1, 2], [3, 4]])).toBe(4)
    expect(formatSample([Array(28).fill(Array(28).fill(0))])).toBe('tensor [1×28×28]')
  })

  it('marks wrong classifications', () => {
    const rows = sampleRows(
      { task: 'classification', inputs: [[0, 0], [1, 1]], targets: [0, 1] },
      { outputs: [[2, 1], [3, 0]], probabilities: [[0.7, 0.3], [0.9, 0.1]], predicted: [0, 0] },
    )
    expect(rows.map((r) => r.wrong)).toEqual([false, true])
    expect(rows[1]).toMatchObject({ targetClass: 1, predicted: 0, confidence: 0.9 })
  })

  it('gives regression rows their absolute error', () => {
    const rows = sampleRows({ task: 'regression', inputs: [[0], [1]], targets: [[1], 2] }, { outputs: [[1.5], [1]] })
    expect(rows.map((r) => r.error)).toEqual([0.5, 1])
    expect(rows[0].wrong).toBeNull()
  })
})

describe('run history filter', () => {
  const runs = [
    { id: 'a', name: 'Spirals', graph_id: '7' },
    { id: 'b', name: 'Spirals', graph_id: null },
    { id: 'c', name: 'Spirals', graph_id: '8' },
    { id: 'd', name: 'Other' },
  ]
  it('shows a saved design its own runs, by graph_id', () => {
    expect(shownRuns(runs, { all: false, designId: '7', name: 'Spirals' }).map((r) => r.id)).toEqual(['a'])
  })
  it('falls back to the name for unsaved designs', () => {
    expect(shownRuns(runs, { all: false, designId: null, name: 'Spirals' }).map((r) => r.id)).toEqual(['a', 'b', 'c'])
  })
  it('shows everything with "all designs"', () => {
    expect(shownRuns(runs, { all: true, designId: '7', name: 'Spirals' })).toHaveLength(4)
  })
})

describe('the run list', () => {
  it('shows the run on screen in its live status', async () => {
    const { withLiveStatus } = await import('./samples')
    const runs = [
      { id: 'a', status: 'queued' },
      { id: 'b', status: 'completed' },
    ]
    expect(withLiveStatus(runs, 'a', 'running').map((r) => r.status)).toEqual(['running', 'completed'])
    // before the stream has said anything, the list's own status stands
    expect(withLiveStatus(runs, 'b', 'queued')).toBe(runs)
    expect(withLiveStatus(runs, null, 'running')).toBe(runs)
  })
})

describe('image samples', () => {
  it('are recognised by their shape', async () => {
    const { imageShape } = await import('./SampleImage')
    const img = (c: number, h: number, w: number) => Array.from({ length: c }, () => Array.from({ length: h }, () => new Array(w).fill(0)))
    expect(imageShape(img(1, 8, 8))).toEqual([1, 8, 8])
    expect(imageShape(img(3, 8, 8))).toEqual([3, 8, 8])
    expect(imageShape(img(1, 8, 8)[0])).toEqual([1, 8, 8])
    expect(imageShape([0.5, 0.5])).toBeNull()
    expect(imageShape(img(5, 8, 8))).toBeNull()
  })
})
