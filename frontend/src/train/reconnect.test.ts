import { describe, expect, it } from 'vitest'
import { afterClose, afterProbe, backoff } from './reconnect'

describe('stream reconnect policy', () => {
  it('backs off from 0.7 s, doubling, to at most 10 s', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map(backoff)).toEqual([700, 1400, 2800, 5600, 10_000, 10_000, 10_000])
  })
  it('stops for an unknown run or a refused request', () => {
    expect(afterClose(4404, true, 0).kind).toBe('stop')
    expect(afterClose(4422, true, 0).kind).toBe('stop')
  })
  it('waits at least 5 s when the run has too many viewers', () => {
    expect(afterClose(4429, true, 0)).toEqual({ kind: 'retry', delayMs: 5_000 })
    expect(afterClose(4429, true, 6)).toEqual({ kind: 'retry', delayMs: 10_000 })
  })
  it('asks the REST API when the handshake never succeeded, retries a dropped open stream', () => {
    expect(afterClose(1006, false, 0)).toEqual({ kind: 'probe' })
    expect(afterClose(1006, true, 1)).toEqual({ kind: 'retry', delayMs: 1400 })
    expect(afterClose(4008, true, 0)).toEqual({ kind: 'retry', delayMs: 700 })
  })
  it('a probe answered 401 or 404 ends the retries; a network failure or 5xx retries', () => {
    // after a 401 the run is kept for the reload that follows the token prompt; a 404 forgets it
    expect(afterProbe(401, 3)).toMatchObject({ kind: 'stop', forget: false })
    expect(afterProbe(404, 3)).toMatchObject({ kind: 'stop', forget: true })
    expect(afterProbe(null, 3)).toEqual({ kind: 'retry', delayMs: 5600 })
    expect(afterProbe(503, 0)).toEqual({ kind: 'retry', delayMs: 700 })
  })
})
