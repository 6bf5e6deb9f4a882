import { describe, expect, it } from 'vitest'
import { settingsDiff } from './settingsDiff'

describe('settings diff', () => {
  it('lists only what differs, nested keys dotted, absent ones dashed', () => {
    const a = { dataset: { name: 'spirals', params: { n: 100 } }, optimizer: { name: 'adam', lr: 0.01 }, epochs: 12 }
    const b = { dataset: { name: 'spirals', params: { n: 100 } }, optimizer: { name: 'adam', lr: 0.001 }, epochs: 12, schedule: { name: 'step' } }
    expect(settingsDiff([a, b])).toEqual([
      { key: 'optimizer.lr', values: ['0.01', '0.001'] },
      { key: 'schedule.name', values: ['–', '"step"'] },
    ])
    expect(settingsDiff([a, a])).toEqual([])
  })
})
