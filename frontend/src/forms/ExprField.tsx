// A setting of a node inside a block definition: a literal (the generated field) or, with the ƒ
// toggle, an expression over the block's arguments, stored as `{"expr": "units * 2"}`.
import { useEffect, useState } from 'react'
import { isExpr } from '../store/graph'
import { type FieldProps, SchemaField } from './SchemaForm'
import { resolveField, type Kind } from './schema'

// scalar settings can take an expression; lists, objects and code keep their own editors
const BINDABLE: ReadonlySet<Kind> = new Set(['number', 'integer', 'boolean', 'string', 'enum'])

export function ExprField(p: FieldProps & { args: string[] }) {
  const { kind, schema } = resolveField(p.prop, p.root)
  const bound = isExpr(p.value)
  if (!BINDABLE.has(kind) || schema.format === 'code') return <SchemaField {...p} />
  const tid = p.testid ?? p.name
  const toggle = () => p.onChange(bound ? undefined : { expr: p.args[0] ?? '' })
  return (
    <div className={`expr-field${bound ? ' bound' : ''}`}>
      <button
        type="button"
        className={`mini expr-toggle${bound ? ' on' : ''}`}
        onClick={toggle}
        title={bound ? 'Use a value instead of an expression' : "Bind to an expression over the block's arguments"}
        aria-pressed={bound}
        data-testid={`${tid}-bind`}
      >
        ƒ
      </button>
      {bound ? <ExprInput {...p} expr={(p.value as { expr: string }).expr} tid={tid} /> : <SchemaField {...p} />}
    </div>
  )
}

/** The expression text, committed as it is typed (the server checks it and names the node). */
export function ExprInput({ name, expr, tid, args, onChange, label }: { name: string; expr: string; tid: string; args: string[]; onChange: (v: unknown) => void; label?: string }) {
  const [text, setText] = useState(expr)
  const [focused, setFocused] = useState(false)
  useEffect(() => {
    if (!focused) setText(expr)
  }, [expr, focused])
  const id = `f-${tid}-expr`
  return (
    <div className="field">
      <label htmlFor={id} className="field-label">
        {label ?? name} <span className="muted">= expression</span>
      </label>
      <input
        id={id}
        type="text"
        className="code"
        spellCheck={false}
        autoComplete="off"
        value={text}
        placeholder={args.length ? `e.g. ${args[0]} * 2` : 'add an argument first'}
        data-testid={`${tid}-expr`}
        onFocus={() => setFocused(true)}
        onBlur={() => setFocused(false)}
        onChange={(e) => {
          setText(e.target.value)
          onChange({ expr: e.target.value })
        }}
      />
      <div className="field-desc">{args.length ? `Arguments: ${args.join(', ')}` : 'This block has no arguments yet.'}</div>
    </div>
  )
}
