import { expect, test } from '@playwright/test'
import { connect, drop, node, openApp, setParam, shot } from './util'

/** Input -> Linear -> ReLU -> Linear -> Output, built by dragging and wiring. */
async function buildMlp(page: import('@playwright/test').Page) {
  // a zigzag, so that no node covers another's handles
  const X = await drop(page, 'Input', 260, 50)
  const h = await drop(page, 'Linear', 480, 190)
  const act = await drop(page, 'ReLU', 260, 330)
  const out = await drop(page, 'Linear', 480, 470)
  const Y = await drop(page, 'Output', 260, 610)
  await connect(page, X, h)
  await connect(page, h, act)
  await connect(page, act, out)
  await connect(page, out, Y)
  await expect(page.locator('.react-flow__edge')).toHaveCount(4)
  await setParam(page, X, 'shape', '20')
  await setParam(page, h, 'out_features', '256')
  await setParam(page, out, 'out_features', '10')
  return { X, h, act, out, Y }
}

test('drag blocks, wire an MLP, see shapes on the edges and no errors', async ({ page }) => {
  await openApp(page)
  const { X, h, act, out, Y } = await buildMlp(page)
  expect([X, h, act, out, Y]).toEqual(['input1', 'linear1', 'relu1', 'linear2', 'output1'])
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  await expect(page.getByTestId(`shape-${X}-${h}`)).toHaveText('20')
  await expect(page.getByTestId(`shape-${h}-${act}`)).toHaveText('256')
  await expect(page.getByTestId(`shape-${act}-${out}`)).toHaveText('256')
  await expect(page.getByTestId(`shape-${out}-${Y}`)).toHaveText('10')
  // 20*256+256 + 256*10+10
  await expect(page.getByTestId('total-params')).toHaveText((20 * 256 + 256 + 256 * 10 + 10).toLocaleString('en-US'))
  await expect(page.locator('.bn.fault')).toHaveCount(0)
  // the id is the state_dict key
  await node(page, h).locator('.bn-head').click()
  await page.getByTestId('node-id').fill('hidden')
  await page.getByTestId('node-id').press('Enter')
  await expect(node(page, 'hidden')).toBeVisible()
  await expect(page.getByTestId('inspector')).toContainText('hidden.weight')
  await page.locator('.react-flow__pane').click({ position: { x: 700, y: 600 } })
  await shot(page, 'mlp-valid')
})

test('a bad wiring outlines the node with the server message', async ({ page }) => {
  await openApp(page)
  const X = await drop(page, 'Input', 400, 50)
  const lin = await drop(page, 'Linear', 180, 200)
  const add = await drop(page, 'Add', 400, 380)
  const Y = await drop(page, 'Output', 400, 560)
  await setParam(page, X, 'shape', '4')
  await setParam(page, lin, 'out_features', '3')
  await connect(page, X, lin)
  await connect(page, lin, add, 'a')
  await connect(page, X, add, 'b')
  await connect(page, add, Y)
  await expect(page.locator('.react-flow__edge')).toHaveCount(4)
  await expect(node(page, add).locator('.bn.fault')).toBeVisible()
  await expect(page.getByTestId(`errors-${add}`)).toContainText('cannot add')
  await expect(page.getByTestId('validity')).toContainText('problem')
  await page.locator('.react-flow__pane').click({ position: { x: 700, y: 600 } })
  await shot(page, 'bad-wiring')
  // fixing the width makes it valid again
  await setParam(page, lin, 'out_features', '4')
  await expect(page.locator('.bn.fault')).toHaveCount(0)
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
})

test('undo and redo, by button and by keyboard', async ({ page }) => {
  await openApp(page)
  const a = await drop(page, 'Input', 300, 80)
  const b = await drop(page, 'ReLU', 300, 220)
  await connect(page, a, b)
  await expect(page.locator('.react-flow__edge')).toHaveCount(1)
  await page.getByTestId('btn-undo').click()
  await expect(page.locator('.react-flow__edge')).toHaveCount(0)
  await page.getByTestId('btn-undo').click()
  await expect(page.locator('.react-flow__node')).toHaveCount(1)
  await page.getByTestId('btn-redo').click()
  await expect(page.locator('.react-flow__node')).toHaveCount(2)
  await page.locator('.react-flow__pane').click({ position: { x: 50, y: 50 } })
  await page.keyboard.press('Control+y')
  await expect(page.locator('.react-flow__edge')).toHaveCount(1)
  // delete with the keyboard, undo with Ctrl+Z
  await node(page, b).locator('.bn-head').click()
  await page.keyboard.press('Delete')
  await expect(page.locator('.react-flow__node')).toHaveCount(1)
  await page.keyboard.press('Control+z')
  await expect(page.locator('.react-flow__node')).toHaveCount(2)
  await expect(page.locator('.react-flow__edge')).toHaveCount(1)
  // copy / paste
  await node(page, b).locator('.bn-head').click()
  await page.keyboard.press('Control+c')
  await page.keyboard.press('Control+v')
  await expect(page.locator('.react-flow__node')).toHaveCount(3)
  await expect(node(page, 'relu2')).toBeVisible()
})

test('make a block from selected nodes, open it and come back', async ({ page }) => {
  await openApp(page)
  const { h, act } = await buildMlp(page)
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  await node(page, h).locator('.bn-head').click()
  await node(page, act).locator('.bn-head').click({ modifiers: ['Control'] })
  await expect(page.locator('.react-flow__node.selected')).toHaveCount(2)
  await page.getByTestId('btn-make-block').click()
  await page.getByTestId('block-name').fill('Hidden')
  await page.getByTestId('make-block-ok').click()
  await expect(node(page, 'hidden1')).toBeVisible()
  await expect(node(page, 'hidden1')).toContainText('Hidden')
  await expect(page.getByTestId('library-Hidden')).toBeVisible()
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  await expect(page.getByTestId('shape-hidden1-linear2')).toHaveText('256')
  await page.locator('.react-flow__pane').click({ position: { x: 700, y: 600 } })
  await shot(page, 'make-block-instance')
  // open the definition: its inner nodes show the shapes of the instance
  await node(page, 'hidden1').dblclick()
  await expect(page.getByTestId('breadcrumb')).toContainText('Hidden')
  await expect(node(page, h)).toBeVisible()
  await expect(page.getByTestId(`shape-${h}-${act}`)).toHaveText('256')
  await shot(page, 'make-block-inside')
  await page.getByTestId('breadcrumb').getByText('Design').click()
  await expect(node(page, 'hidden1')).toBeVisible()
})

test('open a template', async ({ page }) => {
  await openApp(page)
  await page.getByTestId('btn-new').click()
  await shot(page, 'templates-gallery')
  await page.getByTestId('template-resnet_digits').click()
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  await expect(node(page, 'res1')).toBeVisible()
  await expect(page.getByTestId('total-params')).not.toHaveText('–')
  await shot(page, 'template-resnet')
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-d2l_tied').click()
  await expect(page.locator('.share-edge')).toHaveCount(1)
  await shot(page, 'template-tied')
})

test('drag a node, then the whole selection; each drag is one undo step', async ({ page }) => {
  await openApp(page)
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-resnet_digits').click()
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  const at = async (id: string) => {
    const b = (await node(page, id).boundingBox())!
    return { x: b.x, y: b.y }
  }
  // drag by the header in small steps, as a hand would (several moves per frame)
  const drag = async (id: string, dx: number, dy: number) => {
    const b = (await node(page, id).locator('.bn-head').boundingBox())!
    await page.mouse.move(b.x + 20, b.y + b.height / 2)
    await page.mouse.down()
    // React Flow starts a drag once the pointer has moved past its 1 px threshold, from there
    await page.mouse.move(b.x + 22, b.y + b.height / 2)
    for (let i = 1; i <= 12; i++) await page.mouse.move(b.x + 20 + (dx * i) / 12, b.y + b.height / 2 + (dy * i) / 12)
    await page.mouse.up()
  }
  // within a snap step (10 flow px, under 10 screen px at this zoom) of where the mouse went
  const near = (p: { x: number; y: number }, q: { x: number; y: number }) => Math.abs(p.x - q.x) <= 10 && Math.abs(p.y - q.y) <= 10
  const stem0 = await at('stem')
  const fc0 = await at('fc')
  await drag('stem', 150, 30)
  await expect.poll(async () => near(await at('stem'), { x: stem0.x + 150, y: stem0.y + 30 })).toBe(true)
  expect(await at('fc')).toEqual(fc0) // only the dragged node moved
  const stem1 = await at('stem')

  await page.locator('.react-flow__pane').click({ position: { x: 40, y: 300 } })
  await page.keyboard.press('Control+a')
  await expect(page.locator('.react-flow__node.selected')).toHaveCount(9)
  await drag('fc', -100, 0)
  await expect.poll(async () => near(await at('fc'), { x: fc0.x - 100, y: fc0.y })).toBe(true)
  const moved = (await at('fc')).x - fc0.x
  await expect.poll(async () => (await at('stem')).x - stem1.x).toBeCloseTo(moved, 0) // everything moved together

  await page.keyboard.press('Control+z')
  await expect.poll(() => at('fc')).toEqual(fc0)
  await expect.poll(() => at('stem')).toEqual(stem1)
  await page.keyboard.press('Control+z')
  await expect.poll(() => at('stem')).toEqual(stem0)
})

test('zoomed far out, small print and handles give way; the hovered node keeps its handles', async ({ page }) => {
  await openApp(page)
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-resnet_digits').click()
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  const label = page.getByTestId('shape-stem-act')
  await expect(label).toBeVisible()
  const height = () => node(page, 'stem').evaluate((el) => (el as HTMLElement).offsetHeight)
  const h0 = await height()
  const canvas = page.getByTestId('canvas')
  await expect(canvas).not.toHaveClass(/\bfar\b/)

  const pane = page.locator('.react-flow__pane')
  const box = (await pane.boundingBox())!
  await page.mouse.move(box.x + box.width * 0.8, box.y + box.height * 0.5)
  for (let i = 0; i < 30 && !/\bfar\b/.test((await canvas.getAttribute('class')) ?? ''); i++) await page.mouse.wheel(0, 120)
  await expect(canvas).toHaveClass(/\bfar\b/)
  await expect(label).toBeHidden()
  const handle = (id: string) => node(page, id).locator('.react-flow__handle').first()
  await expect(handle('res1')).toBeHidden()
  // hidden rows still take their space: the node keeps its size, so edges keep their anchors
  expect(await height()).toBe(h0)
  await node(page, 'res1').hover()
  await expect(handle('res1')).toBeVisible()
  await expect(handle('stem')).toBeHidden()
  await shot(page, 'far-zoom')

  await page.getByTestId('btn-fit').click()
  await expect(canvas).not.toHaveClass(/\bfar\b/)
  await expect(label).toBeVisible()
})

test('save a design on the server and load it after a reload', async ({ page }) => {
  await openApp(page)
  await buildMlp(page)
  await page.getByTestId('design-name').fill('my-mlp')
  await page.keyboard.press('Control+s')
  await expect(page.getByTestId('toast')).toContainText('Saved')
  await expect(page.getByTestId('statusbar')).toContainText('saved as #')
  // a blank design, then a reload: the saved one comes back from the server
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-blank').click()
  await expect(page.locator('.react-flow__node')).toHaveCount(0)
  await page.reload()
  await expect(page.getByTestId('palette-Linear')).toBeVisible()
  await page.getByTestId('btn-open').click()
  await page.getByTestId('design-my-mlp').click()
  await expect(page.locator('.react-flow__node')).toHaveCount(5)
  await expect(page.getByTestId('design-name')).toHaveValue('my-mlp')
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  await shot(page, 'saved-reloaded')
})
