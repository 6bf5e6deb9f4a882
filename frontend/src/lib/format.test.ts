import { describe, expect, it } from 'vitest'
import { CATALOG } from '../store/fixtures'
import { categoriesOf, categoryColor } from './format'

describe('categories', () => {
  it('come from the catalog, in its order, each with its own colour', () => {
    const cats = categoriesOf(CATALOG)
    expect(cats).toEqual([...new Set(CATALOG.map((b) => b.category))])
    expect(cats[0]).toBe(CATALOG[0].category)
    const colours = cats.map((c) => categoryColor(c, cats))
    expect(new Set(colours).size).toBe(cats.length)
  })
  it('a category the catalog lacks still gets a steady colour', () => {
    expect(categoryColor('elsewhere', [])).toBe(categoryColor('elsewhere', ['x']))
    expect(categoryColor(undefined, [])).toMatch(/^#/)
  })
})
