import { expect, test } from '@playwright/test'
import { shot } from './util'

test('loads the palette from the server and opens a template', async ({ page }) => {
  await page.goto('/')
  await expect(page.getByTestId('palette-Linear')).toBeVisible()
  await page.getByTestId('btn-new').click()
  await page.getByTestId('template-resnet_digits').click()
  await expect(page.getByTestId('validity')).toContainText('valid')
  await shot(page, 'template-resnet')
})
