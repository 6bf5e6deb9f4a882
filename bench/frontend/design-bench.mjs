// One design measured in a fresh browser context, as a user meets it: the page loads with the
// design as its local draft (median of LOADS loads), then sits idle, is panned, has a node dragged
// and, for the small design, gets the big one through the toolbar's Import.
import { VIEWPORT } from './browser.mjs'
import { dragPath, gesture, measure, panPath } from './gestures.mjs'
import { DIST_OVERRIDE, EXTRA_CSS, LOADS, N_BIG, SELECT_ALL, ZOOM } from './options.mjs'
import { pageInit } from './page-init.mjs'
import { emptyPanePoint, middleNode, viewZoom, zoomTo } from './pane.mjs'
import { observed } from './profile.mjs'
import { serveFrom } from './server.mjs'

/** A context whose pages restore `doc` as the app's local draft and watch for its validated render. */
async function draftContext(browser, doc) {
  const context = await browser.newContext({ viewport: VIEWPORT })
  await context.addInitScript(pageInit, { doc, n: doc.nodes.length })
  return context
}

const validated = (page) => page.waitForFunction(() => window.__bench.load.validated != null, null, { timeout: 30_000 })

/** Loads each design once, uncounted: the first loads pay for Chromium's and the backend's cold start
 * (code caches, imports). */
export async function warmUp(browser, base, docs) {
  for (const doc of docs) {
    const ctx = await draftContext(browser, doc)
    const pg = await ctx.newPage()
    await pg.goto(base)
    await validated(pg)
    await ctx.close()
  }
}

/** The watcher's marks of this load plus the navigation and request timings around it (ms from navigation start). */
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

/** Loads the page LOADS times (a reload restores the same draft); the median load, with the range. */
async function loadMedian(page, base) {
  const loads = []
  for (let i = 0; i < LOADS; i++) {
    if (i === 0) await page.goto(base, { waitUntil: 'load' })
    else await page.reload({ waitUntil: 'load' })
    await validated(page)
    loads.push(await loadMarks(page))
  }
  loads.sort((a, b) => a.validated - b.validated)
  return { ...loads[Math.floor(loads.length / 2)], min: loads[0].validated, max: loads[loads.length - 1].validated, runs: loads.length }
}

/** Measures `doc` (and the Import of `importDoc` into its page, if given); the page of the last load is kept for the gestures. */
export async function benchDesign(browser, base, doc, { importDoc } = {}) {
  const n = doc.nodes.length
  const context = await draftContext(browser, doc)
  const page = await context.newPage()
  // Importing over the dragged (unsaved) design asks first (window.confirm): say yes, as a user would.
  page.on('dialog', (d) => d.accept())
  const errors = []
  page.on('pageerror', (e) => errors.push(String(e)))
  const cdp = await context.newCDPSession(page)
  await cdp.send('Performance.enable')
  if (DIST_OVERRIDE) await serveFrom(context, base, DIST_OVERRIDE)

  const load = await loadMedian(page, base)
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
  const observe = n === N_BIG ? (name, run) => observed({ browser, page, cdp }, name, run) : (name, run) => run()
  const pan = await observe('pan', () => measure(page, cdp, () => gesture(cdp, p.x, p.y, panPath), '.react-flow__viewport'))
  await page.waitForTimeout(300)
  const nd = await middleNode(page)
  if (SELECT_ALL) {
    // the whole design moves with the dragged node (React Flow drags every selected node)
    await page.mouse.click(p.x, p.y)
    await page.keyboard.press('Control+a')
    await page.waitForFunction((n) => document.querySelectorAll('.react-flow__node.selected').length === n, n)
  }
  const drag = await observe('drag', () => measure(page, cdp, () => gesture(cdp, nd.x, nd.y, dragPath), `.react-flow__node[data-id="${nd.id}"]`))
  await page.waitForTimeout(100)
  // Sanity: the drag really moved the node (React Flow's drag start makes the app record an undo step).
  const dragOk = await page.evaluate(() => document.querySelector('[data-testid="btn-undo"]')?.disabled === false)

  const imp = importDoc ? await importDesign(page, importDoc) : null
  await context.close()
  return { n, load, view, idle, pan, drag, drag_node: nd.id, dragOk, imp, errors }
}

/** Imports `doc` through the toolbar's hidden file input, as a user's Import would; times from the
 * input's change event to the validated render of all its nodes. */
async function importDesign(page, doc) {
  const m = doc.nodes.length
  await page.evaluate((want) => {
    const B = window.__bench
    B.imp = {}
    const input = document.querySelector('[data-testid="import-file"]')
    input.addEventListener('change', () => (B.imp.change = performance.now()), { once: true, capture: true })
    B.watch(want, B.imp)
  }, m)
  await page.setInputFiles('[data-testid="import-file"]', {
    name: `${doc.name}.json`,
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(doc)),
  })
  await page.waitForFunction(() => window.__bench.imp.validated != null, null, { timeout: 30_000 })
  const imp = await page.evaluate(() => {
    const B = window.__bench
    const v = performance.getEntriesByType('resource').filter((r) => r.name.includes('/api/graphs/validate') && r.startTime > B.imp.change)
    return { ...B.imp, validateEnd: v.length ? v[v.length - 1].responseEnd : null }
  })
  imp.ms = imp.validated - imp.change
  imp.nodes = m
  return imp
}
