// Block arguments: a definition declares them (`blockMeta[name].args`, JSON-schema properties with
// defaults), its inner nodes refer to them in `{"expr": ...}` params and `when`, and each instance
// gives its values in `params`. Adding, renaming or removing an argument updates every instance and
// every expression that names it, or says which ones stand in the way. Pure functions over a Design.
import type { ArgSpec } from '../api/types'
import { type ArgMap, type Design, type Graph, isExpr } from './graph'

export type DesignEdit = { design: Design } | { error: string }

/** where an expression sits in a definition: node id and field (`params.units`, `when`, `repeat`) */
export type ExprSite = { node: string; field: string; expr: string }

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/
// Python's words, which are no names (the server also refuses the names its expressions reserve)
const KEYWORDS = new Set(['and', 'or', 'not', 'if', 'else', 'in', 'is', 'True', 'False', 'None', 'lambda', 'for', 'while', 'def', 'class', 'return', 'import', 'from', 'as'])
/** the argument types a definition may declare (the form draws each like a built-in block's setting) */
export const ARG_TYPES = ['integer', 'number', 'boolean', 'string'] as const
export type ArgType = (typeof ARG_TYPES)[number]

// ---------------------------------------------------------------- expressions

type Token = { name: boolean; text: string }

/** Split an expression into identifier tokens (not attributes after a dot) and the text between. */
function tokens(src: string): Token[] {
  const out: Token[] = []
  const re = /("(?:\\.|[^"\\])*"?|'(?:\\.|[^'\\])*'?)|(\d[\w.]*(?:[eE][+-]?\d+)?|\.\d[\w]*)|([A-Za-z_]\w*)|([\s\S])/g
  let m: RegExpExecArray | null
  while ((m = re.exec(src))) {
    const prev = out.length ? out[out.length - 1].text.trimEnd() : ''
    out.push({ name: !!m[3] && !prev.endsWith('.') && !KEYWORDS.has(m[3]), text: m[0] })
  }
  return out
}

/** The names an expression refers to (arguments, the copy index, functions). */
export function exprNames(src: string): Set<string> {
  return new Set(tokens(src).filter((t) => t.name).map((t) => t.text))
}

/** The expression with every reference to `from` renamed to `to` (strings and attributes untouched). */
export function renameInExpr(src: string, from: string, to: string): string {
  return tokens(src)
    .map((t) => (t.name && t.text === from ? to : t.text))
    .join('')
}

/** Every expression in one graph: `{"expr"}` param values, `when`, an expression `repeat`. */
export function exprSites(g: Graph): ExprSite[] {
  return g.nodes.flatMap((n) => {
    const sites: ExprSite[] = Object.entries(n.data.params ?? {}).flatMap(([k, v]) => (isExpr(v) ? [{ node: n.id, field: `params.${k}`, expr: v.expr }] : []))
    if (n.data.when) sites.push({ node: n.id, field: 'when', expr: n.data.when })
    const rep = n.data.extra?.repeat
    if (isExpr(rep)) sites.push({ node: n.id, field: 'repeat', expr: rep.expr })
    return sites
  })
}

/** The expressions of block `block`'s definition that name `arg`. */
export function argRefs(d: Design, block: string, arg: string): ExprSite[] {
  const def = d.blocks[block]
  return def ? exprSites(def).filter((s) => exprNames(s.expr).has(arg)) : []
}

function renameInGraph(g: Graph, from: string, to: string): Graph {
  const ren = (e: string) => renameInExpr(e, from, to)
  return {
    ...g,
    nodes: g.nodes.map((n) => {
      const sites = exprSites({ nodes: [n], edges: [] }).filter((s) => exprNames(s.expr).has(from))
      if (!sites.length) return n
      const params = Object.fromEntries(Object.entries(n.data.params ?? {}).map(([k, v]) => [k, isExpr(v) ? { expr: ren(v.expr) } : v]))
      const rep = n.data.extra?.repeat
      const extra = isExpr(rep) ? { ...n.data.extra, repeat: { expr: ren(rep.expr) } } : n.data.extra
      return { ...n, data: { ...n.data, params, extra, when: n.data.when ? ren(n.data.when) : n.data.when } }
    }),
  }
}

// ---------------------------------------------------------------- instances

/** Apply `fn` to the params of every instance of `block`, in the design and in every definition. */
function mapInstances(d: Design, block: string, fn: (p: Record<string, unknown>) => Record<string, unknown>): Design {
  const inGraph = (g: Graph): Graph => {
    if (!g.nodes.some((n) => n.data.type === block)) return g
    return { ...g, nodes: g.nodes.map((n) => (n.data.type === block ? { ...n, data: { ...n.data, params: fn(n.data.params ?? {}) } } : n)) }
  }
  return { ...d, root: inGraph(d.root), blocks: Object.fromEntries(Object.entries(d.blocks).map(([k, g]) => [k, inGraph(g)])) }
}

function renameKey(p: Record<string, unknown>, from: string, to: string): Record<string, unknown> {
  if (!(from in p)) return p
  return Object.fromEntries(Object.entries(p).map(([k, v]) => [k === from ? to : k, v]))
}

// ---------------------------------------------------------------- arguments

const NO_ARGS: ArgMap = {}

/** A block's arguments (the same object until they change, so a component may select it). */
export function argsOf(d: Design, block: string): ArgMap {
  return d.blockMeta?.[block]?.args ?? NO_ARGS
}

function withArgs(d: Design, block: string, args: ArgMap): Design {
  const { args: _old, ...meta } = d.blockMeta?.[block] ?? {}
  const next = Object.keys(args).length ? { ...meta, args } : meta
  const { [block]: _b, ...others } = d.blockMeta ?? {}
  return { ...d, blockMeta: Object.keys(next).length ? { ...others, [block]: next } : others }
}

export function checkArgName(d: Design, block: string, name: string, except?: string): string | null {
  if (!IDENT.test(name)) return 'An argument name starts with a letter or _ and uses only letters, digits and _.'
  if (KEYWORDS.has(name)) return `${name} is a Python word; pick another name.`
  if (name !== except && name in argsOf(d, block)) return `Block ${block} already has an argument ${name}.`
  return null
}

/** A default spec for a new argument of a type (every argument has a default). */
export function defaultSpec(type: ArgType): ArgSpec {
  const dflt = { integer: 1, number: 1.0, boolean: false, string: '' }[type]
  return type === 'integer' ? { type, default: dflt, minimum: 1 } : { type, default: dflt }
}

/** Add argument `name`; instances leave it out and get its default. */
export function addArg(d: Design, block: string, name: string, spec: ArgSpec = defaultSpec('integer')): DesignEdit {
  if (!d.blocks[block]) return { error: `There is no block ${block}.` }
  const err = checkArgName(d, block, name)
  if (err) return { error: err }
  return { design: withArgs(d, block, { ...argsOf(d, block), [name]: spec }) }
}

/** Rename an argument: its key in every instance's params and every expression naming it follow. */
export function renameArg(d: Design, block: string, from: string, to: string): DesignEdit {
  const args = argsOf(d, block)
  if (!(from in args)) return { error: `Block ${block} has no argument ${from}.` }
  if (from === to) return { design: d }
  const err = checkArgName(d, block, to, from)
  if (err) return { error: err }
  const renamed = Object.fromEntries(Object.entries(args).map(([k, v]) => [k === from ? to : k, v]))
  let next = withArgs(d, block, renamed)
  next = { ...next, blocks: { ...next.blocks, [block]: renameInGraph(next.blocks[block], from, to) } }
  return { design: mapInstances(next, block, (p) => renameKey(p, from, to)) }
}

/** Remove an argument and every instance's value for it; refused while an expression names it. */
export function removeArg(d: Design, block: string, name: string): DesignEdit {
  const args = argsOf(d, block)
  if (!(name in args)) return { error: `Block ${block} has no argument ${name}.` }
  const refs = argRefs(d, block, name)
  if (refs.length) return { error: `${name} is still used by ${refs.map((r) => `${r.node}.${r.field}`).join(', ')}: bind those to values first.` }
  const { [name]: _gone, ...rest } = args
  return {
    design: mapInstances(withArgs(d, block, rest), block, (p) => {
      if (!(name in p)) return p
      const { [name]: _v, ...keep } = p
      return keep
    }),
  }
}

/** Whether an instance's value is one of this spec's type (and choices): 2 is a number, 2.5 no integer. */
function fits(spec: ArgSpec, v: unknown): boolean {
  if (isExpr(v)) return true // an expression over the enclosing block's arguments: the server checks it
  if (spec.type === 'integer') return Number.isInteger(v)
  if (spec.type === 'number') return typeof v === 'number'
  if (spec.type === 'boolean') return typeof v === 'boolean'
  return typeof v === 'string' && (!spec.enum || spec.enum.includes(v))
}

/** Change an argument's spec (type, default, bounds, choices). Instance values of the old type (or
 *  choices) that the new one cannot hold are dropped, so those instances take the new default. */
export function setArgSpec(d: Design, block: string, name: string, spec: ArgSpec): DesignEdit {
  const args = argsOf(d, block)
  if (!(name in args)) return { error: `Block ${block} has no argument ${name}.` }
  return {
    design: mapInstances(withArgs(d, block, { ...args, [name]: spec }), block, (p) => {
      if (!(name in p) || fits(spec, p[name])) return p
      const { [name]: _old, ...keep } = p
      return keep
    }),
  }
}

/** The design without block `name`'s definition and its arguments. */
export function withoutBlock(d: Design, name: string): Design {
  const { [name]: _g, ...blocks } = d.blocks
  const { [name]: _m, ...blockMeta } = d.blockMeta ?? {}
  return { ...d, blocks, blockMeta }
}
