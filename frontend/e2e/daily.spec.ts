// Issue 18: the designer as a daily tool. Each test here failed on the code before its fix.
import { expect, test } from '@playwright/test'
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
