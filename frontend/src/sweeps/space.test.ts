import { describe, expect, it } from 'vitest'
import type { Trial } from '../api/types'
import { axes, position, trialValue } from './parcoords'
import { DEFAULT_ROWS, parseChoices, pathSuggestions, toSpace } from './space'

describe('sweep space', () => {
  it('turns the default rows into a log range and choices', () => {
    expect(toSpace(DEFAULT_ROWS)).toEqual({ space: { lr: { low: 0.001, high: 0.1, log: true }, batch_size: { choices: [32, 64] } } })
  })
  it('names the row at fault', () => {
    expect(toSpace([{ ...DEFAULT_ROWS[0], high: 'x' }])).toEqual({ error: 'lr: low and high must be numbers' })
    expect(toSpace([DEFAULT_ROWS[1], DEFAULT_ROWS[1]])).toEqual({ error: 'batch_size: given twice' })
    expect(toSpace([{ ...DEFAULT_ROWS[1], choices: ' , ' }])).toEqual({ error: 'batch_size: give at least one choice' })
  })
  it('parses choices as numbers, booleans or words', () => {
    expect(parseChoices('16, 0.5, true, relu')).toEqual([16, 0.5, true, 'relu'])
  })
  it('offers the numeric fields of each schema, prefixed', () => {
    const schema = { properties: { lr: { type: 'number' }, nesterov: { type: 'boolean' }, eps: { anyOf: [{ type: 'number' }, { type: 'null' }] }, old: { type: 'number', deprecated: true } } }
    expect(pathSuggestions([{ prefix: 'optimizer.', schema }])).toEqual(['optimizer.lr', 'optimizer.eps'])
  })
})

describe('parallel coordinates', () => {
  const trial = (params: Record<string, unknown>, value: number | null): Trial => ({ number: 0, run_id: null, params, state: 'completed', value, epoch: 1 })
  const trials = [trial({ lr: 0.001, batch_size: 32 }, 0.5), trial({ lr: 0.1, batch_size: 64 }, 0.25)]
  const ax = axes({ lr: { low: 0.001, high: 0.1, log: true }, batch_size: { choices: [32, 64] } }, trials, 'val_loss')
  it('puts a log range, choices and the metric on axes', () => {
    expect(ax.map((a) => a.label)).toEqual(['lr', 'batch_size', 'val_loss'])
    expect(position(ax[0], 0.01)).toBeCloseTo(0.5)
    expect(position(ax[1], 64)).toBe(1)
    expect(position(ax[2], trialValue(trials[0], ax[2]))).toBe(1)
    expect(position(ax[2], trialValue(trials[1], ax[2]))).toBe(0)
    expect(position(ax[2], null)).toBeNull()
  })
})
