import type { Page } from '@playwright/test'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
export const SHOTS = path.resolve(here, '../../tests/e2e/screenshots')

export async function shot(page: Page, name: string) {
  await page.waitForTimeout(150)
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) })
}
