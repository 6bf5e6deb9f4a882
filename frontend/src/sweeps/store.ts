// Sweeps on screen: the list, the sweep opened (polled while it runs) and what the form is doing.
// A sweep's trials are ordinary runs: opening one hands it to the Train panel.
import { create } from 'zustand'
import { api, ApiError } from '../api/client'
import type { RunCreate, SweepCreate, SweepOut, ValidationError } from '../api/types'
import { notify } from '../store/toast'
import { attachRun } from '../train/connection'
import { refreshHistory } from '../train/history'
import { ACTIVE_KEY, useTrain } from '../train/store'

type SweepState = {
  list: SweepOut[]
  current: SweepOut | null
  starting: boolean
  error: { message: string; errors: ValidationError[] } | null
}

export const useSweeps = create<SweepState>()(() => ({ list: [], current: null, starting: false, error: null }))

const POLL_MS = 1000
let timer: number | undefined
let openId: string | null = null

export async function loadSweeps() {
  try {
    useSweeps.setState({ list: await api.sweeps() })
  } catch (e) {
    notify(`Cannot list the sweeps: ${(e as Error).message}`, 'error')
  }
}

/** Show one sweep, and poll it until it ends. */
export async function openSweep(id: string | null) {
  openId = id
  window.clearTimeout(timer)
  if (!id) return useSweeps.setState({ current: null })
  const tick = async () => {
    if (openId !== id) return
    try {
      const s = await api.sweep(id)
      if (openId !== id) return
      useSweeps.setState((st) => ({ current: s, list: st.list.some((x) => x.id === id) ? st.list.map((x) => (x.id === id ? s : x)) : [s, ...st.list] }))
      if (s.status === 'running') timer = window.setTimeout(() => void tick(), POLL_MS)
    } catch (e) {
      notify(`Cannot read the sweep: ${(e as Error).message}`, 'error')
    }
  }
  await tick()
}

export function closeSweeps() {
  openId = null
  window.clearTimeout(timer)
}

function refusal(e: unknown): SweepState['error'] {
  if (e instanceof ApiError) {
    const d = (e.body as { detail?: unknown } | null)?.detail
    if (d && typeof d === 'object' && !Array.isArray(d) && 'errors' in d) return d as { message: string; errors: ValidationError[] }
    if (Array.isArray(d))
      return { message: 'the sweep is invalid', errors: d.map((x: { loc?: unknown[]; msg?: string }) => ({ node: null, field: (x.loc ?? []).slice(1).join('.'), message: x.msg ?? '' })) }
    return { message: typeof d === 'string' ? d : e.message, errors: [] }
  }
  return { message: (e as Error).message, errors: [] }
}

export async function startSweep(body: SweepCreate): Promise<string | null> {
  useSweeps.setState({ starting: true, error: null })
  try {
    const { id } = await api.createSweep(body)
    await openSweep(id)
    return id
  } catch (e) {
    useSweeps.setState({ error: refusal(e) })
    return null
  } finally {
    useSweeps.setState({ starting: false })
  }
}

export async function stopSweep(id: string) {
  try {
    await api.stopSweep(id)
    await openSweep(id)
  } catch (e) {
    notify(`Stop failed: ${(e as Error).message}`, 'error')
  }
}

/** A trial's run (or a new one) on the Train panel. */
export async function showRun(id: string) {
  useTrain.setState({ tab: 'train' })
  await attachRun(id)
}

/** Start an ordinary run from the best trial's body (the sweep's `best_run`). */
export async function runBest(s: SweepOut) {
  if (!s.best_run) return
  try {
    const { id } = await api.createRun({ ...(s.best_run as RunCreate), name: `${s.name}: best trial` })
    localStorage.setItem(ACTIVE_KEY, id)
    await showRun(id)
    void refreshHistory()
  } catch (e) {
    notify(`Cannot start the run: ${(e as Error).message}`, 'error')
  }
}
