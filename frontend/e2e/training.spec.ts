import { expect, test, type Page } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { node, openApp, shot } from './util'

async function openSpirals(page: Page) {
  await openApp(page)
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-spirals_playground').click()
  await expect(node(page, 'h1')).toBeVisible()
  await page.getByTestId('tab-train').click()
  await expect(page.getByTestId('train-panel')).toBeVisible()
  // prefilled from the template's train config
  await expect(page.getByTestId('train-dataset')).toHaveValue('spirals')
  await expect(page.getByTestId('train-lr')).toHaveValue('0.01')
}

async function setEpochs(page: Page, n: number) {
  await page.getByTestId('train-epochs').fill(String(n))
}

async function train(page: Page) {
  const view = page.getByTestId('run-view')
  const before = (await view.count()) ? await view.getAttribute('data-run-id') : null
  await page.getByTestId('btn-train').click()
  await expect(view).toBeVisible()
  await expect(view).not.toHaveAttribute('data-run-id', before ?? '')
  return (await view.getAttribute('data-run-id'))!
}

async function attr(page: Page, testid: string, name: string): Promise<number> {
  return Number(await page.getByTestId(testid).getAttribute(name))
}

/** Stop whatever still runs, so the next test gets the worker. */
async function stopAll(page: Page) {
  const runs = (await (await page.request.get('/api/runs')).json()) as { id: string; status: string }[]
  for (const r of runs) if (r.status === 'running' || r.status === 'queued') await page.request.post(`/api/runs/${r.id}/stop`)
}

test.afterEach(async ({ page }) => stopAll(page))

test('train the spirals: loss points, node statistics, decision boundary, downloads that load in torch', async ({ page }) => {
  await openSpirals(page)
  await setEpochs(page, 40)
  const id = await train(page)
  await expect(page.getByTestId('run-status')).toHaveText('completed', { timeout: 45_000 })
  // the progress total is epochs × steps_per_epoch of the run's start message
  const start = (await (await page.request.get(`/api/runs/${id}/metrics?type=start`)).json()) as { steps_per_epoch: number }[]
  const spe = start[0].steps_per_epoch
  expect(spe).toBeGreaterThan(0)
  await expect(page.getByTestId('progress-text')).toContainText(`/ ${40 * spe}`)
  // loss points and accuracy
  expect(await attr(page, 'chart-loss', 'data-points')).toBeGreaterThan(10)
  await expect(page.getByTestId('chart-acc')).toBeVisible()
  expect(await attr(page, 'run-view', 'data-gaps')).toBe(0)
  // per-node statistics on the canvas
  for (const id of ['h1', 'h2', 'h3', 'out']) await expect(page.getByTestId(`nodestat-${id}`)).toBeVisible()
  expect(Number(await page.getByTestId('nodestat-h1').getAttribute('data-grad'))).toBeGreaterThan(0)
  await expect(page.getByTestId('nodestat-h1').locator('svg.spark')).toBeVisible()
  // the decision boundary updated more than once
  expect(await attr(page, 'boundary', 'data-updates')).toBeGreaterThanOrEqual(2)
  // the training points are drawn over it, coloured by class (both classes present)
  const points = page.getByTestId('boundary-points')
  await expect(points).toHaveAttribute('data-split', 'train')
  await expect.poll(() => attr(page, 'boundary-points', 'data-count')).toBeGreaterThan(100)
  expect(await points.locator('circle').count()).toBe(await attr(page, 'boundary-points', 'data-count'))
  const fills = await points.locator('circle').evaluateAll((cs) => [...new Set(cs.map((c) => c.getAttribute('fill')))])
  expect(fills.sort()).toEqual(['rgb(245,146,62)', 'rgb(60,140,230)'])
  // each point lies inside the map
  const box = (await page.getByTestId('boundary').boundingBox())!
  for (const b of await points.locator('circle').evaluateAll((cs) => cs.slice(0, 20).map((c) => c.getBoundingClientRect().toJSON() as DOMRect))) {
    expect(b.x + b.width / 2).toBeGreaterThanOrEqual(box.x - 1)
    expect(b.x + b.width / 2).toBeLessThanOrEqual(box.x + box.width + 1)
    expect(b.y + b.height / 2).toBeGreaterThanOrEqual(box.y - 1)
    expect(b.y + b.height / 2).toBeLessThanOrEqual(box.y + box.height + 1)
  }
  // clicking a node opens its statistics over time
  await node(page, 'h2').locator('.bn-head').click()
  await expect(page.getByTestId('node-drawer')).toBeVisible()
  await expect(page.getByTestId('layer-h2.weight')).toBeVisible()
  await expect(page.getByTestId('layer-h2.bias')).toBeVisible()
  await expect(page.getByTestId('drawer-chart')).toBeVisible()
  await shot(page, 'train-spirals-done')
  await page.getByTestId('node-drawer').getByRole('button', { name: 'close' }).click()
  await page.getByTestId('boundary').scrollIntoViewIfNeeded()
  await shot(page, 'train-boundary')
  // the validation points instead, then none
  const trainCount = await attr(page, 'boundary-points', 'data-count')
  await page.getByTestId('points-val').click()
  await expect(points).toHaveAttribute('data-split', 'val')
  await expect.poll(() => attr(page, 'boundary-points', 'data-count')).toBeGreaterThan(20)
  expect(await attr(page, 'boundary-points', 'data-count')).not.toBe(trainCount)
  await shot(page, 'train-boundary-val')
  await page.getByTestId('points-off').click()
  await expect(points.locator('circle')).toHaveCount(0)
  await page.getByTestId('points-train').click()
  await expect.poll(() => attr(page, 'boundary-points', 'data-count')).toBe(trainCount)

  // inference
  await page.getByTestId('btn-predict').click()
  await expect(page.getByTestId('predict-result').locator('tbody tr')).toHaveCount(3)
  // validation samples: input, target, prediction; wrong ones marked
  await page.getByTestId('btn-try-val').click()
  const rows = page.getByTestId('val-result').locator('tbody tr')
  await expect(rows).toHaveCount(5)
  await expect(rows.first().locator('td').nth(1)).toContainText('[')
  const wrong = await page.getByTestId('val-result').locator('tr[data-wrong="true"]').count()
  expect(await page.getByTestId('val-result').locator('tr[data-wrong="false"]').count()).toBe(5 - wrong)
  await expect(page.getByTestId('val-summary')).toContainText(`${5 - wrong} of 5 right`)
  // source, viewable
  await page.getByTestId('btn-source').click()
  await expect(page.getByTestId('source')).toContainText('class Model')
  await page.getByTestId('predict-result').scrollIntoViewIfNeeded()
  await shot(page, 'train-artifacts')

  // downloads: .pt, .safetensors and .py; torch loads each strict into the exported Model
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blocklab-dl-'))
  const save = async (testid: string, name: string) => {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()])
    const p = path.join(dir, name)
    await dl.saveAs(p)
    return p
  }
  const pt = await save('dl-pt', 'w.pt')
  const st = await save('dl-safetensors', 'w.safetensors')
  const py = await save('dl-py', 'model_src.py')
  const check = `
import importlib.util, sys, torch
from safetensors.torch import load_file
spec = importlib.util.spec_from_file_location("model_src", sys.argv[1]); m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
a = m.Model(); a.load_state_dict(torch.load(sys.argv[2], weights_only=True), strict=True)
b = m.Model(); b.load_state_dict(load_file(sys.argv[3]), strict=True)
assert all(torch.equal(a.state_dict()[k], b.state_dict()[k]) for k in a.state_dict())
print("LOADED", len(a.state_dict()))
`
  const out = execFileSync(path.resolve('../.venv/bin/python'), ['-c', check, py, pt, st], { encoding: 'utf8' })
  expect(out).toContain('LOADED 8')
})

test('server errors are listed and outlined on the canvas; stop a run', async ({ page }) => {
  await openSpirals(page)
  // iris has 4 features and 3 classes: the server refuses the run with node errors
  await page.getByTestId('train-dataset').selectOption('iris')
  await page.getByTestId('btn-train').click()
  await expect(page.getByTestId('train-errors')).toContainText("Input 'X' has shape [2]")
  await expect(node(page, 'X').locator('.bn.fault')).toBeVisible()
  await expect(page.getByTestId('errors-X')).toContainText('iris')
  await expect(node(page, 'Y').locator('.bn.fault')).toBeVisible()
  await shot(page, 'train-errors')
  // back to the spirals: the outline goes away
  await page.getByTestId('train-dataset').selectOption('spirals')
  await expect(page.getByTestId('train-errors')).toHaveCount(0)
  await expect(page.locator('.bn.fault')).toHaveCount(0)
  await setEpochs(page, 5000)
  await train(page)
  await expect(page.getByTestId('run-status')).toHaveText('running', { timeout: 15_000 })
  await expect.poll(() => attr(page, 'run-view', 'data-last-seq')).toBeGreaterThan(15)
  await expect(page.getByTestId('btn-stop')).toBeVisible()
  await shot(page, 'train-running')
  await page.getByTestId('btn-stop').click()
  await expect(page.getByTestId('run-status')).toHaveText('stopped', { timeout: 15_000 })
  await expect(page.getByTestId('btn-train')).toBeVisible()
  // the weights so far stay downloadable
  await expect(page.getByTestId('dl-pt')).toBeVisible()
  expect(await attr(page, 'run-view', 'data-gaps')).toBe(0)
  await shot(page, 'train-stopped')
})

test('reload during a run: the stream resumes with after=N, without gaps', async ({ page }) => {
  await openSpirals(page)
  await setEpochs(page, 5000)
  const id = await train(page)
  await expect.poll(() => attr(page, 'run-view', 'data-last-seq'), { timeout: 15_000 }).toBeGreaterThan(20)
  await page.reload()
  await expect(page.getByTestId('run-view')).toHaveAttribute('data-run-id', id)
  await expect(page.getByTestId('train-epochs')).toHaveValue('5000') // the form shows the run's settings
  const first = await attr(page, 'run-view', 'data-last-seq')
  await expect.poll(() => attr(page, 'run-view', 'data-last-seq'), { timeout: 15_000 }).toBeGreaterThan(first + 20)
  const dbg = await page.evaluate(() => (window as unknown as { __blocklab: { seqs: number[]; connects: { after: number }[]; replayed: number; gaps: number } }).__blocklab)
  // replayed from the server, then the socket picked up after the last replayed seq
  expect(dbg.replayed).toBeGreaterThan(20)
  expect(dbg.connects[0].after).toBe(dbg.replayed)
  expect(dbg.gaps).toBe(0)
  // every seq from 1 on, each once, in order
  expect(dbg.seqs.length).toBeGreaterThan(40)
  dbg.seqs.forEach((s, i) => expect(s).toBe(i + 1))
  await expect(page.getByTestId('nodestat-h1')).toBeVisible()
  await shot(page, 'train-resumed')
  await page.getByTestId('btn-stop').click()
  await expect(page.getByTestId('run-status')).toHaveText('stopped', { timeout: 15_000 })
})

test('compare two runs from the history; the history of a saved design', async ({ page }) => {
  await openSpirals(page)
  // save the design: its runs are linked to it
  await page.getByTestId('btn-save').click()
  await expect(page.locator('.statusbar')).toContainText('saved as #')
  const designId = (await page.locator('.statusbar').innerText()).match(/saved as #(\S+)/)![1]
  await page.getByTestId('tab-train').click()
  await setEpochs(page, 12)
  const a = await train(page)
  await expect(page.getByTestId('run-status')).toHaveText('completed', { timeout: 30_000 })
  // with a run on screen the settings fold away under its results
  await expect(page.getByTestId('train-settings')).not.toHaveAttribute('open')
  await page.getByTestId('train-settings').locator('> summary').click()
  await page.getByTestId('train-lr').fill('0.001')
  const b = await train(page)
  expect(b).not.toBe(a)
  await expect(page.getByTestId('run-status')).toHaveText('completed', { timeout: 30_000 })
  await expect(page.getByTestId(`run-${a}`)).toBeVisible()
  await expect(page.getByTestId(`run-${b}`)).toBeVisible()
  // only this design's runs: earlier tests trained unsaved designs of the same name
  await expect(page.getByTestId('history-count')).toHaveText('2')
  await expect(page.locator('.runs > li')).toHaveCount(2)
  const linked = (await (await page.request.get(`/api/runs?graph_id=${designId}`)).json()) as { id: string; graph_id: string }[]
  expect(linked.map((r) => r.id).sort()).toEqual([a, b].sort())
  expect(linked.every((r) => r.graph_id === designId)).toBe(true)
  await page.getByTestId('history-all').check()
  await expect.poll(async () => Number(await page.getByTestId('history-count').innerText())).toBeGreaterThan(2)
  await page.getByTestId('history-all').uncheck()
  await expect(page.getByTestId('history-count')).toHaveText('2')
  await page.getByTestId(`compare-${a}`).check()
  await page.getByTestId(`compare-${b}`).check()
  await expect(page.getByTestId('compare')).toHaveAttribute('data-runs', '2')
  await expect(page.getByTestId('chart-compare')).toHaveAttribute('data-points', '12')
  // side by side: the settings that differ, and only those
  await expect(page.getByTestId('compare-diff')).toContainText('optimizer.lr')
  await expect(page.getByTestId('compare-diff')).toContainText('0.001')
  await expect(page.getByTestId('compare-diff')).not.toContainText('epochs')
  // reopen the first run: its curves are replayed from the server
  await page.getByTestId(`open-${a}`).click()
  await expect(page.getByTestId('run-view')).toHaveAttribute('data-run-id', a)
  await expect(page.getByTestId('run-status')).toHaveText('completed')
  expect(await attr(page, 'chart-loss', 'data-points')).toBeGreaterThan(5)
  await page.getByTestId('compare').scrollIntoViewIfNeeded()
  await shot(page, 'train-compare')

  // delete the run on screen from the history (after a confirm): it leaves the list, the
  // comparison and the run view, and the server has nothing left of it
  page.once('dialog', (d) => void d.accept())
  await page.getByTestId(`delete-${a}`).click()
  await expect(page.getByTestId(`run-${a}`)).toHaveCount(0)
  await expect(page.getByTestId('history-count')).toHaveText('1')
  await expect(page.getByTestId('compare')).toHaveAttribute('data-runs', '1')
  await expect(page.getByTestId('run-view')).toHaveCount(0)
  expect((await page.request.get(`/api/runs/${a}`)).status()).toBe(404)
  expect((await page.request.get(`/api/runs/${b}`)).status()).toBe(200)
  // dismissing the confirm deletes nothing
  page.once('dialog', (d) => void d.dismiss())
  await page.getByTestId(`delete-${b}`).click()
  await expect(page.getByTestId(`run-${b}`)).toBeVisible()
  expect((await page.request.get(`/api/runs/${b}`)).status()).toBe(200)
})
