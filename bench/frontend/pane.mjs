// Where on the canvas the gestures happen: the view's zoom, an empty spot of the pane to pan from,
// and the node to drag. Each reads the page as it is drawn (React Flow's DOM), not the app's state.

export const viewZoom = (page) =>
  page.evaluate(() => Number(/scale\(([\d.]+)\)/.exec(document.querySelector('.react-flow__viewport').style.transform)?.[1]))

/** Wheel about the pane's centre until the zoom is within 10% of `want`; returns the zoom reached. */
export async function zoomTo(page, want) {
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
export async function emptyPanePoint(page) {
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
export async function middleNode(page) {
  return page.evaluate(() => {
    const pane = document.querySelector('.react-flow__pane').getBoundingClientRect()
    const cx = pane.left + pane.width / 2
    const cy = pane.top + pane.height / 2
    let best = null
    for (const el of document.querySelectorAll('.react-flow__node')) {
      const r = el.getBoundingClientRect()
      const d = Math.hypot(r.left + r.width / 2 - cx, r.top + r.height / 2 - cy)
      if (!best || d < best.d) best = { d, id: el.getAttribute('data-id'), x: r.left + r.width / 2, y: r.top + r.height * 0.45 }
    }
    return best
  })
}
