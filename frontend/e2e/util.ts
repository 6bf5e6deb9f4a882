import { expect, type Page } from '@playwright/test'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
export const SHOTS = path.resolve(here, '../../tests/e2e/screenshots')

export async function shot(page: Page, name: string) {
  await page.waitForTimeout(200)
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) })
}

export async function openApp(page: Page) {
  await page.goto('/')
  await expect(page.getByTestId('palette-Linear')).toBeVisible()
}

/** Drag a palette entry onto the canvas at (x, y) relative to the pane; returns the new node's id. */
export async function drop(page: Page, type: string, x: number, y: number, testidPrefix = 'palette'): Promise<string> {
  const before = await page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')))
  await page.getByTestId(`${testidPrefix}-${type}`).dragTo(page.locator('.react-flow__pane'), { targetPosition: { x, y } })
  await expect(page.locator('.react-flow__node')).toHaveCount(before.length + 1)
  const after = await page.locator('.react-flow__node').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')))
  return after.find((id) => !before.includes(id))!
}

/** Wait for the debounced validation round trip, so nodes stop changing size. */
export async function settle(page: Page) {
  await page.waitForTimeout(30)
  await expect(page.locator('.statusbar .spinner')).toHaveCount(0)
  await page.waitForTimeout(120)
}

/** Press on the source node's output handle (or a named output: an LSTM's h_n), release on the target's named input port. */
export async function connect(page: Page, source: string, target: string, port = 'x', output = 'out') {
  await settle(page)
  const from = page.locator(`.react-flow__node[data-id="${source}"] .react-flow__handle[data-handleid="${output}"]`)
  const to = page.locator(`.react-flow__node[data-id="${target}"] .react-flow__handle[data-handleid="${port}"]`)
  const a = (await from.boundingBox())!
  const b = (await to.boundingBox())!
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2)
  await page.mouse.down()
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 4 })
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 4 })
  await page.mouse.up()
}

/** Drop these blocks at their positions and wire each to the next (Input -> ... -> Output); their ids. */
export async function dropChain(page: Page, blocks: [string, number, number][]): Promise<string[]> {
  const ids: string[] = []
  for (const [type, x, y] of blocks) ids.push(await drop(page, type, x, y))
  for (let i = 1; i < ids.length; i++) await connect(page, ids[i - 1], ids[i])
  return ids
}

export function node(page: Page, id: string) {
  return page.locator(`.react-flow__node[data-id="${id}"]`)
}

/** Select a node by clicking its body, then set one of its settings in the inspector. */
export async function setParam(page: Page, id: string, key: string, value: string) {
  await node(page, id).locator('.bn-head').click()
  await expect(page.getByTestId('node-id')).toHaveValue(id)
  await page.getByTestId(`param-${key}`).fill(value)
}

export async function edgeCount(page: Page) {
  return page.locator('.react-flow__edge').count()
}
