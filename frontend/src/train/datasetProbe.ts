// A dataset as its current settings make it (input shape, classes), asked from the server with one
// sample; the same cached request the dashboard's sample views use.
import { useEffect, useState } from 'react'
import { loadSamples } from './history'

export type Probe = { input_shape: number[]; task: string; classes: number | null } | { error: string }

export function useDatasetProbe(name: string | undefined, params: Record<string, unknown>): Probe | null {
  const key = name ? JSON.stringify([name, params]) : ''
  const [state, setState] = useState<{ key: string; probe: Probe } | null>(null)
  useEffect(() => {
    if (!name) return
    let stop = false
    loadSamples(name, params, 'val', 1).then(
      (s) => !stop && setState({ key, probe: { input_shape: s.input_shape, task: s.task, classes: s.classes?.length ?? null } }),
      (e) => !stop && setState({ key, probe: { error: (e as Error).message } }),
    )
    return () => {
      stop = true
    }
  }, [key]) // eslint-disable-line react-hooks/exhaustive-deps
  return state?.key === key ? state.probe : null
}

export function probeLabel(p: Probe | null): string | null {
  if (!p) return null
  if ('error' in p) return 'settings invalid'
  return `${p.task === 'classification' ? `${p.classes ?? '?'} classes` : 'regression'} · in ${p.input_shape.join('×')}`
}
