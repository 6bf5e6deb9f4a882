// Issue 18: the designer as a daily tool. Each test here failed on the code before its fix.
import { expect, test, type Page } from '@playwright/test'
import { drop, node, openApp, shot } from './util'

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
  await page.getByTestId('btn-stop').click()
  await expect(page.getByTestId(`run-${id}`)).toContainText('· stopped', { timeout: 15_000 })
})
