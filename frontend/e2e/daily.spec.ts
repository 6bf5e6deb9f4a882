// Issue 18: the designer as a daily tool. Each test here failed on the code before its fix.
import { expect, test, type Page } from '@playwright/test'
import { connect, drop, node, openApp, settle, shot } from './util'

test('choosing a template asks first on unsaved changes, and Undo brings the old design back', async ({ page }) => {
  await openApp(page)
  const X = await drop(page, 'Input', 260, 80)
  const h = await drop(page, 'Linear', 480, 220)
  await page.getByTestId('btn-new').click()
  // dismissed: nothing is replaced
  let asked = ''
  page.once('dialog', (d) => {
    asked = d.message()
    void d.dismiss()
  })
  await page.getByTestId('template-spirals_playground').click()
  expect(asked).toContain('Undo brings them back')
  await expect(node(page, X)).toBeVisible()
  // accepted: the template replaces the canvas, as one undoable step
  page.once('dialog', (d) => void d.accept())
  await page.getByTestId('template-spirals_playground').click()
  await expect(node(page, 'h1')).toBeVisible()
  await expect(node(page, X)).toHaveCount(0)
  await shot(page, 'replace-template')
  await expect(page.getByTestId('btn-undo')).toBeEnabled()
  await page.getByTestId('btn-undo').click()
  await expect(node(page, X)).toBeVisible()
  await expect(node(page, h)).toBeVisible()
  await expect(node(page, 'h1')).toHaveCount(0)
  await page.getByTestId('btn-redo').click()
  await expect(node(page, 'h1')).toBeVisible()
})

/** Stop whatever still runs, so the next test gets the worker. */
test.afterEach(async ({ page }) => {
  const runs = (await (await page.request.get('/api/runs')).json()) as { id: string; status: string }[]
  for (const r of runs) if (r.status === 'running' || r.status === 'queued') await page.request.post(`/api/runs/${r.id}/stop`)
})

async function openSpirals(page: Page) {
  await openApp(page)
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-spirals_playground').click()
  await expect(node(page, 'h1')).toBeVisible()
  await page.getByTestId('tab-train').click()
  await expect(page.getByTestId('train-panel')).toBeVisible()
}

test('the run list shows a training run as running, not queued', async ({ page }) => {
  await openSpirals(page)
  await page.getByTestId('train-epochs').fill('5000')
  await page.getByTestId('btn-train').click()
  await expect(page.getByTestId('run-status')).toHaveText('running', { timeout: 15_000 })
  const id = (await page.getByTestId('run-view').getAttribute('data-run-id'))!
  await expect(page.getByTestId(`run-${id}`)).toContainText('· running')
  await expect(page.getByTestId(`run-${id}`).locator('.dot')).toHaveAttribute('title', 'running')
  // the run's results are in view without scrolling: the settings fold away under them
  await expect(page.getByTestId('progress')).toBeInViewport()
  await expect(page.getByTestId('chart-loss')).toBeInViewport({ ratio: 0.9 })
  await shot(page, 'run-results-in-view')
  await page.getByTestId('btn-stop').click()
  await expect(page.getByTestId(`run-${id}`)).toContainText('· stopped', { timeout: 15_000 })
})

/** A point on the edge's path, `at` of the way along it, in page coordinates (off its label, which sits mid-way). */
async function pointOnEdge(page: Page, id: string, at = 0.3) {
  return page.locator(`.react-flow__edge[data-id^="${id}"] path.react-flow__edge-path`).evaluate((el, at) => {
    const p = el as SVGPathElement
    const q = p.getPointAtLength(p.getTotalLength() * at)
    const m = p.getScreenCTM()!
    return { x: q.x * m.a + q.y * m.c + m.e, y: q.x * m.b + q.y * m.d + m.f }
  }, at)
}

async function edgeIds(page: Page) {
  // source->target (the id also names the target port)
  return (await page.locator('.react-flow__edge').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')!.replace(/:.*$/, '')))).sort()
}

test('a wire dropped on empty canvas offers the blocks, and the chosen one is created and connected', async ({ page }) => {
  await openApp(page)
  const X = await drop(page, 'Input', 300, 80)
  const from = (await page.locator(`.react-flow__node[data-id="${X}"] .react-flow__handle[data-handleid="out"]`).boundingBox())!
  await page.mouse.move(from.x + from.width / 2, from.y + from.height / 2)
  await page.mouse.down()
  await page.mouse.move(from.x + 60, from.y + 120, { steps: 5 })
  await page.mouse.move(from.x + 80, from.y + 220, { steps: 5 })
  await page.mouse.up()
  await expect(page.getByTestId('block-search')).toBeVisible()
  await page.getByTestId('block-search-input').fill('lin')
  await shot(page, 'wire-drop-search')
  await page.getByTestId('block-search-input').press('Enter')
  await expect(node(page, 'linear1')).toBeVisible()
  expect(await edgeIds(page)).toEqual([`${X}->linear1`])
  // placed where the wire was let go
  const box = (await node(page, 'linear1').boundingBox())!
  expect(Math.abs(box.y - (from.y + 220))).toBeLessThan(60)
})

test('insert a block into a connection: from its context menu, or by dropping it onto the connection', async ({ page }) => {
  await openApp(page)
  const X = await drop(page, 'Input', 300, 60)
  const h = await drop(page, 'Linear', 300, 420)
  await connect(page, X, h)
  expect(await edgeIds(page)).toEqual([`${X}->${h}`])
  let p = await pointOnEdge(page, `${X}->${h}`)
  await page.mouse.click(p.x, p.y, { button: 'right' })
  await expect(page.getByTestId('context-menu')).toBeVisible()
  await shot(page, 'edge-context-menu')
  await page.getByTestId('menu-insert').click()
  await page.getByTestId('block-search-input').fill('ReLU')
  await page.getByTestId('block-search-input').press('Enter')
  await expect(node(page, 'relu1')).toBeVisible()
  expect(await edgeIds(page)).toEqual([`${X}->relu1`, `relu1->${h}`])
  // one undo step takes it out again
  await page.getByTestId('btn-undo').click()
  expect(await edgeIds(page)).toEqual([`${X}->${h}`])
  await page.getByTestId('btn-redo').click()
  await expect(node(page, 'relu1')).toBeVisible()
  // a palette block dropped onto a connection goes into it
  await settle(page)
  p = await pointOnEdge(page, `relu1->${h}`, 0.35)
  const pane = (await page.locator('.react-flow__pane').boundingBox())!
  await page.getByTestId('palette-Tanh').dragTo(page.locator('.react-flow__pane'), { targetPosition: { x: p.x - pane.x, y: p.y - pane.y } })
  await expect(node(page, 'tanh1')).toBeVisible()
  expect(await edgeIds(page)).toEqual([`${X}->relu1`, `relu1->tanh1`, `tanh1->${h}`].sort())
})

test('context menus on nodes and connections; a connection is deleted from its label', async ({ page }) => {
  await openApp(page)
  const X = await drop(page, 'Input', 300, 60)
  const a = await drop(page, 'ReLU', 300, 260)
  const b = await drop(page, 'Tanh', 300, 460)
  await connect(page, X, a)
  await connect(page, a, b)
  await node(page, b).locator('.bn-head').click({ button: 'right' })
  await expect(page.getByTestId('menu-duplicate')).toBeVisible()
  await shot(page, 'node-context-menu')
  await page.getByTestId('menu-delete-node').click()
  await expect(node(page, b)).toHaveCount(0)
  expect(await edgeIds(page)).toEqual([`${X}->${a}`])
  // a click on the connection's shape label selects it; its ✕ deletes it
  await settle(page)
  await page.getByTestId(`shape-${X}-${a}`).click()
  await page.getByTestId(`edge-delete-${X}-${a}`).click()
  expect(await edgeIds(page)).toEqual([])
  await page.getByTestId('btn-undo').click()
  expect(await edgeIds(page)).toEqual([`${X}->${a}`])
  const p = await pointOnEdge(page, `${X}->${a}`)
  await page.mouse.click(p.x, p.y, { button: 'right' })
  await page.getByTestId('menu-delete-edge').click()
  expect(await edgeIds(page)).toEqual([])
})

test('text that is not a number is a problem: the status says so, the node shows it, and Train is blocked', async ({ page }) => {
  await openSpirals(page)
  await page.getByTestId('tab-inspector').click()
  await node(page, 'h1').locator('.bn-head').click()
  await page.getByTestId('param-out_features').fill('abc')
  await expect(page.getByTestId('validity')).toContainText('1 problem')
  await expect(page.getByTestId('errors-h1')).toContainText('“abc” is not a whole number')
  await page.getByTestId('tab-train').click()
  await expect(page.getByTestId('btn-train')).toBeDisabled()
  await expect(page.getByTestId('train-errors')).toContainText('out_features')
  await expect(page.getByTestId('train-errors')).toContainText('“abc”')
  await shot(page, 'invalid-number')
  // a number again: valid, and Train is back
  await page.getByTestId('tab-inspector').click()
  await page.getByTestId('param-out_features').fill('12')
  await expect(page.getByTestId('validity')).toContainText('valid')
  await page.getByTestId('tab-train').click()
  await expect(page.getByTestId('btn-train')).toBeEnabled()
})

test('the dataset menu names what its settings make, and the Input is checked against it before Train', async ({ page }) => {
  await openSpirals(page)
  await page.getByTestId('train-dataset').selectOption('blobs')
  await expect(page.getByTestId('train-dataset').locator('option:checked')).toContainText('3 classes · in 2')
  await page.locator('.ds-params summary').first().click()
  await page.getByTestId('ds-n_features').fill('20')
  await page.getByTestId('ds-centers').fill('10')
  await expect(page.getByTestId('train-dataset').locator('option:checked')).toContainText('10 classes · in 20')
  // X takes 2 features: said before Train, with a way to adopt the dataset's shape
  await expect(page.getByTestId('input-check')).toContainText('X takes 2')
  await expect(page.getByTestId('input-check')).toContainText('20')
  await shot(page, 'input-check')
  await page.getByTestId('adopt-shape').click()
  await expect(page.getByTestId('input-check')).toHaveCount(0)
  await expect(node(page, 'X')).toContainText('shape=[20]')
})

test('a reload keeps the design with its training settings, the undo history, the run on screen, and a change made just before', async ({ page }) => {
  await openSpirals(page)
  await page.getByTestId('train-epochs').fill('3')
  await page.getByTestId('btn-train').click()
  await expect(page.getByTestId('run-status')).toHaveText('completed', { timeout: 30_000 })
  const id = (await page.getByTestId('run-view').getAttribute('data-run-id'))!
  // an edit, then at once away (no time for the debounced write: pagehide writes it)
  await page.getByTestId('tab-inspector').click()
  await node(page, 'h1').locator('.bn-head').click()
  await page.getByTestId('param-out_features').fill('24')
  await page.reload()
  await expect(node(page, 'h1')).toContainText('out_features=24')
  await page.getByTestId('tab-train').click()
  await expect(page.getByTestId('run-view')).toHaveAttribute('data-run-id', id)
  await expect(page.getByTestId('train-epochs')).toHaveValue('3')
  // the undo history came along: back to 16, then to before the epochs were set
  await expect(page.getByTestId('btn-undo')).toBeEnabled()
  await page.getByTestId('btn-undo').click()
  await expect(node(page, 'h1')).toContainText('out_features=16')
  await page.getByTestId('btn-undo').click()
  await expect(page.getByTestId('train-epochs')).not.toHaveValue('3')
})

test('image samples are drawn as pictures', async ({ page }) => {
  await openApp(page)
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-lenet_digits').click()
  await page.getByTestId('tab-train').click()
  await page.getByTestId('train-epochs').fill('1')
  await page.getByTestId('btn-train').click()
  await expect(page.getByTestId('run-status')).toHaveText('completed', { timeout: 45_000 })
  await page.getByTestId('btn-try-val').click()
  await expect(page.getByTestId('val-result').getByTestId('sample-image')).toHaveCount(5)
  await expect(page.getByTestId('val-result')).not.toContainText('tensor [')
  // a picture, not a blank: some pixels differ
  const distinct = await page
    .getByTestId('sample-image')
    .first()
    .evaluate((c) => {
      const cv = c as HTMLCanvasElement
      const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data
      return new Set(Array.from({ length: d.length / 4 }, (_, i) => d[i * 4])).size
    })
  expect(distinct).toBeGreaterThan(3)
  await page.getByTestId('val-result').scrollIntoViewIfNeeded()
  await shot(page, 'image-samples')
})
