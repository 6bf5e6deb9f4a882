export function formatShape(shape: number[] | null | undefined): string {
  if (shape == null) return '?'
  if (!shape.length) return 'scalar'
  return shape.join('×')
}

export function formatCount(n: number | null | undefined): string {
  if (n == null) return '–'
  if (n < 1000) return String(n)
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 2 : 1)}k`
  if (n < 1e9) return `${(n / 1e6).toFixed(n < 1e7 ? 2 : 1)}M`
  return `${(n / 1e9).toFixed(2)}B`
}

export function formatValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`
  if (v === null) return 'null'
  if (typeof v === 'object') return '{…}'
  return String(v)
}

// Category colours, handed out in the catalog's own order (the registry's): every category the
// server has gets one, with no second list of categories here to fall out of date.
const PALETTE = ['#34c6a8', '#5b9dff', '#ffb454', '#b58cff', '#9aa7b8', '#ff7ab8', '#4fc3f7', '#7dd3a8', '#e6d35a', '#ff8f6b']

/** The catalog's categories, each once, in the order its blocks come. */
export function categoriesOf(blocks: readonly { category: string }[]): string[] {
  return [...new Set(blocks.map((b) => b.category))]
}

export function categoryColor(category: string | undefined, categories: readonly string[]): string {
  if (!category) return '#8892a6'
  const i = categories.indexOf(category)
  if (i >= 0 && i < PALETTE.length) return PALETTE[i]
  let h = 0
  for (const c of category) h = (h * 31 + c.charCodeAt(0)) % 360
  return `hsl(${h} 60% 65%)`
}
