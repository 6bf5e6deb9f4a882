// Issue 17's plots: after a classification run, its confusion matrix and per-class accuracy; after
// a regression run, its predictions against the true values. The numbers on the page are the
// server's evaluation of the run's checkpoint.
import { expect, test, type Page } from '@playwright/test'
import { node, openApp, shot } from './util'

async function fromTemplate(page: Page, id: string, first: string, epochs: number) {
  await openApp(page)
  await page.getByTestId('btn-new').click()
  await page.getByTestId(`template-${id}`).click()
  await expect(node(page, first)).toBeVisible()
  await page.getByTestId('tab-train').click()
  await page.getByTestId('train-epochs').fill(String(epochs))
  await page.getByTestId('btn-train').click()
  await expect(page.getByTestId('run-status')).toHaveText('completed', { timeout: 50_000 })
  return (await page.getByTestId('run-view').getAttribute('data-run-id'))!
}

async function stopAll(page: Page) {
  const runs = (await (await page.request.get('/api/runs')).json()) as { id: string; status: string }[]
  for (const r of runs) if (r.status === 'running' || r.status === 'queued') await page.request.post(`/api/runs/${r.id}/stop`)
}
test.afterEach(async ({ page }) => stopAll(page))

test('LeNet on the digit images: sample pictures, then a 10×10 confusion matrix and per-class accuracy', async ({ page }) => {
  const id = await fromTemplate(page, 'lenet_digits_images', 'conv1', 1)
  const ev = (await (await page.request.get(`/api/runs/${id}/evaluation?which=best`)).json()) as {
    classes: string[]
    matrix: number[][]
    accuracy: number
    per_class: { accuracy: number }[]
  }
  const view = page.getByTestId('evaluation')
  await expect(view).toHaveAttribute('data-task', 'classification')
  const cm = page.getByTestId('confusion-matrix')
  await expect(cm.getByTestId('cm-cell')).toHaveCount(ev.classes.length ** 2)
  expect(ev.classes.length).toBe(10)
  // every cell shows the server's count, row by row (true) and column by column (predicted)
  const cells = await cm.getByTestId('cm-cell').allTextContents()
  expect(cells).toEqual(ev.matrix.flat().map((v) => (v ? String(v) : '')))
  await expect(page.getByTestId('eval-accuracy')).toHaveText(`${(ev.accuracy * 100).toFixed(1)}%`)
  await expect(page.getByTestId('per-class-acc')).toHaveText(ev.per_class.map((r) => `${(r.accuracy * 100).toFixed(0)}%`))
  // the validation samples are drawn as pictures
  await page.getByTestId('btn-try-val').click()
  await expect(page.getByTestId('val-result').getByTestId('sample-image').first()).toBeVisible()
  await view.scrollIntoViewIfNeeded()
  await shot(page, 'evaluation-confusion')
})

test('linear regression: predicted against true, with the error figures', async ({ page }) => {
  const id = await fromTemplate(page, 'linear_regression', 'net', 2)
  const ev = (await (await page.request.get(`/api/runs/${id}/evaluation`)).json()) as { true: number[][]; r2: number[] }
  await expect(page.getByTestId('evaluation')).toHaveAttribute('data-task', 'regression')
  const chart = page.getByTestId('pred-vs-true')
  await expect(chart).toHaveAttribute('data-points', String(ev.true.length))
  await expect(chart.locator('canvas')).toBeVisible()
  await expect(page.getByTestId('eval-r2')).toHaveText(ev.r2[0].toFixed(3))
  await chart.scrollIntoViewIfNeeded()
  await shot(page, 'evaluation-regression')
})
