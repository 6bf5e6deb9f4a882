// JSON-schema reading for the forms (pydantic's flavour): refs, nullable unions, the kind of control a field gets.
import type { JsonSchema } from '../api/types'

export type Kind = 'number' | 'integer' | 'boolean' | 'enum' | 'string' | 'numlist' | 'json'

function deref(s: JsonSchema, root: JsonSchema): JsonSchema {
  let cur = s
  for (let i = 0; i < 8 && cur.$ref; i++) {
    const name = cur.$ref.split('/').pop()!
    const target = root.$defs?.[name] ?? root.definitions?.[name]
    if (!target) break
    const { $ref: _r, ...rest } = cur
    cur = { ...target, ...rest }
  }
  if (cur.allOf?.length === 1) {
    const { allOf, ...rest } = cur
    cur = { ...deref(allOf[0], root), ...rest }
  }
  return cur
}

/** Resolve refs and nullable unions; returns the schema to draw and whether null is allowed. */
export function resolveField(s: JsonSchema, root: JsonSchema): { schema: JsonSchema; nullable: boolean; kind: Kind } {
  let schema = deref(s, root)
  let nullable = false
  const union = schema.anyOf ?? schema.oneOf
  if (union) {
    const variants = union.map((v) => deref(v, root))
    const nonNull = variants.filter((v) => v.type !== 'null')
    nullable = nonNull.length < variants.length
    if (nonNull.length === 1) {
      const { anyOf: _a, oneOf: _o, ...rest } = schema
      schema = { ...nonNull[0], ...rest }
    } else {
      // e.g. int | [int, int]: pick the list form when there is one, numbers are accepted too
      const list = nonNull.find((v) => v.type === 'array')
      const num = nonNull.find((v) => v.type === 'integer' || v.type === 'number')
      if (list && num) {
        const { anyOf: _a, oneOf: _o, ...rest } = schema
        schema = { ...list, ...rest, 'x-scalar-ok': true }
      }
    }
  }
  if (Array.isArray(schema.type)) {
    nullable = nullable || schema.type.includes('null')
    const t = schema.type.filter((t) => t !== 'null')
    schema = { ...schema, type: t.length === 1 ? t[0] : t }
  }
  let kind: Kind = 'json'
  if (schema.enum) kind = 'enum'
  else if (schema.type === 'boolean') kind = 'boolean'
  else if (schema.type === 'integer') kind = 'integer'
  else if (schema.type === 'number') kind = 'number'
  else if (schema.type === 'string') kind = 'string'
  else if (schema.type === 'array') {
    const it = schema.items ? deref(schema.items, root) : undefined
    const prefix = (schema.prefixItems as JsonSchema[] | undefined)?.map((p) => deref(p, root))
    const numeric = (x?: JsonSchema) => x && (x.type === 'integer' || x.type === 'number')
    if (numeric(it) || (prefix && prefix.every(numeric))) kind = 'numlist'
  }
  return { schema, nullable, kind }
}

export function parseNumList(text: string, scalarOk: boolean): number[] | number | null {
  const t = text.trim().replace(/^[[(]|[\])]$/g, '')
  if (!t) return []
  const parts = t.split(/[\s,×x]+/).filter(Boolean)
  const nums = parts.map(Number)
  if (nums.some((n) => !Number.isFinite(n))) return null
  if (scalarOk && nums.length === 1 && !/[[(,]/.test(text)) return nums[0]
  return nums
}

/** Pretty JSON with short lists of numbers kept on one line: {"w": {"shape": [20, 20]}}. */
export function compactJson(v: unknown): string {
  return JSON.stringify(v, null, 2).replace(/\[[\s\d.,eE+-]*\]/g, (m) => `[${m.slice(1, -1).trim().split(/\s*,\s*/).filter(Boolean).join(', ')}]`)
}

