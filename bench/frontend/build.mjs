// Build the front end when its sources are newer than frontend/dist, and weigh what the page
// loads: the initial-JS budget counts only the scripts index.html loads eagerly, gzipped.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import zlib from 'node:zlib'

import { log } from './log.mjs'
import { FLAG_BUILD, FLAG_NO_BUILD } from './options.mjs'
import { DIST, FRONTEND } from './paths.mjs'

function newestMtime(p) {
  const st = fs.statSync(p)
  if (!st.isDirectory()) return st.mtimeMs
  let m = st.mtimeMs
  for (const e of fs.readdirSync(p)) m = Math.max(m, newestMtime(path.join(p, e)))
  return m
}

/** Builds when asked (--build), when there is no build, or when a source is newer (unless --no-build);
 * returns what it did, for the summary. */
export function buildIfNeeded() {
  const index = path.join(DIST, 'index.html')
  let reason = null
  if (FLAG_BUILD) reason = '--build'
  else if (!fs.existsSync(index)) reason = 'no frontend/dist'
  else if (!FLAG_NO_BUILD) {
    const built = fs.statSync(index).mtimeMs
    const inputs = ['src', 'index.html', 'package.json', 'package-lock.json', 'vite.config.ts', 'tsconfig.json', 'public']
      .map((p) => path.join(FRONTEND, p))
      .filter((p) => fs.existsSync(p))
    if (inputs.some((p) => newestMtime(p) > built)) reason = 'sources newer than dist'
  }
  if (!reason) return 'up to date'
  log(`building the front end (${reason})`)
  const r = spawnSync('npm', ['run', 'build'], { cwd: FRONTEND, encoding: 'utf8' })
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr)
    throw new Error('npm run build failed')
  }
  return `built (${reason})`
}

/** Raw and gzip -9 bytes of each eager script, each lazy chunk and each stylesheet in frontend/dist. */
export function bundleSizes() {
  const html = fs.readFileSync(path.join(DIST, 'index.html'), 'utf8')
  const eager = new Set()
  for (const m of html.matchAll(/<script[^>]*\bsrc="([^"]+\.js)"/g)) eager.add(m[1])
  for (const m of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+\.js)"|<link[^>]*href="([^"]+\.js)"[^>]*rel="modulepreload"/g))
    eager.add(m[1] ?? m[2])
  const css = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+\.css)"/g)].map((m) => m[1])
  const file = (u) => path.join(DIST, u.replace(/^\//, ''))
  const size = (u) => {
    const buf = fs.readFileSync(file(u))
    return { name: u.replace(/^\/?assets\//, ''), raw: buf.length, gz: zlib.gzipSync(buf, { level: 9 }).length }
  }
  const eagerFiles = [...eager].map(size)
  const allJs = fs
    .readdirSync(path.join(DIST, 'assets'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => `/assets/${f}`)
  const eagerNames = new Set([...eager].map((u) => `/${u.replace(/^\//, '')}`))
  const lazyFiles = allJs.filter((u) => !eagerNames.has(u)).map(size)
  const sum = (xs, k) => xs.reduce((a, x) => a + x[k], 0)
  return {
    eager: eagerFiles,
    lazy: lazyFiles,
    css: css.map(size),
    eagerGz: sum(eagerFiles, 'gz'),
    eagerRaw: sum(eagerFiles, 'raw'),
    lazyGz: sum(lazyFiles, 'gz'),
  }
}
