#!/usr/bin/env node
// Front-end budgets of issue 4, measured (not asserted): initial JS size, load-to-validated-render
// time of a 300-node design, and frame rate while panning and while dragging a node, side by side
// with a 10-node design. Prints a one-screen summary and exits 0 when the measurement itself worked.
//
//   node bench/frontend/bench.mjs [--build | --no-build] [--nodes 300] [--small 10] [--seconds 2]
//        [--loads 3] [--awaited] [--json out.json] [--css CSS] [--dist DIR] [--profile PREFIX] [--trace PREFIX] [--zoom Z]
//        [--select-all]
//   (or bench/frontend/run.sh with the same options; each option is explained in options.mjs)
//
// Uses the real backend (.venv/bin/blocklab serve on a free port, temp data dir), the built
// frontend/dist, and Debian's /usr/bin/chromium through playwright-core from frontend/node_modules.
// Nothing in the app is changed: the design is put in the app's local draft
// (localStorage 'blocklab.draft.v1'), which the app restores on start-up, and the import test uses the
// toolbar's hidden file input, as a user's Import would.
//
// This file is the run's order and its exit; the steps are the modules it imports.
import { launchBrowser } from './browser.mjs'
import { buildIfNeeded, bundleSizes } from './build.mjs'
import { benchDesign, warmUp } from './design-bench.mjs'
import { makeDesign } from './designs.mjs'
import { log } from './log.mjs'
import { N_BIG, N_SMALL } from './options.mjs'
import { kb, report } from './report.mjs'
import { startBackend, stopBackend } from './server.mjs'

let browser = null

// process.exit runs the 'exit' handler, so every way out stops the backend.
process.on('exit', stopBackend)
process.on('SIGINT', () => process.exit(130))
process.on('SIGTERM', () => process.exit(143))

// Whole run must stay well under 2 minutes; never hang CI.
setTimeout(() => {
  log('gave up after 110 s')
  process.exit(1)
}, 110_000).unref()

async function main() {
  const build = buildIfNeeded()
  const size = bundleSizes()
  log(`bundle: initial JS ${kb(size.eagerGz)} gzipped`)
  const base = await startBackend()
  log(`backend at ${base}`)
  browser = await launchBrowser()
  const big = makeDesign(N_BIG)
  const small = makeDesign(N_SMALL)
  await warmUp(browser, base, [small, big])
  log(`measuring ${N_SMALL}-node design`)
  const rs = await benchDesign(browser, base, small, { importDoc: big })
  log(`measuring ${N_BIG}-node design`)
  const rb = await benchDesign(browser, base, big)
  const version = browser.version()
  await browser.close()
  browser = null
  report({ build, size, rs, rb, version })
}

main()
  .then(() => process.exit(0))
  .catch(async (e) => {
    log(`FAILED: ${e?.stack ?? e}`)
    try {
      await browser?.close()
    } catch {
      /* ignore */
    }
    process.exit(1)
  })
