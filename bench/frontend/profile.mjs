// --profile and --trace: where a gesture's time went. Each records the big design's pan and drag
// in a file per gesture (open it in DevTools) and summarises it for the report.
import fs from 'node:fs'

import { PROFILE, TRACE } from './options.mjs'

const TRACE_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink', 'cc', 'viz', 'input', 'toplevel']

/** Runs the gesture `run` under the CPU profiler and/or a trace as asked, writes PREFIX-`name`.*, and adds
 * their summaries to its result (as .profile and .trace). */
export async function observed({ browser, page, cdp }, name, run) {
  if (PROFILE) {
    await cdp.send('Profiler.enable')
    await cdp.send('Profiler.setSamplingInterval', { interval: 250 })
    await cdp.send('Profiler.start')
  }
  if (TRACE) await browser.startTracing(page, { categories: TRACE_CATEGORIES })
  const r = await run()
  if (TRACE) {
    const buf = await browser.stopTracing()
    fs.writeFileSync(`${TRACE}-${name}.json`, buf)
    r.trace = traceSummary(JSON.parse(buf.toString()))
  }
  if (PROFILE) {
    const { profile } = await cdp.send('Profiler.stop')
    fs.writeFileSync(`${PROFILE}-${name}.cpuprofile`, JSON.stringify(profile))
    r.profile = profileSummary(profile)
  }
  return r
}

/** Self time (ms) per event name on each busy thread of a trace: nested complete events are subtracted. */
function traceSummary(trace, k = 10) {
  const events = trace.traceEvents ?? trace
  const names = new Map()
  for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') names.set(`${e.pid}:${e.tid}`, e.args.name)
  const byThread = new Map()
  for (const e of events) {
    if (e.ph !== 'X' || e.dur == null) continue
    const key = `${e.pid}:${e.tid}`
    if (!byThread.has(key)) byThread.set(key, [])
    byThread.get(key).push(e)
  }
  const out = []
  for (const [key, evs] of byThread) {
    const thread = names.get(key) ?? key
    if (!/CrRendererMain|Compositor|Raster|TileWorker|VizCompositor|CrGpuMain/.test(thread)) continue
    evs.sort((a, b) => a.ts - b.ts || b.dur - a.dur)
    const self = new Map()
    const stack = []
    let total = 0
    for (const e of evs) {
      while (stack.length && stack[stack.length - 1].ts + stack[stack.length - 1].dur <= e.ts) stack.pop()
      const parent = stack[stack.length - 1]
      if (parent) self.set(parent.name, (self.get(parent.name) ?? 0) - e.dur / 1000)
      else total += e.dur / 1000
      self.set(e.name, (self.get(e.name) ?? 0) + e.dur / 1000)
      stack.push(e)
    }
    out.push({ thread, total, top: [...self].sort((a, b) => b[1] - a[1]).slice(0, k) })
  }
  return out.sort((a, b) => b.total - a.total)
}

/** Self and inclusive time per function of a CPU profile, top `k` of each. */
function profileSummary(profile, k = 12) {
  const byId = new Map(profile.nodes.map((nd) => [nd.id, nd]))
  const parent = new Map()
  for (const nd of profile.nodes) for (const c of nd.children ?? []) parent.set(c, nd.id)
  const key = (nd) => {
    const cf = nd.callFrame
    const file = cf.url ? cf.url.split('/').pop() : ''
    return `${cf.functionName || '(anonymous)'} ${file ? `${file}:${cf.lineNumber + 1}` : ''}`.trim()
  }
  const self = new Map()
  const incl = new Map()
  const add = (m, kk, v) => m.set(kk, (m.get(kk) ?? 0) + v)
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000
    add(self, key(byId.get(id)), dt)
    const seen = new Set()
    for (let cur = id; cur != null; cur = parent.get(cur)) {
      const kk = key(byId.get(cur))
      if (!seen.has(kk)) add(incl, kk, dt)
      seen.add(kk)
    }
  })
  const top = (m) => [...m].filter(([kk]) => !/^\((root|program|idle|garbage collector)\)/.test(kk) || m === self).sort((a, b) => b[1] - a[1]).slice(0, k)
  return { self: top(self), incl: top(incl) }
}
