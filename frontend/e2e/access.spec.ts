import { expect, test } from '@playwright/test'
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { shot } from './util'

const here = path.dirname(fileURLToPath(import.meta.url))
const ROOT = path.resolve(here, '../..')

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      srv.close(() => resolve(port))
    })
  })
}

async function waitForServer(url: string, proc: ChildProcess, log: () => string, timeoutMs = 60_000) {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode}:\n${log()}`)
    try {
      const res = await fetch(url)
      if (res.status === 401 || res.ok) return
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`server did not start in ${timeoutMs} ms:\n${log()}`)
}

test.describe('a server started with BLOCKLAB_TOKEN', () => {
  let proc: ChildProcess | null = null
  let dataDir = ''
  let base = ''

  test.beforeAll(async () => {
    const port = await freePort()
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'blocklab-token-e2e-'))
    base = `http://127.0.0.1:${port}`
    let out = ''
    proc = spawn(path.join(ROOT, '.venv/bin/blocklab'), ['serve', '--port', String(port), '--data-dir', dataDir], {
      cwd: ROOT,
      env: { ...process.env, BLOCKLAB_TOKEN: 's3cret' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    proc.stdout?.on('data', (d) => (out += String(d)))
    proc.stderr?.on('data', (d) => (out += String(d)))
    await waitForServer(`${base}/api/blocks`, proc, () => out)
    // the API wants the token; the page itself does not
    expect((await fetch(`${base}/api/blocks`)).status).toBe(401)
    expect((await fetch(`${base}/api/blocks`, { headers: { Authorization: 'Bearer s3cret' } })).status).toBe(200)
    expect((await fetch(`${base}/`)).status).toBe(200)
  })

  test.afterAll(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((r) => proc!.once('exit', r))
      proc.kill('SIGTERM')
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
      if (proc.exitCode === null) proc.kill('SIGKILL')
    }
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true })
  })

  test('asks for the token, stores it, and the palette loads', async ({ page }) => {
    await page.goto(`${base}/`)
    const gate = page.getByTestId('token-gate')
    await expect(gate).toBeVisible()
    await expect(gate).toContainText('This Blocklab server needs an access token')
    await expect(page.getByTestId('palette-Linear')).toHaveCount(0)

    // a wrong token is refused and the prompt says so
    await page.getByTestId('token-input').fill('wrong')
    await page.getByTestId('token-submit').click()
    await expect(gate).toContainText('The stored token was not accepted')

    await page.getByTestId('token-input').fill('s3cret')
    await page.getByTestId('token-submit').click()
    await expect(page.getByTestId('palette-Linear')).toBeVisible()
    await expect(gate).toHaveCount(0)
    expect(await page.evaluate(() => localStorage.getItem('blocklab.token'))).toBe('s3cret')

    // a plain <a download href="/api/..."> link (like the run's weights) is fetched with the token
    await page.evaluate(() => {
      const a = document.createElement('a')
      a.href = '/api/blocks'
      a.download = ''
      a.textContent = 'dl'
      a.id = 'dl-probe'
      document.body.appendChild(a)
    })
    const [dl] = await Promise.all([page.waitForEvent('download'), page.locator('#dl-probe').click()])
    const body = JSON.parse(fs.readFileSync((await dl.path())!, 'utf8')) as unknown[]
    expect(Array.isArray(body) && body.length > 0).toBe(true)

    // the next visit uses the stored token without asking
    await page.reload()
    await expect(page.getByTestId('palette-Linear')).toBeVisible()
    await expect(gate).toHaveCount(0)
  })

  test('a token that stops working mid-run: the stream stops retrying, says why, and asks for the token', async ({ page }) => {
    const auth = { Authorization: 'Bearer s3cret', 'Content-Type': 'application/json' }
    const templates = (await (await fetch(`${base}/api/templates`, { headers: auth })).json()) as { id: string; graph: unknown; train: Record<string, unknown> }[]
    const spirals = templates.find((t) => t.id === 'spirals_playground')!
    // long enough to outlive the test; stopped at the end
    const created = await fetch(`${base}/api/runs`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ ...spirals.train, graph: spirals.graph, epochs: 5000, batch_size: 8 }),
    })
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: string }
    try {
      // The first stream goes through a route the test can cut; once the stored token is wrong,
      // the reconnect goes straight to the server, which refuses the handshake.
      let live: { close: (o: { code: number; reason: string }) => Promise<void> } | null = null
      await page.routeWebSocket(
        (u) => u.pathname.endsWith('/stream') && u.searchParams.get('token') === 's3cret',
        (ws) => {
          live = ws
          ws.connectToServer()
        },
      )
      await page.addInitScript((runId) => {
        if (!sessionStorage.getItem('seeded')) {
          localStorage.setItem('blocklab.token', 's3cret')
          localStorage.setItem('blocklab.activeRun.v1', runId)
          sessionStorage.setItem('seeded', '1')
        }
      }, id)
      await page.goto(`${base}/`)
      await expect(page.getByTestId('run-view')).toHaveAttribute('data-run-id', id)
      await expect(page.locator('.live-dot.on')).toBeVisible()
      await expect.poll(() => live !== null).toBe(true)

      await page.evaluate(() => localStorage.setItem('blocklab.token', 'wrong'))
      await live!.close({ code: 4008, reason: 'cut by the test' })

      await expect(page.getByTestId('stream-error')).toContainText('the server wants an access token; the run carries on')
      await expect(page.getByTestId('token-gate')).toBeVisible()
      await shot(page, 'stream-token-refused')
      // one refused reconnect, then no more: the old client retried every 0.7 s for ever
      const connects = () => page.evaluate(() => (window as unknown as { __blocklab: { connects: unknown[] } }).__blocklab.connects.length)
      const n = await connects()
      expect(n).toBe(2)
      await page.waitForTimeout(2500)
      expect(await connects()).toBe(n)

      // entering the right token reloads the page, and the run view comes back, live
      await page.getByTestId('token-input').fill('s3cret')
      await page.getByTestId('token-submit').click()
      await expect(page.getByTestId('run-view')).toHaveAttribute('data-run-id', id)
      await expect(page.locator('.live-dot.on')).toBeVisible()
      await expect(page.getByTestId('stream-error')).toHaveCount(0)
    } finally {
      await fetch(`${base}/api/runs/${id}/stop`, { method: 'POST', headers: auth })
    }
  })
})

test('an unreachable server shows a readable message, not a blank page', async ({ page, baseURL }) => {
  await page.route('**/api/blocks', (r) => r.abort())
  await page.goto('/')
  const origin = new URL(baseURL!).origin
  await expect(page.getByText(`Cannot reach the Blocklab server at ${origin} — is it running?`)).toBeVisible()
  await expect(page.getByRole('button', { name: 'Retry' })).toBeVisible()
  // once the server answers again, Retry loads the palette
  await page.unroute('**/api/blocks')
  await page.getByRole('button', { name: 'Retry' }).click()
  await expect(page.getByTestId('palette-Linear')).toBeVisible()
})
