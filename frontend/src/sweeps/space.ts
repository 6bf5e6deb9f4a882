// The sweep form's search space: one row per run-body path, a range or a list of choices, turned
// into SweepCreate's `space` (and read back to label a sweep's axes).
import type { JsonSchema, SweepCreate } from '../api/types'

export type SpaceRow = { path: string; kind: 'range' | 'choices'; low: string; high: string; log: boolean; choices: string }

/** The rows a new sweep starts with: the learning rate on a log scale and two batch sizes. */
export const DEFAULT_ROWS: SpaceRow[] = [
  { path: 'lr', kind: 'range', low: '0.001', high: '0.1', log: true, choices: '' },
  { path: 'batch_size', kind: 'choices', low: '', high: '', log: false, choices: '32, 64' },
]

export const emptyRow = (path = ''): SpaceRow => ({ path, kind: 'range', low: '', high: '', log: false, choices: '' })

/** "32, 64" -> [32, 64]; words stay strings, true/false booleans. */
export function parseChoices(text: string): (string | number | boolean)[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '')
    .map((t) => (t === 'true' ? true : t === 'false' ? false : t !== '' && Number.isFinite(Number(t)) ? Number(t) : t))
}

/** The `space` of a sweep body, or the first row's problem (named by its path). */
export function toSpace(rows: SpaceRow[]): { space: SweepCreate['space'] } | { error: string } {
  const space: SweepCreate['space'] = {}
  for (const r of rows) {
    const path = r.path.trim()
    if (!path) return { error: 'every row needs a setting path' }
    if (path in space) return { error: `${path}: given twice` }
    if (r.kind === 'choices') {
      const choices = parseChoices(r.choices)
      if (!choices.length) return { error: `${path}: give at least one choice` }
      space[path] = { choices }
    } else {
      const low = Number(r.low)
      const high = Number(r.high)
      if (r.low.trim() === '' || r.high.trim() === '' || !Number.isFinite(low) || !Number.isFinite(high)) return { error: `${path}: low and high must be numbers` }
      space[path] = r.log ? { low, high, log: true } : { low, high }
    }
  }
  if (!Object.keys(space).length) return { error: 'add a setting to search over' }
  return { space }
}

/** Paths worth offering: numeric params of the chosen optimizer, the dataset and the nodes on the canvas. */
export function pathSuggestions(parts: { prefix: string; schema: JsonSchema | undefined }[]): string[] {
  const out: string[] = []
  for (const { prefix, schema } of parts)
    for (const [k, s] of Object.entries(schema?.properties ?? {})) {
      const types = [s.type, ...(s.anyOf ?? []).map((a) => a.type)].flat()
      if (!s.deprecated && (types.includes('number') || types.includes('integer'))) out.push(`${prefix}${k}`)
    }
  return [...new Set(out)]
}
