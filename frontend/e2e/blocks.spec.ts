import { expect, test } from '@playwright/test'
import fs from 'node:fs'
import { node, openApp, setParam, shot } from './util'

test('a block used twice: edit its definition once, both instances change; export the .py', async ({ page }) => {
  // Residual = conv1 (16->16, 3x3) + bn1 + conv2 (16->16, 3x3) + bn2: 2 * 2,320 + 2 * 32 parameters.
  const params = (id: string) => node(page, id).locator('.bn-params')
  await openApp(page)
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-resnet_digits').click()
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  await expect(params('res1')).toHaveAttribute('title', '4,704 parameters')
  await expect(params('res2')).toHaveAttribute('title', '4,704 parameters')

  // open the definition (not an instance) and halve its first convolution
  await page.getByTestId('library-open-Residual').click()
  await expect(page.getByTestId('breadcrumb')).toContainText('Residual')
  await setParam(page, 'conv1', 'out_channels', '8')
  await expect(page.getByTestId('validity')).toHaveText(/✓ valid/)
  await page.getByTestId('breadcrumb').getByText('Design').click()

  // conv1 16->8 (1,160) + bn1 (16) + conv2 8->16 (1,168) + bn2 (32): linked, both instances follow
  await expect(params('res1')).toHaveAttribute('title', '2,376 parameters')
  await expect(params('res2')).toHaveAttribute('title', '2,376 parameters')
  await shot(page, 'block-edited-twice')

  // the designer's own Export .py: standalone source with the block as its own class
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByText('Export .py').click()])
  const src = fs.readFileSync((await download.path())!, 'utf8')
  expect(src).toContain('class Residual(nn.Module):')
  expect(src).toContain('class Model(nn.Module):')
  expect(src).toContain('self.res1 = Residual()')
  expect(src).toContain('nn.Conv2d(16, 8,')
})
