import { expect, test } from '@playwright/test'
import { node, openApp, settle, shot } from './util'

test('inspector: schema form, init, trainable, shared weights, custom layer', async ({ page }) => {
  await openApp(page)
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-d2l_fancymlp').click()
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  // the tied pair is drawn with a dashed link
  await expect(page.locator('.share-edge')).toHaveCount(1)

  // a custom layer: its expression and declared tensors come from the params schema
  await node(page, 'hidden').locator('.bn-head').click()
  await expect(page.getByTestId('param-expr')).toHaveValue('relu(x @ rand_weight + 1)')
  await expect(page.getByTestId('param-constants')).toContainText('rand_weight')
  await shot(page, 'inspector-custom-layer')

  // a Linear: inferred in_features shows as a placeholder; pick an init with its params
  await node(page, 'dense').locator('.bn-head').click()
  await expect(page.getByTestId('param-in_features')).toHaveAttribute('placeholder', 'auto: 20')
  await page.getByTestId('init-weight').selectOption('normal')
  await page.getByTestId('init-weight-std').fill('0.01')
  await settle(page)
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  // freezing a layer that another one shares: the server objects, on the sharing node
  await page.getByTestId('trainable').uncheck()
  await expect(node(page, 'dense')).toContainText('frozen')
  await expect(page.getByTestId('errors-dense2')).toContainText('trainable')
  await shot(page, 'inspector-linear-init')
  await page.getByTestId('trainable').check()
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)

  // untie the shared layer: it gets its own parameters, so the total grows
  const before = await page.getByTestId('total-params').textContent()
  await node(page, 'dense2').locator('.bn-head').click()
  await expect(page.getByTestId('shares')).toHaveValue('dense')
  await page.getByTestId('shares').selectOption('')
  await expect(page.locator('.share-edge')).toHaveCount(0)
  await expect(page.getByTestId('total-params')).not.toHaveText(before!)
  // and tie it again
  await page.getByTestId('shares').selectOption('dense')
  await expect(page.locator('.share-edge')).toHaveCount(1)
  await expect(page.getByTestId('total-params')).toHaveText(before!)
})

test('export JSON and import it back', async ({ page }) => {
  await openApp(page)
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-d2l_chimera').click()
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('btn-export-json').click()])
  const file = await download.path()
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-blank').click()
  await expect(page.locator('.react-flow__node')).toHaveCount(0)
  await page.getByTestId('import-file').setInputFiles(file!)
  await expect(page.locator('.react-flow__node')).toHaveCount(5)
  await expect(page.getByTestId('library-NestMLP')).toBeVisible()
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  // nested blocks: open NestMLP, then the NestSeq inside it
  await page.getByTestId('library-open-NestMLP').click()
  await expect(page.getByTestId('breadcrumb')).toContainText('NestMLP')
  await shot(page, 'nested-block')
})
