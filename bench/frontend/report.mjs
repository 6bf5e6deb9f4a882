// The one-screen summary on stdout and, with --json, the figures behind it. Budgets are shown, not
// enforced: the exit status says only whether the measurement worked.
import fs from 'node:fs'
import os from 'node:os'

import { VIEWPORT } from './browser.mjs'
import { MOUSE_HZ } from './gestures.mjs'
import { elapsed } from './log.mjs'
import { AWAITED, DIST_OVERRIDE, EXTRA_CSS, GESTURE_MS, JSON_OUT, LOADS, N_BIG, N_SMALL, PROFILE, SELECT_ALL, TRACE, ZOOM } from './options.mjs'

const BUDGET_JS_KB = 200
export const kb = (b) => `${(b / 1024).toFixed(1)} kB`
const f1 = (x) => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(1))

/** `rs` and `rb` are benchDesign's results for the small and the big design. */
export function report({ build, size, rs, rb, version }) {
  const L = []
  const line = (s = '') => L.push(s)
  const ok = (b) => (b ? 'OK' : 'OVER')
  line('=== Blocklab front-end bench (issue 4 budgets; measured, not asserted) ===')
  line(`Chromium ${version}, headless, --disable-gpu (software raster), ${VIEWPORT.width}x${VIEWPORT.height}, ${os.cpus().length} CPUs (load avg ${os.loadavg()[0].toFixed(1)}); front end ${build}`)
  line('NOTE: headless Chromium without a GPU is slower than a real browser: frame figures here are a')
  line('      pessimistic floor and useful mainly as ratios (300 vs 10 nodes) and for regressions.')
  line()
  line(`Initial JS (eager, gzip -9): ${kb(size.eagerGz)}  [budget <= ${BUDGET_JS_KB} kB: ${ok(size.eagerGz / 1024 <= BUDGET_JS_KB)}]  raw ${kb(size.eagerRaw)}`)
  for (const f of size.eager) line(`   eager ${f.name.padEnd(28)} ${kb(f.gz).padStart(9)} gz  ${kb(f.raw).padStart(9)} raw`)
  for (const f of size.lazy) line(`   lazy  ${f.name.padEnd(28)} ${kb(f.gz).padStart(9)} gz  ${kb(f.raw).padStart(9)} raw`)
  for (const f of size.css) line(`   css   ${f.name.padEnd(28)} ${kb(f.gz).padStart(9)} gz  (not counted)`)
  line()
  line(`Load -> first validated render (page load restoring the design as local draft; ms from navigation start;`)
  line(`median of ${LOADS}):  validated render [min-max]  | nodes on screen | validation answer (request; app debounces 250 ms)`)
  for (const r of [rs, rb])
    line(
      `   ${String(r.n).padStart(3)} nodes: ${f1(r.load.validated).padStart(7)} ms [${r.load.min.toFixed(0)}-${r.load.max.toFixed(0)}]`.padEnd(42) +
        `| ${f1(r.load.onScreen).padStart(7)} ms      | ${f1(r.load.validateEnd).padStart(7)} ms (${f1(r.load.validateReq)} ms)  "${(r.load.status ?? '').trim()}"`,
    )
  if (rs.imp)
    line(
      `   Import of the ${rs.imp.nodes}-node JSON (toolbar Import) -> validated render: ${f1(rs.imp.ms)} ms (nodes on screen +${f1(rs.imp.onScreen - rs.imp.change)}, answer +${f1(rs.imp.validateEnd - rs.imp.change)})`,
    )
  line()
  line(`Frames during ${GESTURE_MS / 1000}s gestures (rAF timestamps in the page; ${ZOOM ? "zoom after --zoom" : "fit-view zoom"} ${rs.view.zoom?.toFixed(2)} / ${rb.view.zoom?.toFixed(2)}):`)
  line('                   frames mean fps  p95 ms  max ms >50ms  moves/drawn upd/s  main thread busy (script, style+layout)')
  const row = (name, s) =>
    line(
      `   ${name.padEnd(14)} ${String(s.frames).padStart(6)} ${f1(s.fps).padStart(8)} ${f1(s.p95).padStart(7)} ${f1(s.max).padStart(7)} ${String(s.over50).padStart(5)}  ${`${s.moves}/${s.moved}`.padStart(11)} ${f1(s.moved / (s.wallMs / 1000)).padStart(5)}  ${(100 * s.busy).toFixed(0).padStart(3)}% (${s.scriptMs.toFixed(0)} ms, ${s.layoutMs.toFixed(0)} ms)`,
    )
  for (const r of [rs, rb]) {
    row(`idle  ${r.n}`, r.idle)
    row(`pan   ${r.n}`, r.pan)
    row(`drag  ${r.n}`, r.drag)
  }
  const ratio = (a, b) => (b ? (a / b).toFixed(2) : '–')
  line()
  line(
    `${N_BIG} vs ${N_SMALL} nodes:  pan fps x${ratio(rb.pan.fps, rs.pan.fps)}, p95 x${ratio(rb.pan.p95, rs.pan.p95)}, upd/s x${ratio(rb.pan.moved, rs.pan.moved)}` +
      `  |  drag fps x${ratio(rb.drag.fps, rs.drag.fps)}, p95 x${ratio(rb.drag.p95, rs.drag.p95)}, upd/s x${ratio(rb.drag.moved, rs.drag.moved)}`,
  )
  line(`Load ${N_BIG} vs ${N_SMALL}: x${ratio(rb.load.validated, rs.load.validated)}`)
  const warn = []
  for (const r of [rs, rb]) {
    if (!r.dragOk) warn.push(`${r.n} nodes: the node drag left no undo entry (did the drag hit node ${r.drag_node}?)`)
    if (r.view.nodes !== r.n) warn.push(`${r.n} nodes: ${r.view.nodes} rendered`)
    if (r.pan.moved < 5) warn.push(`${r.n} nodes: the pan did not move the view`)
    if (r.drag.moved < 5) warn.push(`${r.n} nodes: the drag did not move node ${r.drag_node}`)
    if (r.errors.length) warn.push(`${r.n} nodes: page errors: ${r.errors.slice(0, 2).join(' | ')}`)
  }
  for (const w of warn) line(`WARNING: ${w}`)
  if (EXTRA_CSS) line(`extra CSS injected before the gestures: ${EXTRA_CSS}`)
  if (SELECT_ALL) line('the drags moved every node (--select-all)')
  if (DIST_OVERRIDE) line(`page served from ${DIST_OVERRIDE} (bundle figures above are still frontend/dist)`)
  for (const g of ['pan', 'drag']) {
    if (!rb[g].trace) continue
    line(`Trace of the ${N_BIG}-node ${g} -> ${TRACE}-${g}.json: busy time per thread, self ms by event`)
    for (const t of rb[g].trace)
      line(`   ${t.thread.padEnd(22)} ${t.total.toFixed(0).padStart(6)} ms  ${t.top.slice(0, 7).map(([nm, v]) => `${nm} ${v.toFixed(0)}`).join(', ')}`)
  }
  for (const g of ['pan', 'drag']) {
    const ps = rb[g].profile
    if (!ps) continue
    line(`CPU profile of the ${N_BIG}-node ${g} -> ${PROFILE}-${g}.cpuprofile`)
    line(`   inclusive ms  function`)
    for (const [kk, v] of ps.incl) line(`   ${v.toFixed(0).padStart(8)}      ${kk}`)
    line(`   self ms       function`)
    for (const [kk, v] of ps.self) line(`   ${v.toFixed(0).padStart(8)}      ${kk}`)
  }
  line(
    AWAITED
      ? `moves = mouse events sent (CDP, each awaited: --awaited); drawn = frames in which the view/node moved (upd/s).`
      : `moves = mouse events sent (CDP, ${MOUSE_HZ} Hz, not awaited one by one); drawn = frames in which the view/node moved (upd/s).`,
  )
  line(`(${elapsed()} s in all)`)
  process.stdout.write(L.join('\n') + '\n')
  // The trace and profile summaries stay out of the JSON: their files hold the whole record.
  const bare = (g) => ({ ...g, trace: undefined, profile: undefined })
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify({ size, small: rs, big: { ...rb, pan: bare(rb.pan), drag: bare(rb.drag) }, chromium: version }, null, 2))
}
