import { describe, expect, it } from 'vitest'
import { keepSame } from './useTuple'

describe('keepSame', () => {
  const a = { x: 1 }
  it('hands back the previous array while its elements are the same objects', () => {
    const prev = [a, 'n1', true] as const
    expect(keepSame(prev, [a, 'n1', true] as const)).toBe(prev)
  })
  it('takes the new array when an element, the length or an object identity differs', () => {
    const prev = [a, 'n1'] as const
    for (const next of [[a, 'n2'], [a, 'n1', 'n3'], [{ x: 1 }, 'n1'], [a]] as const) expect(keepSame<readonly unknown[]>(prev, next)).toBe(next)
    expect(keepSame(undefined, prev)).toBe(prev)
  })
  it('compares NaN as itself, as Object.is does', () => {
    const prev = [Number.NaN]
    expect(keepSame(prev, [Number.NaN])).toBe(prev)
  })
})
