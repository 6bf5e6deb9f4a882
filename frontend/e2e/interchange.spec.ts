// Issue 15 in the browser: an .onnx model dropped onto the canvas opens as the design (one undoable
// replacement) with its weights kept for Train; operators without a block are listed; the design
// and a run's weights go out as .onnx, Keras source and TensorBoard events.
import { expect, test, type Page } from '@playwright/test'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { drop, node, openApp, settle, shot } from './util'

/** Drop a file onto the canvas as a desktop file manager would (a DataTransfer holding a File). */
async function dropFile(page: Page, name: string, bytes: Buffer) {
  const dt = await page.evaluateHandle(
    ({ name, b64 }) => {
      const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))
      const dt = new DataTransfer()
      dt.items.add(new File([bin], name, { type: 'application/octet-stream' }))
      return dt
    },
    { name, b64: bytes.toString('base64') },
  )
  const pane = page.locator('.react-flow__pane')
  await pane.dispatchEvent('dragover', { dataTransfer: dt })
  await pane.dispatchEvent('drop', { dataTransfer: dt })
}

async function stopAll(page: Page) {
  const runs = (await (await page.request.get('/api/runs')).json()) as { id: string; status: string }[]
  for (const r of runs) if (r.status === 'running' || r.status === 'queued') await page.request.post(`/api/runs/${r.id}/stop`)
}
test.afterEach(async ({ page }) => stopAll(page))

test('drop an .onnx onto the canvas: its design with shapes, Undo, Train from its weights, then every download', async ({ page }) => {
  await openApp(page)
  const before = await drop(page, 'Input', 260, 80)
  // a real .onnx: the spirals template exported by the server (torch.onnx)
  const templates = (await (await page.request.get('/api/templates')).json()) as { id: string; graph: { nodes: unknown[] } }[]
  const graph = templates.find((t) => t.id === 'spirals_playground')!.graph
  const res = await page.request.post('/api/export/onnx', { data: { graph } })
  expect(res.status()).toBe(200)
  page.on('dialog', (d) => void d.accept())
  await dropFile(page, 'from_onnx.onnx', await res.body())
  await expect(page.getByTestId('toast')).toContainText('Imported from_onnx.onnx with its weights')
  await expect(node(page, 'h1')).toBeVisible()
  await expect(node(page, before)).toHaveCount(0)
  await expect(page.getByTestId('design-name')).toHaveValue('from_onnx')
  await settle(page)
  await expect(page.getByTestId('validity')).toContainText('valid')
  // shapes on the connections, inferred as for any design
  await expect(page.getByTestId('shape-X-h1')).toHaveText('2')
  await expect(page.getByTestId('shape-h1-tanh')).toHaveText('16')
  await expect(page.getByTestId('import-report')).toHaveCount(0)
  await shot(page, 'onnx-imported')
  // one undoable replacement: Undo brings the old canvas back, Redo the model
  await page.getByTestId('btn-undo').click()
  await expect(node(page, before)).toBeVisible()
  await expect(node(page, 'h1')).toHaveCount(0)
  await page.getByTestId('btn-redo').click()
  await expect(node(page, 'h1')).toBeVisible()

  // Train starts from the file's weights
  await page.getByTestId('tab-train').click()
  await expect(page.getByTestId('init-weights')).toBeVisible()
  await page.getByTestId('train-dataset').selectOption('spirals')
  await page.getByTestId('train-epochs').fill('1')
  await page.getByTestId('btn-train').click()
  await expect(page.getByTestId('run-status')).toHaveText('completed', { timeout: 45_000 })
  const id = (await page.getByTestId('run-view').getAttribute('data-run-id'))!
  const run = (await (await page.request.get(`/api/runs/${id}`)).json()) as { config: { init_weights?: string } }
  expect(run.config.init_weights).toBe('uploaded')

  // the run's downloads: its weights as .onnx, Keras source, TensorBoard events
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bl-onnx-'))
  const save = async (testid: string) => {
    const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId(testid).click()])
    const p = path.join(dir, dl.suggestedFilename())
    await dl.saveAs(p)
    return p
  }
  const onnx = await save('dl-onnx')
  expect(onnx.endsWith('.onnx')).toBe(true)
  const keras = fs.readFileSync(await save('dl-keras'), 'utf8')
  expect(keras).toContain('class Model(keras.Model)')
  expect(keras).toContain('def load_blocklab_state_dict')
  const zip = fs.readFileSync(await save('dl-tensorboard'))
  expect(zip.subarray(0, 2).toString()).toBe('PK')
  expect(zip.toString('latin1')).toContain('events.out.tfevents')
  // the .onnx carries the trained weights: its initializers equal the run's best checkpoint
  const pt = path.join(dir, 'best.safetensors')
  fs.writeFileSync(pt, await (await page.request.get(`/api/runs/${id}/state_dict?which=best&format=safetensors`)).body())
  const check = `
import sys, onnx, numpy as np
from onnx import numpy_helper
from safetensors.numpy import load_file
init = {i.name: numpy_helper.to_array(i) for i in onnx.load(sys.argv[1]).graph.initializer}
sd = load_file(sys.argv[2])
w = sd["h1.weight"]
print("MATCH", any(a.shape in (w.shape, w.T.shape) and (np.allclose(a, w) or np.allclose(a, w.T)) for a in init.values()))
`
  expect(execFileSync(path.resolve('../.venv/bin/python'), ['-c', check, onnx, pt], { encoding: 'utf8' })).toContain('MATCH True')

  // the toolbar's Export .onnx: the design on the canvas
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('btn-export-onnx').click()])
  expect(dl.suggestedFilename()).toBe('from_onnx.onnx')
})

test('Import an .onnx with an operator no block maps: the operators are listed, and no weights are kept', async ({ page }) => {
  await openApp(page)
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bl-onnx-'))
  const file = path.join(dir, 'odd.onnx')
  const make = `
import sys, onnx
from onnx import TensorProto, helper as h
x = h.make_tensor_value_info("X", TensorProto.FLOAT, ["N", 4])
y = h.make_tensor_value_info("Y", TensorProto.FLOAT, ["N", 4])
g = h.make_graph([h.make_node("Relu", ["X"], ["r"], name="act"), h.make_node("Hardmax", ["r"], ["Y"], name="odd_op")], "odd", [x], [y])
onnx.save(h.make_model(g, opset_imports=[h.make_opsetid("", 18)]), sys.argv[1])
`
  execFileSync(path.resolve('../.venv/bin/python'), ['-c', make, file])
  await page.getByTestId('import-file').setInputFiles(file)
  const report = page.getByTestId('import-report')
  await expect(report).toBeVisible()
  await expect(report).toContainText('odd.onnx')
  await expect(page.getByTestId('unsupported-op')).toHaveCount(1)
  await expect(page.getByTestId('unsupported-op')).toContainText('Hardmax')
  await expect(page.locator('.react-flow__node')).not.toHaveCount(0)
  await shot(page, 'onnx-unsupported')
  await page.getByTestId('tab-train').click()
  await expect(page.getByTestId('init-weights')).toHaveCount(0)
  await page.getByTestId('import-report-close').click()
  await expect(report).toHaveCount(0)
})
