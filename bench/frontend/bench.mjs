#!/usr/bin/env node
// Front-end budgets of issue 4, measured (not asserted): initial JS size, load-to-validated-render
// time of a 300-node design, and frame rate while panning and while dragging a node, side by side
// with a 10-node design. Prints a one-screen summary and exits 0 when the measurement itself worked.
//
//   node bench/frontend/bench.mjs [--build | --no-build] [--nodes 300] [--small 10] [--seconds 2]
//        [--loads 3] [--awaited] [--json out.json] [--css CSS] [--dist DIR] [--profile PREFIX] [--trace PREFIX] [--zoom Z]
//        [--select-all]
//   (or bench/frontend/run.sh with the same options)
//
// Uses the real backend (.venv/bin/blocklab serve on a free port, temp data dir), the built
// frontend/dist, and Debian's /usr/bin/chromium through playwright-core from frontend/node_modules.
// Nothing in the app is changed: the design is put in the app's local draft
// (localStorage 'blocklab.draft.v1'), which the app restores on start-up, and the import test uses the
// toolbar's hidden file input, as a user's Import would.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import zlib from 'node:zlib'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.resolve(HERE, '../..')
const FRONTEND = path.join(ROOT, 'frontend')
const DIST = path.join(FRONTEND, 'dist')
const require = createRequire(path.join(FRONTEND, 'package.json'))
const { chromium } = require('playwright-core')

// ------------------------------------------------------------------ options
const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt
}
const FLAG_BUILD = argv.includes('--build')
const FLAG_NO_BUILD = argv.includes('--no-build')
const N_BIG = Number(opt('nodes', 300))
const N_SMALL = Number(opt('small', 10))
const GESTURE_MS = Math.round(Number(opt('seconds', 2)) * 1000)
const LOADS = Math.max(1, Number(opt('loads', 3)))
const JSON_OUT = opt('json', null)
const EXTRA_CSS = opt('css', null) // what-if experiments, e.g. --css '.react-flow__minimap{display:none}'
// Diagnostics: --dist DIR serves the page from another build (e.g. `npx vite build --outDir /tmp/nomin
// --minify false`, for readable names); --profile PREFIX writes CPU profiles of the big design's pan
// and drag (PREFIX-pan.cpuprofile, PREFIX-drag.cpuprofile) and prints where their time went.
const DIST_OVERRIDE = opt('dist', null)
// --zoom Z wheels the view in (or out) about the pane's centre until the zoom reaches Z before the
// gestures: fit view shows a 300-node design at ~0.2, where nodes are drawn without small print.
const ZOOM = opt('zoom', null) == null ? null : Number(opt('zoom', null))
const PROFILE = opt('profile', null)
// --select-all selects every node (Ctrl+A) before the drag, so the drag moves the whole design.
const SELECT_ALL = argv.includes('--select-all')
// --trace PREFIX records the big design's pan and drag as Chromium traces (PREFIX-pan.json,
// PREFIX-drag.json; open in DevTools' Performance panel) and prints each gesture's renderer
// main-thread time by trace event: where the time goes that is not script.
const TRACE = opt('trace', null)
const TRACE_CATEGORIES = ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink', 'cc', 'viz', 'input', 'toplevel']

const BUDGET_JS_KB = 200
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
const VIEWPORT = { width: 1440, height: 900 }

const t0 = Date.now()
const log = (...a) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1)}s] ${a.join(' ')}\n`)
const kb = (b) => `${(b / 1024).toFixed(1)} kB`
const f1 = (x) => (x == null || !Number.isFinite(x) ? '–' : x.toFixed(1))

// Whole run must stay well under 2 minutes; never hang CI.
const guard = setTimeout(() => {
  log('gave up after 110 s')
  cleanup()
  process.exit(1)
}, 110_000)
guard.unref()

// ------------------------------------------------------------------ 1. build + bundle size
function newestMtime(p) {
  const st = fs.statSync(p)
  if (!st.isDirectory()) return st.mtimeMs
  let m = st.mtimeMs
  for (const e of fs.readdirSync(p)) m = Math.max(m, newestMtime(path.join(p, e)))
  return m
}

function buildIfNeeded() {
  const index = path.join(DIST, 'index.html')
  let reason = null
  if (FLAG_BUILD) reason = '--build'
  else if (!fs.existsSync(index)) reason = 'no frontend/dist'
  else if (!FLAG_NO_BUILD) {
    const built = fs.statSync(index).mtimeMs
    const inputs = ['src', 'index.html', 'package.json', 'package-lock.json', 'vite.config.ts', 'tsconfig.json', 'public']
      .map((p) => path.join(FRONTEND, p))
      .filter((p) => fs.existsSync(p))
    if (inputs.some((p) => newestMtime(p) > built)) reason = 'sources newer than dist'
  }
  if (!reason) return 'up to date'
  log(`building the front end (${reason})`)
  const r = spawnSync('npm', ['run', 'build'], { cwd: FRONTEND, encoding: 'utf8' })
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr)
    throw new Error('npm run build failed')
  }
  return `built (${reason})`
}

function bundleSizes() {
  const html = fs.readFileSync(path.join(DIST, 'index.html'), 'utf8')
  const eager = new Set()
  for (const m of html.matchAll(/<script[^>]*\bsrc="([^"]+\.js)"/g)) eager.add(m[1])
  for (const m of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+\.js)"|<link[^>]*href="([^"]+\.js)"[^>]*rel="modulepreload"/g))
    eager.add(m[1] ?? m[2])
  const css = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+\.css)"/g)].map((m) => m[1])
  const file = (u) => path.join(DIST, u.replace(/^\//, ''))
  const size = (u) => {
    const buf = fs.readFileSync(file(u))
    return { name: u.replace(/^\/?assets\//, ''), raw: buf.length, gz: zlib.gzipSync(buf, { level: 9 }).length }
  }
  const eagerFiles = [...eager].map(size)
  const allJs = fs
    .readdirSync(path.join(DIST, 'assets'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => `/assets/${f}`)
  const eagerNames = new Set([...eager].map((u) => `/${u.replace(/^\//, '')}`))
  const lazyFiles = allJs.filter((u) => !eagerNames.has(u)).map(size)
  const sum = (xs, k) => xs.reduce((a, x) => a + x[k], 0)
  return {
    eager: eagerFiles,
    lazy: lazyFiles,
    css: css.map(size),
    eagerGz: sum(eagerFiles, 'gz'),
    eagerRaw: sum(eagerFiles, 'raw'),
    lazyGz: sum(lazyFiles, 'gz'),
  }
}

// ------------------------------------------------------------------ designs
/** A valid design of exactly n nodes: Input -> parallel chains of ~30 layers -> a tree of Adds -> Output. */
function makeDesign(n) {
  if (n < 3) throw new Error('a design needs at least 3 nodes')
  const COL = 220
  const ROW = 110
  const WIDTH = 32
  let branches = Math.max(1, Math.round(n / 30))
  while (n - 2 - (branches - 1) < branches) branches-- // at least one layer per branch
  const chain = n - 2 - (branches - 1)
  const lens = Array.from({ length: branches }, (_, b) => Math.floor(chain / branches) + (b < chain % branches ? 1 : 0))
  const kinds = ['Linear', 'ReLU', 'Linear', 'GELU', 'Linear', 'Tanh', 'Dropout']
  const nodes = []
  const edges = []
  const center = ((branches - 1) * COL) / 2
  nodes.push({ id: 'X', type: 'Input', params: { shape: [WIDTH] }, position: { x: center, y: 0 } })
  let ends = []
  lens.forEach((len, b) => {
    let prev = 'X'
    for (let j = 0; j < len; j++) {
      const type = kinds[j % kinds.length]
      const id = `b${b}_${j}`
      const node = { id, type, position: { x: b * COL, y: (j + 1) * ROW } }
      if (type === 'Linear') node.params = { out_features: WIDTH }
      if (type === 'Dropout') node.params = { p: 0.1 }
      nodes.push(node)
      edges.push({ source: prev, target: id })
      prev = id
    }
    ends.push({ id: prev, x: b * COL })
  })
  let y = (Math.max(...lens) + 1) * ROW
  let k = 0
  while (ends.length > 1) {
    const next = []
    for (let i = 0; i + 1 < ends.length; i += 2) {
      const id = `add${k++}`
      const x = Math.round((ends[i].x + ends[i + 1].x) / 2)
      nodes.push({ id, type: 'Add', position: { x, y } })
      edges.push({ source: ends[i].id, target: id, target_port: 'a' }, { source: ends[i + 1].id, target: id, target_port: 'b' })
      next.push({ id, x })
    }
    if (ends.length % 2) next.push(ends[ends.length - 1])
    ends = next
    y += ROW
  }
  nodes.push({ id: 'Y', type: 'Output', position: { x: ends[0].x, y } })
  edges.push({ source: ends[0].id, target: 'Y' })
  if (nodes.length !== n) throw new Error(`generated ${nodes.length} nodes, wanted ${n}`)
  return { version: 1, name: `bench_${n}`, nodes, edges, blocks: {} }
}

// ------------------------------------------------------------------ backend
let server = null
let browser = null
let dataDir = null

function cleanup() {
  if (server && server.exitCode === null && server.pid) {
    try {
      process.kill(-server.pid, 'SIGTERM') // its own process group: only what this script started
    } catch {
      /* gone */
    }
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true })
}
process.on('exit', cleanup)
process.on('SIGINT', () => process.exit(130))
process.on('SIGTERM', () => process.exit(143))

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

async function startBackend() {
  const port = await freePort()
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'blocklab-bench-'))
  const exe = path.join(ROOT, '.venv/bin/blocklab')
  let errTail = ''
  server = spawn(exe, ['serve', '--port', String(port), '--data-dir', dataDir], { cwd: ROOT, detached: true, stdio: ['ignore', 'ignore', 'pipe'] })
  server.stderr.on('data', (d) => (errTail = (errTail + d).slice(-2000)))
  const base = `http://127.0.0.1:${port}`
  const until = Date.now() + 30_000
  while (Date.now() < until) {
    if (server.exitCode !== null) throw new Error(`backend exited: ${errTail}`)
    try {
      const r = await fetch(`${base}/api/blocks`)
      if (r.ok) return base
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 150))
  }
  throw new Error(`backend did not start on ${base}: ${errTail}`)
}

// ------------------------------------------------------------------ in-page helpers
/** Installed before the app's own scripts: restores the draft and watches for the first validated render. */
function pageInit({ doc, n }) {
  if (doc) localStorage.setItem('blocklab.draft.v1', JSON.stringify({ doc, id: null }))
  const B = (window.__bench = { load: {}, frames: null })
  // Wait (one check per frame) until n nodes are rendered, measured, and the status bar shows a validation result.
  B.watch = (want, marks, done) => {
    const tick = (ts) => {
      const nodes = document.querySelectorAll('.react-flow__node')
      if (nodes.length >= want && marks.onScreen == null) marks.onScreen = performance.now()
      const hidden = document.querySelectorAll('.react-flow__node[style*="visibility: hidden"]').length
      const v = document.querySelector('[data-testid="validity"]')
      const spin = document.querySelector('.statusbar .spinner')
      if (nodes.length >= want && !hidden && v && !/validating/.test(v.textContent) && !spin) {
        marks.validatedFrame = ts
        marks.status = v.textContent
        // after the frame that shows it has been produced
        setTimeout(() => {
          marks.validated = performance.now()
          done?.()
        }, 0)
        return
      }
      requestAnimationFrame(tick)
    }
    requestAnimationFrame(tick)
  }
  if (n) B.watch(n, B.load)
  // Record every frame's rAF timestamp, and in how many frames `watch`'s transform changed (the
  // viewport when panning, the node when dragging): proof that the gesture really moved something.
  B.startFrames = (watch) => {
    const ts = []
    B.frames = ts
    B.moved = 0
    B.events = 0
    B.recording = true
    B.onMove = () => B.events++
    window.addEventListener('pointermove', B.onMove, { capture: true, passive: true })
    let last = null
    const loop = (t) => {
      if (!B.recording) return
      ts.push(t)
      const el = watch && document.querySelector(watch)
      const tr = el ? el.style.transform : null
      if (last !== null && tr !== last) B.moved++
      last = tr
      requestAnimationFrame(loop)
    }
    requestAnimationFrame(loop)
  }
  B.stopFrames = () => {
    B.recording = false
    window.removeEventListener('pointermove', B.onMove, { capture: true })
    return { ts: B.frames, moved: B.moved, events: B.events }
  }
}

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
async function measure(page, cdp, gesture, watch = null) {
  const before = await cdpMetrics(cdp)
  await page.evaluate((w) => window.__bench.startFrames(w), watch)
  await page.waitForTimeout(50)
  const start = Date.now()
  const moves = await gesture()
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

const viewZoom = (page) =>
  page.evaluate(() => Number(/scale\(([\d.]+)\)/.exec(document.querySelector('.react-flow__viewport').style.transform)?.[1]))

/** Wheel about the pane's centre until the zoom is within 10% of `want`; returns the zoom reached. */
async function zoomTo(page, want) {
  const c = await page.evaluate(() => {
    const r = document.querySelector('.react-flow__pane').getBoundingClientRect()
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 }
  })
  await page.mouse.move(c.x, c.y)
  let z = await viewZoom(page)
  for (let i = 0; i < 60 && Math.abs(Math.log(z / want)) > Math.log(1.1); i++) {
    await page.mouse.wheel(0, z < want ? -60 : 60)
    await page.waitForTimeout(40)
    z = await viewZoom(page)
  }
  await page.waitForTimeout(300)
  return z
}

/** A point inside the React Flow pane with nothing on it (so a drag pans). */
async function emptyPanePoint(page) {
  return page.evaluate(() => {
    const pane = document.querySelector('.react-flow__pane').getBoundingClientRect()
    // While panning, the pressed spot travels with the cursor, so only the start must be free;
    // the gesture's whole path (+-150, +-60 px) must stay inside the pane.
    const free = (x, y) => {
      if (x - 160 < pane.left || x + 160 > pane.right || y - 70 < pane.top || y + 70 > pane.bottom) return false
      const el = document.elementFromPoint(x, y)
      return !!el && el.classList.contains('react-flow__pane')
    }
    for (const fy of [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8]) for (const fx of [0.2, 0.8, 0.25, 0.75, 0.3, 0.7, 0.35, 0.65]) {
      const x = pane.left + fx * pane.width
      const y = pane.top + fy * pane.height
      if (free(x, y)) return { x, y }
    }
    return null
  })
}

/** The node nearest the middle of the pane, and a point on its body (not on a handle). */
async function middleNode(page) {
  return page.evaluate(() => {
    const pane = document.querySelector('.react-flow__pane').getBoundingClientRect()
    const cx = pane.left + pane.width / 2
    const cy = pane.top + pane.height / 2
    let best = null
    for (const el of document.querySelectorAll('.react-flow__node')) {
      const r = el.getBoundingClientRect()
      const d = Math.hypot(r.left + r.width / 2 - cx, r.top + r.height / 2 - cy)
      if (!best || d < best.d) best = { d, id: el.getAttribute('data-id'), x: r.left + r.width / 2, y: r.top + r.height * 0.45, w: r.width, h: r.height }
    }
    return best
  })
}

// Gestures send raw mouse events through CDP at a steady 125 Hz without waiting for each to be
// handled, like a real mouse: a busy page gets them queued and coalesced instead of slowing the
// sender down (awaiting each event, as page.mouse does, measures the round trip rather than the page).
// --awaited sends the next event only once the previous one is handled (Playwright's page.mouse way):
// the input rate then adapts to the page, which flatters a slow page.
const MOUSE_HZ = 125
const AWAITED = argv.includes('--awaited')
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function gesture(cdp, x0, y0, path) {
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

const panPath = (t) => {
  const a = (2 * Math.PI * t) / 1000
  return [150 * Math.sin(a), 60 * Math.sin(2 * a)]
}
const dragPath = (t) => {
  const a = (2 * Math.PI * t) / 1000
  return [80 * Math.sin(a), 60 * (1 - Math.cos(a))]
}

// ------------------------------------------------------------------ one design
async function loadMarks(page) {
  return page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0]
    const res = performance.getEntriesByType('resource')
    const validate = res.filter((r) => r.name.includes('/api/graphs/validate'))
    const catalog = res.find((r) => r.name.includes('/api/blocks'))
    return {
      ...window.__bench.load,
      dcl: nav.domContentLoadedEventEnd,
      validateReq: validate.length ? validate[0].responseEnd - validate[0].startTime : null,
      validateEnd: validate.length ? validate[0].responseEnd : null,
      validateCalls: validate.length,
      catalogEnd: catalog ? catalog.responseEnd : null,
    }
  })
}

async function benchDesign(base, doc, { importDoc } = {}) {
  const n = doc.nodes.length
  const context = await browser.newContext({ viewport: VIEWPORT })
  await context.addInitScript(pageInit, { doc, n })
  const page = await context.newPage()
  // Importing over the dragged (unsaved) design asks first (window.confirm): say yes, as a user would.
  page.on('dialog', (d) => d.accept())
  const errors = []
  page.on('pageerror', (e) => errors.push(String(e)))
  const cdp = await context.newCDPSession(page)
  await cdp.send('Performance.enable')
  if (DIST_OVERRIDE) await serveFrom(context, base, DIST_OVERRIDE)

  // Load LOADS times (a reload restores the same draft); report the median, keep the page of the last.
  const loads = []
  for (let i = 0; i < LOADS; i++) {
    if (i === 0) await page.goto(base, { waitUntil: 'load' })
    else await page.reload({ waitUntil: 'load' })
    await page.waitForFunction(() => window.__bench.load.validated != null, null, { timeout: 30_000 })
    loads.push(await loadMarks(page))
  }
  loads.sort((a, b) => a.validated - b.validated)
  const load = { ...loads[Math.floor(loads.length / 2)], min: loads[0].validated, max: loads[loads.length - 1].validated, runs: loads.length }
  const view = await page.evaluate(() => ({
    nodes: document.querySelectorAll('.react-flow__node').length,
    edges: document.querySelectorAll('.react-flow__edge').length,
  }))
  view.zoom = await viewZoom(page)
  if (EXTRA_CSS) await page.addStyleTag({ content: EXTRA_CSS })
  await page.waitForTimeout(500) // let the fit-view and draft autosave settle
  if (ZOOM) view.zoom = await zoomTo(page, ZOOM)

  const idle = await measure(page, cdp, async () => {
    await page.waitForTimeout(1000)
    return 0
  })
  const p = await emptyPanePoint(page)
  if (!p) throw new Error(`no empty spot on the pane to pan from (${n} nodes)`)
  // --trace and --profile look at the big design's gestures only, each in its own file per gesture.
  const big = n === N_BIG
  const observed = async (name, run) => {
    if (big && PROFILE) {
      await cdp.send('Profiler.enable')
      await cdp.send('Profiler.setSamplingInterval', { interval: 250 })
      await cdp.send('Profiler.start')
    }
    if (big && TRACE) await browser.startTracing(page, { categories: TRACE_CATEGORIES })
    const r = await run()
    if (big && TRACE) {
      const buf = await browser.stopTracing()
      fs.writeFileSync(`${TRACE}-${name}.json`, buf)
      r.trace = traceSummary(JSON.parse(buf.toString()))
    }
    if (big && PROFILE) {
      const { profile } = await cdp.send('Profiler.stop')
      fs.writeFileSync(`${PROFILE}-${name}.cpuprofile`, JSON.stringify(profile))
      r.profile = profileSummary(profile)
    }
    return r
  }
  const pan = await observed('pan', () => measure(page, cdp, () => gesture(cdp, p.x, p.y, panPath), '.react-flow__viewport'))
  await page.waitForTimeout(300)
  const nd = await middleNode(page)
  if (SELECT_ALL) {
    // the whole design moves with the dragged node (React Flow drags every selected node)
    await page.mouse.click(p.x, p.y)
    await page.keyboard.press('Control+a')
    await page.waitForFunction((n) => document.querySelectorAll('.react-flow__node.selected').length === n, n)
  }
  const drag = await observed('drag', () => measure(page, cdp, () => gesture(cdp, nd.x, nd.y, dragPath), `.react-flow__node[data-id="${nd.id}"]`))
  await page.waitForTimeout(100)
  // Sanity: the drag really moved the node (React Flow's drag start makes the app record an undo step).
  const dragOk = await page.evaluate(() => document.querySelector('[data-testid="btn-undo"]')?.disabled === false)

  let imp = null
  if (importDoc) {
    const m = importDoc.nodes.length
    await page.evaluate((want) => {
      const B = window.__bench
      B.imp = {}
      const input = document.querySelector('[data-testid="import-file"]')
      input.addEventListener('change', () => (B.imp.change = performance.now()), { once: true, capture: true })
      B.watch(want, B.imp)
    }, m)
    await page.setInputFiles('[data-testid="import-file"]', {
      name: `${importDoc.name}.json`,
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(importDoc)),
    })
    await page.waitForFunction(() => window.__bench.imp.validated != null, null, { timeout: 30_000 })
    imp = await page.evaluate(() => {
      const B = window.__bench
      const v = performance.getEntriesByType('resource').filter((r) => r.name.includes('/api/graphs/validate') && r.startTime > B.imp.change)
      return { ...B.imp, validateEnd: v.length ? v[v.length - 1].responseEnd : null }
    })
    imp.ms = imp.validated - imp.change
    imp.nodes = m
  }
  await context.close()
  return { n, load, view, idle, pan, drag, drag_node: nd.id, dragOk, imp, errors }
}

async function serveFrom(context, base, dir) {
  await context.route(
    (u) => u.origin === new URL(base).origin && !u.pathname.startsWith('/api'),
    async (route) => {
      const u = new URL(route.request().url())
      const f = path.join(dir, u.pathname === '/' ? 'index.html' : u.pathname)
      if (!fs.existsSync(f)) return route.continue()
      const type = f.endsWith('.js') ? 'text/javascript' : f.endsWith('.css') ? 'text/css' : f.endsWith('.html') ? 'text/html' : f.endsWith('.svg') ? 'image/svg+xml' : 'application/octet-stream'
      await route.fulfill({ body: fs.readFileSync(f), contentType: type })
    },
  )
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

// ------------------------------------------------------------------ main
async function main() {
  const build = buildIfNeeded()
  const size = bundleSizes()
  log(`bundle: initial JS ${kb(size.eagerGz)} gzipped`)
  const base = await startBackend()
  log(`backend at ${base}`)
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true })
  const big = makeDesign(N_BIG)
  const small = makeDesign(N_SMALL)
  // Warm-up: the first loads pay for Chromium's and the backend's cold start (code caches, imports); not counted.
  for (const doc of [small, big]) {
    const ctx = await browser.newContext({ viewport: VIEWPORT })
    await ctx.addInitScript(pageInit, { doc, n: doc.nodes.length })
    const pg = await ctx.newPage()
    await pg.goto(base)
    await pg.waitForFunction(() => window.__bench.load.validated != null, null, { timeout: 30_000 })
    await ctx.close()
  }
  log(`measuring ${N_SMALL}-node design`)
  const rs = await benchDesign(base, small, { importDoc: big })
  log(`measuring ${N_BIG}-node design`)
  const rb = await benchDesign(base, big)
  const version = browser.version()
  await browser.close()
  browser = null
  report({ build, size, rs, rb, version })
}

function report({ build, size, rs, rb, version }) {
  const L = []
  const line = (s = '') => L.push(s)
  const ok = (b) => (b ? 'OK  ' : 'OVER')
  line('=== Blocklab front-end bench (issue 4 budgets; measured, not asserted) ===')
  line(`Chromium ${version}, headless, --disable-gpu (software raster), ${VIEWPORT.width}x${VIEWPORT.height}, ${os.cpus().length} CPUs (load avg ${os.loadavg()[0].toFixed(1)}); front end ${build}`)
  line('NOTE: headless Chromium without a GPU is slower than a real browser: frame figures here are a')
  line('      pessimistic floor and useful mainly as ratios (300 vs 10 nodes) and for regressions.')
  line()
  line(`Initial JS (eager, gzip -9): ${kb(size.eagerGz)}  [budget <= ${BUDGET_JS_KB} kB: ${ok(size.eagerGz / 1024 <= BUDGET_JS_KB).trim()}]  raw ${kb(size.eagerRaw)}`)
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
  line(`(${((Date.now() - t0) / 1000).toFixed(1)} s in all)`)
  process.stdout.write(L.join('\n') + '\n')
  if (JSON_OUT) fs.writeFileSync(JSON_OUT, JSON.stringify({ size, small: rs, big: { ...rb, pan: { ...rb.pan, trace: undefined, profile: undefined }, drag: { ...rb.drag, trace: undefined, profile: undefined } }, chromium: version }, null, 2))
}

main()
  .then(() => {
    clearTimeout(guard)
    cleanup()
    process.exit(0)
  })
  .catch(async (e) => {
    log(`FAILED: ${e?.stack ?? e}`)
    try {
      await browser?.close()
    } catch {
      /* ignore */
    }
    cleanup()
    process.exit(1)
  })
