// Issue 17's sweeps in the browser: start one from the design and its settings with a small space,
// follow its trials in the table and the parallel-coordinates plot, open a trial's run, start a
// run from the best trial, and stop a sweep.
import { expect, test, type Page } from '@playwright/test'
import { node, openApp, shot } from './util'

type Trial = { number: number; run_id: string; params: Record<string, number>; state: string; value: number | null }
type Sweep = { status: string; trials: Trial[]; best: Trial | null }

async function openSweeps(page: Page, epochs: number) {
  await openApp(page)
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-spirals_playground').click()
  await expect(node(page, 'h1')).toBeVisible()
  await page.getByTestId('tab-train').click()
  await page.getByTestId('train-epochs').fill(String(epochs))
  await page.getByTestId('tab-sweeps').click()
  await expect(page.getByTestId('sweep-form')).toBeVisible()
}

async function stopAll(page: Page) {
  for (const s of (await (await page.request.get('/api/sweeps')).json()) as { id: string; status: string }[])
    if (s.status === 'running') await page.request.post(`/api/sweeps/${s.id}/stop`)
  const runs = (await (await page.request.get('/api/runs')).json()) as { id: string; status: string }[]
  for (const r of runs) if (r.status === 'running' || r.status === 'queued') await page.request.post(`/api/runs/${r.id}/stop`)
}
test.afterEach(async ({ page }) => stopAll(page))

test('a 2-trial sweep over lr and batch size: table, parallel coordinates, a trial run, a run from the best trial', async ({ page }) => {
  await openSweeps(page, 2)
  // the default space: lr on a log range, two batch sizes; a budget of 2 trials
  await expect(page.getByTestId('space-path-0')).toHaveValue('lr')
  await expect(page.getByTestId('space-path-1')).toHaveValue('batch_size')
  await page.getByTestId('space-choices-1').fill('16, 64')
  await page.getByTestId('sweep-trials').fill('2')
  await page.getByTestId('sweep-metric').selectOption('val_accuracy')
  await page.getByTestId('btn-start-sweep').click()
  const view = page.getByTestId('sweep-view')
  await expect(view).toBeVisible()
  await expect(view).toHaveAttribute('data-status', 'completed', { timeout: 50_000 })
  const id = (await view.getAttribute('data-sweep-id'))!
  const sweep = (await (await page.request.get(`/api/sweeps/${id}`)).json()) as Sweep
  expect(sweep.trials).toHaveLength(2)
  // each trial's row shows its params, state and metric as the server has them
  for (const t of sweep.trials) {
    const row = page.getByTestId(`trial-${t.number}`)
    await expect(row).toHaveAttribute('data-state', t.state)
    await expect(page.getByTestId(`trial-${t.number}-batch_size`)).toHaveText(String(t.params.batch_size))
    expect([16, 64]).toContain(t.params.batch_size)
    expect(t.params.lr).toBeGreaterThanOrEqual(0.001)
    expect(t.params.lr).toBeLessThanOrEqual(0.1)
  }
  // the best trial is the table's best accuracy, highlighted in the plot
  const finished = sweep.trials.filter((t) => t.value != null)
  const bestValue = Math.max(...finished.map((t) => t.value!))
  expect(sweep.best!.value).toBe(bestValue)
  await expect(page.getByTestId(`trial-${sweep.best!.number}`)).toHaveClass(/best/)
  await expect(page.getByTestId('parcoords')).toHaveAttribute('data-lines', String(finished.length))
  await expect(page.getByTestId(`pc-trial-${sweep.best!.number}`)).toHaveClass(/best/)
  await shot(page, 'sweep-completed')

  // a trial's run opens on the Train panel
  const other = sweep.trials.find((t) => t.number !== sweep.best!.number)!
  await page.getByTestId(`trial-${other.number}-run`).click()
  await expect(page.getByTestId('run-view')).toHaveAttribute('data-run-id', other.run_id)
  await expect(page.getByTestId('run-status')).toHaveText(other.state === 'completed' ? 'completed' : /.+/)

  // a run from the best trial: its settings are the best trial's
  await page.getByTestId('tab-sweeps').click()
  await page.getByTestId('btn-run-best').click()
  const runView = page.getByTestId('run-view')
  await expect(runView).not.toHaveAttribute('data-run-id', other.run_id)
  const runId = (await runView.getAttribute('data-run-id'))!
  expect(sweep.trials.map((t) => t.run_id)).not.toContain(runId)
  const run = (await (await page.request.get(`/api/runs/${runId}`)).json()) as { config: { batch_size: number; optimizer: { lr: number } } }
  expect(run.config.batch_size).toBe(sweep.best!.params.batch_size)
  expect(run.config.optimizer.lr).toBeCloseTo(sweep.best!.params.lr, 12)
  await expect(page.getByTestId('run-status')).toHaveText('completed', { timeout: 30_000 })
})

test('a bad space is refused naming the setting; Stop ends a running sweep and its trials', async ({ page }) => {
  await openSweeps(page, 200)
  // a path no run has: the server names it
  await page.getByTestId('space-path-1').fill('no_such_setting')
  await page.getByTestId('btn-start-sweep').click()
  await expect(page.getByTestId('sweep-error')).toContainText('space.no_such_setting')
  await shot(page, 'sweep-form-error')
  await page.getByTestId('space-remove-1').click()
  await page.getByTestId('sweep-trials').fill('3')
  await page.getByTestId('btn-start-sweep').click()
  const view = page.getByTestId('sweep-view')
  await expect(view).toHaveAttribute('data-status', 'running')
  await expect(page.getByTestId('trial-0')).toHaveAttribute('data-state', 'running', { timeout: 30_000 })
  await page.getByTestId('btn-stop-sweep').click()
  await expect(view).toHaveAttribute('data-status', 'stopped', { timeout: 30_000 })
  await expect(page.getByTestId('trial-0')).toHaveAttribute('data-state', 'stopped')
  await expect(page.getByTestId('trial-1')).toHaveCount(0)
  const sweep = (await (await page.request.get(`/api/sweeps/${await view.getAttribute('data-sweep-id')}`)).json()) as Sweep
  const run = (await (await page.request.get(`/api/runs/${sweep.trials[0].run_id}`)).json()) as { status: string }
  expect(run.status).toBe('stopped')
})
