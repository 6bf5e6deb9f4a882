// What serves the page: the real backend on a free port with a throw-away data dir, and, for
// --dist, page files from another build routed in front of it (the API still goes to the backend).
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

import { ROOT } from './paths.mjs'

let server = null
let dataDir = null

/** Stops the backend and removes its data dir; safe to call again, and from an 'exit' handler (sync). */
export function stopBackend() {
  if (server && server.exitCode === null && server.pid) {
    try {
      process.kill(-server.pid, 'SIGTERM') // its own process group: only what this script started
    } catch {
      /* gone */
    }
  }
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true })
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

/** Starts `.venv/bin/blocklab serve` and waits (30 s at most) until it answers; returns its base URL. */
export async function startBackend() {
  const port = await freePort()
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'blocklab-bench-'))
  const exe = path.join(ROOT, '.venv/bin/blocklab')
  let errTail = ''
  server = spawn(exe, ['serve', '--port', String(port), '--data-dir', dataDir], { cwd: ROOT, detached: true, stdio: ['ignore', 'ignore', 'pipe'] })
  server.stderr.on('data', (d) => (errTail = (errTail + d).slice(-2000)))
  const base = `http://127.0.0.1:${port}`
  const until = Date.now() + 30_000
  while (Date.now() < until) {
    if (server.exitCode !== null) throw new Error(`backend exited: ${errTail}`)
    try {
      const r = await fetch(`${base}/api/blocks`)
      if (r.ok) return base
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 150))
  }
  throw new Error(`backend did not start on ${base}: ${errTail}`)
}

/** Answers the page's non-API requests of `context` from `dir` (files it lacks fall through to the backend). */
export async function serveFrom(context, base, dir) {
  await context.route(
    (u) => u.origin === new URL(base).origin && !u.pathname.startsWith('/api'),
    async (route) => {
      const u = new URL(route.request().url())
      const f = path.join(dir, u.pathname === '/' ? 'index.html' : u.pathname)
      if (!fs.existsSync(f)) return route.continue()
      const type = f.endsWith('.js') ? 'text/javascript' : f.endsWith('.css') ? 'text/css' : f.endsWith('.html') ? 'text/html' : f.endsWith('.svg') ? 'image/svg+xml' : 'application/octet-stream'
      await route.fulfill({ body: fs.readFileSync(f), contentType: type })
    },
  )
}
