// /docs and /redoc with the network cut off: every request that is not to this server fails.
import { expect, test, type Page } from '@playwright/test'
import { shot } from './util'

async function offline(page: Page) {
  const local = new URL(test.info().project.use.baseURL!).host
  const refused: string[] = []
  await page.route('**/*', (route) => {
    const url = new URL(route.request().url())
    if (url.host === local) return route.continue()
    // (ReDoc's own bundle shows a "by Redocly" logo from its CDN: an image, nothing the page needs)
    if (route.request().resourceType() !== 'image') refused.push(url.href)
    return route.abort('internetdisconnected')
  })
  return refused
}

test.beforeEach(async ({ page }) => {
  // create_app installs them with blocklab.api.docs_offline.install_offline_docs(app)
  const css = await page.request.get('/docs-static/swagger-ui.css')
  test.skip(!(css.headers()['content-type'] ?? '').includes('text/css'), 'the offline docs are not installed in app.py')
})

test('/docs renders the API operations offline', async ({ page }) => {
  const refused = await offline(page)
  await page.goto('/docs')
  await expect(page.locator('.opblock').first()).toBeVisible()
  expect(await page.locator('.opblock').count()).toBeGreaterThan(10)
  await expect(page.locator('.opblock-summary-path', { hasText: '/api/blocks' }).first()).toBeVisible()
  await shot(page, 'docs-offline')
  expect(refused).toEqual([])
})

test('/redoc renders the API operations offline', async ({ page }) => {
  const refused = await offline(page)
  await page.goto('/redoc')
  await expect(page.getByText('/api/runs/{run_id}/stop').first()).toBeAttached()
  await expect(page.locator('[data-section-id^="tag/"]').first()).toBeVisible()
  await shot(page, 'redoc-offline')
  expect(refused).toEqual([])
})
