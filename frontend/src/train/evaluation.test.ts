import { describe, expect, it } from 'vitest'
import type { Evaluation } from '../api/types'
import { classRows, rowShares, scatterColumns } from './evaluation'

const base = { which: 'best', split: 'val', n: 3 } as const

describe('evaluation plots', () => {
  it('sorts predicted-against-true by the true value and drops non-finite pairs', () => {
    const e: Evaluation = { ...base, task: 'regression', targets: 2, true: [[3, 0], [1, 0], [2, 0], [Number.NaN, 0]], predicted: [[2.5, 9], [1.5, 9], [2, 9], [1, 9]] }
    expect(scatterColumns(e)).toEqual([[1, 2, 3], [1.5, 2, 2.5], [1, 2, 3]])
    expect(scatterColumns(e, 1)[1]).toEqual([9, 9, 9, 9])
  })
  it('shades each cell by its share of the true class', () => {
    expect(rowShares([[3, 1], [0, 0]])).toEqual([[0.75, 0.25], [0, 0]])
  })
  it('types the per-class rows', () => {
    const e: Evaluation = { ...base, task: 'classification', per_class: [{ class: 'a', support: 2, correct: 1, accuracy: 0.5, precision: null }] }
    expect(classRows(e)).toEqual([{ class: 'a', support: 2, correct: 1, accuracy: 0.5, precision: null }])
  })
})
