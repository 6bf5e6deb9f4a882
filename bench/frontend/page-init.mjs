// The bench's instruments inside the page (window.__bench). Playwright serialises pageInit into the
// page, so it may use nothing from this module: only its argument and the page's own globals.

/** Installed before the app's own scripts: restores the draft and watches for the first validated render. */
export function pageInit({ doc, n }) {
  if (doc) localStorage.setItem('blocklab.draft.v1', JSON.stringify({ doc, id: null }))
  const B = (window.__bench = { load: {} })
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
