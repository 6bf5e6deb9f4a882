// Where the bench finds the checkout: everything is relative to this folder, so any worktree
// benches its own backend and build.
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const FRONTEND = path.join(ROOT, 'frontend')
export const DIST = path.join(FRONTEND, 'dist')
