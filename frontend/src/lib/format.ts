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

const CATEGORY_COLORS: Record<string, string> = {
  io: '#34c6a8',
  layers: '#5b9dff',
  conv: '#4fc3f7',
  norm: '#7dd3a8',
  activations: '#ffb454',
  combine: '#b58cff',
  reshape: '#9aa7b8',
  custom: '#ff7ab8',
  regularization: '#e6d35a',
}

export function categoryColor(category: string | undefined): string {
  if (!category) return '#8892a6'
  if (CATEGORY_COLORS[category]) return CATEGORY_COLORS[category]
  let h = 0
  for (const c of category) h = (h * 31 + c.charCodeAt(0)) % 360
  return `hsl(${h} 60% 65%)`
}

export const CATEGORY_ORDER = ['io', 'layers', 'conv', 'norm', 'activations', 'combine', 'reshape', 'regularization', 'custom']
