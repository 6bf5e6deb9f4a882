// Frame rate under a gesture: mouse gestures sent through CDP while the page records each frame's
// rAF timestamp (page-init.mjs), and the main thread's busy time from Chromium's own metrics.
import { AWAITED, GESTURE_MS } from './options.mjs'

/** Intervals between the rAF timestamps `ts` (ms): frame count, fps, mean/p50/p95/max interval, and how many went over 50 ms. */
function frameStats(ts, wallMs) {
  const d = []
  for (let i = 1; i < ts.length; i++) d.push(ts[i] - ts[i - 1])
  const sorted = [...d].sort((a, b) => a - b)
  const pct = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN)
  const span = ts.length > 1 ? ts[ts.length - 1] - ts[0] : NaN
  return {
    frames: ts.length,
    fps: d.length ? (d.length * 1000) / span : 0,
    meanMs: d.length ? span / d.length : NaN,
    p50: pct(50),
    p95: pct(95),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    over50: d.filter((x) => x > 50).length,
    wallMs,
  }
}

async function cdpMetrics(cdp) {
  const { metrics } = await cdp.send('Performance.getMetrics')
  return Object.fromEntries(metrics.map((m) => [m.name, m.value]))
}

/** Run a mouse gesture for GESTURE_MS while recording rAF timestamps; returns frame stats + main-thread time. */
export async function measure(page, cdp, act, watch = null) {
  const before = await cdpMetrics(cdp)
  await page.evaluate((w) => window.__bench.startFrames(w), watch)
  await page.waitForTimeout(50)
  const start = Date.now()
  const moves = await act()
  const wall = Date.now() - start
  await page.waitForTimeout(50)
  const { ts, moved, events } = await page.evaluate(() => window.__bench.stopFrames())
  const after = await cdpMetrics(cdp)
  const st = frameStats(ts, wall)
  st.moved = moved
  st.events = events
  const d = (k) => (after[k] - before[k]) * 1000
  st.moves = moves
  st.taskMs = d('TaskDuration')
  st.scriptMs = d('ScriptDuration')
  st.layoutMs = d('LayoutDuration') + d('RecalcStyleDuration')
  st.busy = st.taskMs / (wall + 100)
  return st
}

// Gestures send raw mouse events through CDP at a steady 125 Hz without waiting for each to be
// handled, like a real mouse: a busy page gets them queued and coalesced instead of slowing the
// sender down (awaiting each event, as page.mouse does, measures the round trip rather than the page).
// --awaited sends the next event only once the previous one is handled (Playwright's page.mouse way):
// the input rate then adapts to the page, which flatters a slow page.
export const MOUSE_HZ = 125
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Presses at (x0, y0), moves by path(t) (px offsets at t ms) for GESTURE_MS, comes back and releases;
 * returns the number of moves sent. */
export async function gesture(cdp, x0, y0, path) {
  const send = (type, x, y, extra = {}) => cdp.send('Input.dispatchMouseEvent', { type, x, y, button: 'left', ...extra })
  await send('mouseMoved', x0, y0, { button: 'none' })
  await send('mousePressed', x0, y0, { buttons: 1, clickCount: 1 })
  const pending = []
  const start = Date.now()
  let moves = 0
  for (let t = 0; t < GESTURE_MS; t = Date.now() - start) {
    const [dx, dy] = path(t)
    const sent = send('mouseMoved', x0 + dx, y0 + dy, { buttons: 1 })
    moves++
    if (AWAITED) await sent
    else {
      pending.push(sent)
      await sleep(1000 / MOUSE_HZ)
    }
  }
  await Promise.all(pending)
  await send('mouseMoved', x0, y0, { buttons: 1 })
  await send('mouseReleased', x0, y0, { buttons: 0, clickCount: 1 })
  return moves
}

// One loop a second: the pan a figure of eight of +-150 x +-60 px (emptyPanePoint keeps it inside the
// pane), the drag a loop below the node's start.
export const panPath = (t) => {
  const a = (2 * Math.PI * t) / 1000
  return [150 * Math.sin(a), 60 * Math.sin(2 * a)]
}
export const dragPath = (t) => {
  const a = (2 * Math.PI * t) / 1000
  return [80 * Math.sin(a), 60 * (1 - Math.cos(a))]
}
