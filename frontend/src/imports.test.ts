// No import circles, between files or between folders (components/ may use train/, never the
// other way round): each module can be read, tested and replaced on its own.
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const SRC = path.resolve(__dirname)

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) return sources(p)
    return /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : []
  })
}

function resolve(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec)
  for (const ext of ['', '.ts', '.tsx', '/index.ts', '/index.tsx']) {
    try {
      readFileSync(base + ext)
      return base + ext
    } catch {
      /* try the next */
    }
  }
  return null
}

/** file -> the local files it imports (static and dynamic imports, re-exports, type-only ones too) */
export function importGraph(files: string[]): Map<string, string[]> {
  const re = /(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g
  return new Map(
    files.map((f) => {
      const text = readFileSync(f, 'utf8')
      const deps = [...text.matchAll(re)].map((m) => resolve(f, m[1] ?? m[2])).filter((d): d is string => d !== null && !d.endsWith('.json'))
      return [f, deps]
    }),
  )
}

/** The first cycle found, as a list of nodes (empty when there is none). */
export function findCycle(graph: Map<string, string[]>): string[] {
  const state = new Map<string, 'open' | 'done'>()
  const stack: string[] = []
  const visit = (n: string): string[] => {
    if (state.get(n) === 'done') return []
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n]
    state.set(n, 'open')
    stack.push(n)
    for (const d of graph.get(n) ?? []) {
      const c = visit(d)
      if (c.length) return c
    }
    stack.pop()
    state.set(n, 'done')
    return []
  }
  for (const n of graph.keys()) {
    const c = visit(n)
    if (c.length) return c
  }
  return []
}

const rel = (f: string) => path.relative(SRC, f)

describe('imports', () => {
  const files = importGraph(sources(SRC))

  it('finds a cycle when there is one (the check itself)', () => {
    expect(findCycle(new Map([['a', ['b']], ['b', ['c']], ['c', ['a']]]))).toEqual(['a', 'b', 'c', 'a'])
    expect(findCycle(new Map([['a', ['b']], ['b', []]]))).toEqual([])
  })

  it('has no circle between files', () => {
    expect(findCycle(files).map(rel)).toEqual([])
  })

  it('has no circle between folders', () => {
    const folders = new Map<string, string[]>()
    for (const [f, deps] of files) {
      const a = path.dirname(rel(f))
      const out = folders.get(a) ?? []
      for (const d of deps) {
        const b = path.dirname(rel(d))
        if (b !== a && !out.includes(b)) out.push(b)
      }
      folders.set(a, out)
    }
    expect(findCycle(folders)).toEqual([])
  })
})
