// The run on screen: its stored history replayed, then the live stream followed from the last
// seq, reconnecting with back-off until the run ends (or the server says it never will).
import { api, ApiError, withToken } from '../api/client'
import type { RunOut } from '../api/types'
import { refreshHistory } from './history'
import { afterClose, afterProbe, type AfterClose } from './reconnect'
import { applyMessages, isFinished, type StreamMsg } from './stream'
import { ACTIVE_KEY, initial, useTrain } from './store'

type Debug = { runId: string | null; seqs: number[]; connects: { after: number; at: number }[]; replayed: number; gaps: number }
const debug: Debug = { runId: null, seqs: [], connects: [], replayed: 0, gaps: 0 }
if (typeof window !== 'undefined') (window as unknown as { __blocklab?: unknown }).__blocklab = debug

let ws: WebSocket | null = null
let pending: StreamMsg[] = []
let flushTimer: number | undefined
let reconnectTimer: number | undefined
let generation = 0
let attempts = 0 // reconnects since the last successful open

function flush() {
  flushTimer = undefined
  const st = useTrain.getState()
  const msgs = pending
  pending = []
  if (!msgs.length) return
  const d = st.data
  const was = d.status
  let last = d.lastSeq
  for (const m of msgs)
    if (m.seq > last) {
      debug.seqs.push(m.seq)
      last = m.seq
    }
  if (!applyMessages(d, msgs)) return
  debug.gaps = d.gaps.length
  useTrain.setState({ version: st.version + 1, nodeStats: d.nodes, nodeActs: d.acts })
  if (!isFinished(was) && isFinished(d.status)) void onFinished(st.runId!)
}

function queue(msgs: StreamMsg[]) {
  pending.push(...msgs)
  if (flushTimer === undefined) flushTimer = window.setTimeout(flush, 50)
}

async function onFinished(id: string) {
  if (localStorage.getItem(ACTIVE_KEY) === id) localStorage.removeItem(ACTIVE_KEY)
  // the final summary is stored just after the last message: ask again until it is there
  for (let i = 0; i < 6; i++) {
    try {
      const run = await api.run(id)
      if (useTrain.getState().runId !== id) return
      useTrain.setState({ run })
      if (isFinished(run.status) && run.metrics) break
    } catch {
      /* shown as it is */
    }
    await new Promise((r) => setTimeout(r, 400))
  }
  void refreshHistory()
}

function closeSocket() {
  window.clearTimeout(reconnectTimer)
  if (ws) {
    ws.onclose = null
    ws.onmessage = null
    ws.close()
    ws = null
  }
}

function openSocket(id: string, gen: number) {
  closeSocket()
  flush()
  const after = useTrain.getState().data.lastSeq
  debug.connects.push({ after, at: Date.now() })
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
  const sock = new WebSocket(withToken(`${proto}//${location.host}/api/runs/${encodeURIComponent(id)}/stream?after=${after}`))
  ws = sock
  let opened = false
  sock.onopen = () => {
    opened = true
    attempts = 0
    useTrain.setState({ connected: true, streamError: null })
  }
  sock.onmessage = (e) => {
    try {
      queue([JSON.parse(e.data as string) as StreamMsg])
    } catch {
      /* not JSON: ignored */
    }
  }
  sock.onclose = (e) => {
    if (ws !== sock) return
    ws = null
    useTrain.setState({ connected: false })
    flush()
    if (gen !== generation || isFinished(useTrain.getState().data.status)) return
    void settleClose(id, gen, afterClose(e.code, opened, attempts))
  }
}

/** The HTTP status of GET /api/runs/{id} (null when the server cannot be reached). */
async function probe(id: string): Promise<number | null> {
  try {
    await api.run(id)
    return 200
  } catch (e) {
    return e instanceof ApiError ? e.status : null
  }
}

/** Reconnect later, or stop and say why; a refused handshake is first explained by a REST call. */
async function settleClose(id: string, gen: number, close: AfterClose) {
  const next = close.kind === 'probe' ? afterProbe(await probe(id), attempts) : close
  if (gen !== generation) return
  if (next.kind === 'stop') {
    useTrain.setState({ streamError: next.message })
    if (next.forget && localStorage.getItem(ACTIVE_KEY) === id) localStorage.removeItem(ACTIVE_KEY)
    return
  }
  attempts++
  reconnectTimer = window.setTimeout(() => gen === generation && openSocket(id, gen), next.delayMs)
}

/** Show a run: replay its stored history (GET /metrics), then follow the live stream from the last seq. */
export async function attachRun(id: string): Promise<void> {
  const gen = ++generation
  closeSocket()
  pending = []
  window.clearTimeout(flushTimer)
  flushTimer = undefined
  debug.runId = id
  debug.seqs = []
  debug.connects = []
  debug.replayed = 0
  debug.gaps = 0
  attempts = 0
  useTrain.setState({ runId: id, run: null, ...initial(), connected: false, streamError: null, drawerNode: null })
  let run: RunOut
  try {
    run = await api.run(id)
  } catch (e) {
    if (gen === generation) useTrain.setState({ runId: null })
    if (localStorage.getItem(ACTIVE_KEY) === id) localStorage.removeItem(ACTIVE_KEY)
    throw e
  }
  if (gen !== generation) return
  useTrain.setState({ run })
  const past = await api.metrics(id, 0)
  if (gen !== generation) return
  debug.replayed = past.length
  pending.push(...past)
  flush()
  const d = useTrain.getState().data
  if (!isFinished(d.status) && !isFinished(run.status)) {
    localStorage.setItem(ACTIVE_KEY, id)
    openSocket(id, gen)
  } else if (localStorage.getItem(ACTIVE_KEY) === id) localStorage.removeItem(ACTIVE_KEY)
}

export function detachRun() {
  generation++
  closeSocket()
  useTrain.setState({ runId: null, run: null, ...initial(), connected: false, streamError: null })
}

/** After a reload: pick up the run that was active (if it still runs), else the run that was on screen. */
export async function resumeActiveRun(last: string | null = null): Promise<boolean> {
  const active = localStorage.getItem(ACTIVE_KEY)
  const id = active ?? last
  if (!id) return false
  try {
    await attachRun(id)
    if (active) useTrain.setState({ tab: 'train' })
    return true
  } catch {
    return false
  }
}
