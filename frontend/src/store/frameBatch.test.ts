import { describe, expect, it } from 'vitest'
import { frameBatch } from './frameBatch'

type Move = { id: string; x: number }

function setup() {
  const applied: Move[][] = []
  const frames: (() => void)[] = []
  const b = frameBatch<string, Move>((items) => applied.push(items), (m) => m.id, (cb) => frames.push(cb))
  return { applied, frames, b }
}

describe('frameBatch', () => {
  it('applies once per frame, the newest item per key, in first-seen key order', () => {
    const { applied, frames, b } = setup()
    b.push([{ id: 'a', x: 1 }, { id: 'b', x: 1 }])
    b.push([{ id: 'a', x: 2 }])
    b.push([{ id: 'b', x: 3 }, { id: 'c', x: 1 }])
    expect(applied).toEqual([])
    expect(frames).toHaveLength(1) // one frame asked for, however many pushes
    frames[0]()
    expect(applied).toEqual([[{ id: 'a', x: 2 }, { id: 'b', x: 3 }, { id: 'c', x: 1 }]])
    b.push([{ id: 'a', x: 9 }])
    expect(frames).toHaveLength(2)
    frames[1]()
    expect(applied[1]).toEqual([{ id: 'a', x: 9 }])
  })
  it('flush applies at once, and the frame that follows finds nothing to do', () => {
    const { applied, frames, b } = setup()
    b.push([{ id: 'a', x: 1 }])
    b.flush()
    expect(applied).toEqual([[{ id: 'a', x: 1 }]])
    frames[0]()
    expect(applied).toHaveLength(1)
    b.flush()
    expect(applied).toHaveLength(1)
  })
})
