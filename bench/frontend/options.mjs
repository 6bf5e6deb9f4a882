// The command line (see bench.mjs's header). A value option reads the word after its flag; a
// missing one keeps the default, and a bad number fails later, where the value is used.
const argv = process.argv.slice(2)
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt
}

export const FLAG_BUILD = argv.includes('--build')
export const FLAG_NO_BUILD = argv.includes('--no-build')
export const N_BIG = Number(opt('nodes', 300))
export const N_SMALL = Number(opt('small', 10))
export const GESTURE_MS = Math.round(Number(opt('seconds', 2)) * 1000)
export const LOADS = Math.max(1, Number(opt('loads', 3)))
export const JSON_OUT = opt('json', null)
export const EXTRA_CSS = opt('css', null) // what-if experiments, e.g. --css '.react-flow__minimap{display:none}'
// Diagnostics: --dist DIR serves the page from another build (e.g. `npx vite build --outDir /tmp/nomin
// --minify false`, for readable names); --profile PREFIX writes CPU profiles of the big design's pan
// and drag (PREFIX-pan.cpuprofile, PREFIX-drag.cpuprofile) and prints where their time went.
export const DIST_OVERRIDE = opt('dist', null)
export const PROFILE = opt('profile', null)
// --trace PREFIX records the big design's pan and drag as Chromium traces (PREFIX-pan.json,
// PREFIX-drag.json; open in DevTools' Performance panel) and prints each gesture's renderer
// main-thread time by trace event: where the time goes that is not script.
export const TRACE = opt('trace', null)
// --zoom Z wheels the view in (or out) about the pane's centre until the zoom reaches Z before the
// gestures: fit view shows a 300-node design at ~0.2, where nodes are drawn without small print.
export const ZOOM = opt('zoom', null) == null ? null : Number(opt('zoom', null))
// --select-all selects every node (Ctrl+A) before the drag, so the drag moves the whole design.
export const SELECT_ALL = argv.includes('--select-all')
// --awaited sends each mouse event only once the previous one is handled (see gestures.mjs).
export const AWAITED = argv.includes('--awaited')
