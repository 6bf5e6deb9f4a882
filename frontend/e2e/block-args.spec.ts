import { expect, test, type Page } from '@playwright/test'
import { connect, drop, dropChain, node, openApp, setParam, settle, shot } from './util'

// Dense(units) = Linear(out_features = <expression over units>) on an 8-wide input, used twice in a
// chain X -> dense1 -> dense2 -> Y. Linear(a -> b) holds a*b + b parameters.
const linear = (a: number, b: number) => `${(a * b + b).toLocaleString('en-US')} parameters`

const params = (page: Page, id: string) => node(page, id).locator('.bn-params')

async function toDesign(page: Page) {
  await page.getByTestId('breadcrumb').getByText('Design').click()
  await expect(node(page, 'dense1')).toBeVisible()
}

/** Inside the open block: select its Linear and set its out_features expression. */
async function setWidthExpr(page: Page, expr: string) {
  await node(page, 'linear1').locator('.bn-head').click()
  await expect(page.getByTestId('node-id')).toHaveValue('linear1')
  if (!(await page.getByTestId('param-out_features-expr').isVisible())) await page.getByTestId('param-out_features-bind').click()
  await page.getByTestId('param-out_features-expr').fill(expr)
  await settle(page)
}

test('a block with an argument: two instances, different arguments, shapes and counts; edit the definition once, both change', async ({ page }) => {
  await openApp(page)
  // X -> linear1 -> linear2 -> Y; linear1 becomes the block, linear2 makes room for its second instance
  const [X, l1, l2, Y] = await dropChain(page, [['Input', 260, 50], ['Linear', 480, 190], ['Linear', 260, 330], ['Output', 480, 610]])
  await setParam(page, X, 'shape', '8')
  await node(page, l1).locator('.bn-head').click()
  await page.getByTestId('btn-make-block').click()
  await page.getByTestId('block-name').fill('Dense')
  await page.getByTestId('make-block-ok').click()
  await expect(node(page, 'dense1')).toBeVisible()

  // define the argument: open the block, add `units` (integer, default 64), bind out_features to it
  await page.getByTestId('library-open-Dense').click()
  await expect(page.getByTestId('breadcrumb')).toContainText('Dense')
  await page.locator('.react-flow__pane').click({ position: { x: 40, y: 40 } })
  await page.getByTestId('arg-add').click()
  await page.getByTestId('arg-name-arg1').fill('units')
  await page.getByTestId('arg-name-arg1').press('Enter')
  await page.getByTestId('arg-default-units').fill('64')
  await shot(page, 'block-args-panel')
  await setWidthExpr(page, 'units')
  await expect(page.getByTestId('inspector-errors')).toHaveCount(0)
  await toDesign(page)

  // the second instance in linear2's place
  await node(page, l2).locator('.bn-head').click()
  await page.keyboard.press('Delete')
  await expect(node(page, l2)).toHaveCount(0)
  const d2 = await drop(page, 'Dense', 260, 400, 'library')
  expect(d2).toBe('dense2')
  await connect(page, 'dense1', d2)
  await connect(page, d2, Y)
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  // both at the default: 8 -> 64 -> 64
  await expect(params(page, 'dense1')).toHaveAttribute('title', linear(8, 64))
  await expect(params(page, d2)).toHaveAttribute('title', linear(64, 64))

  // different arguments, each in the instance's own generated form
  await setParam(page, 'dense1', 'units', '16')
  await setParam(page, d2, 'units', '32')
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  await expect(page.getByTestId(`shape-dense1-${d2}`)).toHaveText('16')
  await expect(page.getByTestId(`shape-${d2}-${Y}`)).toHaveText('32')
  await expect(params(page, 'dense1')).toHaveAttribute('title', linear(8, 16))
  await expect(params(page, d2)).toHaveAttribute('title', linear(16, 32))
  await page.locator('.react-flow__pane').click({ position: { x: 700, y: 600 } })
  await shot(page, 'block-args-two-instances')

  // edit the definition once: out_features = units * 2; both instances follow
  await page.getByTestId('library-open-Dense').click()
  await setWidthExpr(page, 'units * 2')
  await shot(page, 'block-args-inside')
  await toDesign(page)
  await expect(page.getByTestId(`shape-dense1-${d2}`)).toHaveText('32')
  await expect(page.getByTestId(`shape-${d2}-${Y}`)).toHaveText('64')
  await expect(params(page, 'dense1')).toHaveAttribute('title', linear(8, 32))
  await expect(params(page, d2)).toHaveAttribute('title', linear(32, 64))

  // renaming the argument keeps each instance's value; undo steps back through the edits
  await page.getByTestId('library-open-Dense').click()
  await page.locator('.react-flow__pane').click({ position: { x: 40, y: 40 } })
  // an argument an expression still uses cannot be removed; the panel says where it is used
  await page.getByTestId('arg-remove-units').click()
  await expect(page.getByTestId('arg-error')).toContainText('linear1.params.out_features')
  await page.getByTestId('arg-name-units').fill('width')
  await page.getByTestId('arg-name-units').press('Enter')
  await expect(page.getByTestId('arg-name-width')).toBeVisible()
  await toDesign(page)
  await node(page, d2).locator('.bn-head').click()
  await expect(page.getByTestId('param-width')).toHaveValue('32')
  await expect(params(page, d2)).toHaveAttribute('title', linear(32, 64))
  await page.getByTestId('btn-undo').click() // the rename
  await page.getByTestId('btn-undo').click() // units * 2
  await expect(page.getByTestId(`shape-${d2}-${Y}`)).toHaveText('32')
  await expect(params(page, d2)).toHaveAttribute('title', linear(16, 32))

  // repeat: three chained copies of dense2, each its own parameters (16 -> 32 -> 32 -> 32)
  await node(page, d2).locator('.bn-head').click()
  await page.getByTestId('repeat').fill('3')
  await expect(page.getByTestId(`repeat-${d2}`)).toHaveText('×3')
  const three = 16 * 32 + 32 + 2 * (32 * 32 + 32)
  await expect(params(page, d2)).toHaveAttribute('title', `${three.toLocaleString('en-US')} parameters`)
  await page.locator('.react-flow__pane').click({ position: { x: 700, y: 600 } })
  await shot(page, 'block-args-edited')
})

test('a node calls another node\'s module again: no parameters of its own', async ({ page }) => {
  await openApp(page)
  const [X, a, b] = await dropChain(page, [['Input', 260, 50], ['Linear', 480, 190], ['Linear', 260, 330], ['Output', 480, 470]])
  await setParam(page, X, 'shape', '8')
  await setParam(page, a, 'out_features', '8')
  await setParam(page, b, 'out_features', '8')
  await expect(page.getByTestId('total-params')).toHaveText(String(2 * (8 * 8 + 8)))
  await page.getByTestId('calls').selectOption(a)
  await expect(node(page, b)).toContainText(`↻ ${a}`)
  await expect(page.getByTestId('total-params')).toHaveText(String(8 * 8 + 8))
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  await expect(page.getByTestId('param-out_features')).toHaveCount(0)
})

test('the ResNet-18 template: one definition, each layer its arguments and repeat in the form', async ({ page }) => {
  await openApp(page)
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-resnet18').click()
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  await expect(page.getByTestId('library-BasicBlock')).toContainText('channels, stride, downsample')
  await expect(node(page, 'layer2')).toContainText('×2')
  await node(page, 'layer2').locator('.bn-head').click()
  await expect(page.getByTestId('param-channels')).toHaveValue('128')
  await expect(page.getByTestId('repeat')).toHaveValue('2')
  // a repeated instance's settings may be expressions over the copy index i
  await expect(page.getByTestId('param-stride-expr')).toHaveValue('2 if i == 0 else 1')
  await expect(page.getByTestId('param-downsample-expr')).toHaveValue('i == 0')
  // inside the definition, its settings are bound to the block's arguments
  await page.getByTestId('open-block').click()
  await expect(page.getByTestId('breadcrumb')).toContainText('BasicBlock')
  await node(page, 'conv1').locator('.bn-head').click()
  await expect(page.getByTestId('param-out_channels-expr')).toHaveValue('channels')
  await page.locator('.react-flow__pane').click({ position: { x: 40, y: 40 } })
  await expect(page.getByTestId('arg-name-downsample')).toBeVisible()
  await shot(page, 'block-args-resnet18')
})
