import { expect, test } from '@playwright/test'
import fs from 'node:fs'
import { connect, drop, node, openApp, setParam, settle, shot } from './util'

// An LSTM encoder hands both final states to a decoder (h_n -> h0, c_n -> c0), wired from the
// encoder's named output handles on the canvas: x[2] -> Reshape [2, 1] -> enc; the same sequence
// is the decoder's input; dec -> Flatten -> Linear(2) -> Y. It validates, shows each output's
// shape on its wire, exports one encoder call, and trains.
test('wire an LSTM encoder h_n and c_n into a decoder, see the shapes, export, train', async ({ page }) => {
  await openApp(page)
  const X = await drop(page, 'Input', 300, 40)
  const seq = await drop(page, 'Reshape', 300, 150)
  const enc = await drop(page, 'LSTM', 150, 280)
  const dec = await drop(page, 'LSTM', 450, 430)
  const flat = await drop(page, 'Flatten', 450, 560)
  const head = await drop(page, 'Linear', 450, 670)
  const Y = await drop(page, 'Output', 450, 780)
  await setParam(page, X, 'shape', '2')
  await setParam(page, seq, 'shape', '2,1')
  await setParam(page, enc, 'hidden_size', '8')
  await setParam(page, dec, 'hidden_size', '8')
  await setParam(page, head, 'out_features', '2')
  await connect(page, X, seq)
  await connect(page, seq, enc)
  await connect(page, seq, dec)
  // the encoder's named outputs: one handle each beside its default output
  await expect(node(page, enc).locator('.react-flow__handle.named')).toHaveCount(3)
  await connect(page, enc, dec, 'h0', 'h_n')
  await connect(page, enc, dec, 'c0', 'c_n')
  await connect(page, dec, flat)
  await connect(page, flat, head)
  await connect(page, head, Y)
  await settle(page)
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)

  // each wire is labelled with the shape of the output it takes: a state is [layers, hidden]
  await expect(page.getByTestId(`shape-${enc}-${dec}`)).toHaveCount(2)
  await expect(page.getByTestId(`shape-${enc}-${dec}`).first()).toHaveText('1×8')
  await expect(page.getByTestId(`shape-${dec}-${flat}`)).toHaveText('2×8')
  await node(page, enc).locator('.bn-head').click()
  await expect(page.getByTestId('output-shape-c_n')).toHaveText('1×8')
  await expect(page.getByTestId('output-shape-sequence')).toHaveText('2×8')
  await shot(page, 'lstm-states-wired')

  // the saved document names each output taken; the exported source calls the encoder once
  const read = async (click: () => Promise<void>) => {
    const [dl] = await Promise.all([page.waitForEvent('download'), click()])
    return fs.readFileSync((await dl.path())!, 'utf8')
  }
  const doc = JSON.parse(await read(() => page.getByTestId('btn-export-json').click()))
  expect(doc.edges).toContainEqual({ source: enc, source_port: 'c_n', target: dec, target_port: 'c0' })
  expect(doc.edges).toContainEqual({ source: enc, source_port: 'h_n', target: dec, target_port: 'h0' })
  const src = await read(() => page.getByText('Export .py').click())
  expect(src.match(new RegExp(`self\\.${enc}\\(`, 'g'))).toHaveLength(1)
  expect(src).toContain(`${enc}_c_n = ${enc}_all[1][1].transpose(0, 1)`)

  await page.getByTestId('tab-train').click()
  await page.getByTestId('train-dataset').selectOption('spirals')
  await page.getByTestId('train-epochs').fill('1')
  await page.getByTestId('btn-train').click()
  await expect(page.getByTestId('run-status')).toHaveText('completed', { timeout: 45_000 })
})
