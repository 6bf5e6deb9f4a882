import { defineConfig } from '@playwright/test'

// The real backend serves the built front end (npm run build first) on a throwaway data dir.
// Chromium comes from Debian (apt-get install -y chromium); never `npx playwright install`.
const PORT = Number(process.env.E2E_PORT ?? 8765)

export default defineConfig({
  testDir: './e2e',
  workers: 1,
  fullyParallel: false,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list']],
  outputDir: './test-results',
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    viewport: { width: 1440, height: 900 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
    trace: 'off',
    screenshot: 'only-on-failure',
  },
  webServer: {
    command: `cd .. && .venv/bin/blocklab serve --port ${PORT} --data-dir "$(mktemp -d)"`,
    url: `http://127.0.0.1:${PORT}/api/blocks`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
})
