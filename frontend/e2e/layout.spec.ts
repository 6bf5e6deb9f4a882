// Issue 18, item 9: the canvas layout a person runs into (fit view, popups, node errors).
import { expect, test, type Locator, type Page } from '@playwright/test'
import { drop, node, openApp, setParam, settle, shot } from './util'

async function template(page: Page, id: string) {
  await openApp(page)
  await page.getByTestId('btn-new').click()
  await page.getByTestId(`template-${id}`).click()
}

const zoom = (page: Page) => page.locator('.react-flow__viewport').evaluate((el) => new DOMMatrix(getComputedStyle(el).transform).a)

function overlap(a: { x: number; y: number; width: number; height: number }, b: typeof a) {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
}

async function boxes(l: Locator) {
  return l.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON() as DOMRect))
}

test('Fit view keeps a 14-block LeNet readable: a minimum zoom, the top of the graph in view', async ({ page }) => {
  await template(page, 'lenet_digits')
  await expect(page.locator('.react-flow__node')).toHaveCount(14)
  await page.mouse.move(600, 400)
  await page.mouse.wheel(0, 800) // zoomed far out first
  await page.getByTestId('btn-fit').click()
  await expect.poll(() => zoom(page)).toBeGreaterThanOrEqual(0.64)
  await expect(page.locator('.react-flow__node').first()).toBeInViewport()
  await shot(page, 'fit-lenet')
})

test('the problems popup leaves the zoom controls free', async ({ page }) => {
  await openApp(page)
  await drop(page, 'Input', 300, 100)
  await expect(page.getByTestId('global-errors')).toBeVisible()
  const [pop] = await boxes(page.getByTestId('global-errors'))
  const [controls] = await boxes(page.locator('.react-flow__controls'))
  expect(overlap(pop, controls)).toBe(false)
})

test("a node's inline error does not overlap the node below it", async ({ page }) => {
  await template(page, 'spirals_playground')
  await settle(page)
  // no shape: the Input gets a long error message
  await setParam(page, 'X', 'shape', '')
  await expect(page.locator('.bn.fault').first()).toBeVisible()
  await settle(page)
  const all = await boxes(page.locator('.react-flow__node'))
  for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) expect(overlap(all[i], all[j]), `nodes ${i} and ${j}`).toBe(false)
  await shot(page, 'node-errors')
  await expect(node(page, 'X')).toBeVisible()
})
