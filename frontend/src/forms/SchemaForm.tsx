// A form generated from a JSON schema (pydantic's flavour): numbers, booleans, enums, strings,
// lists of numbers (shapes, kernel sizes), nullable variants, and a JSON box for the rest.
// Unset fields stay out of the value, so the server's defaults apply.
import { Fragment, useEffect, useState } from 'react'
import type { JsonSchema } from '../api/types'
import { formatValue } from '../lib/format'
import { setProblems } from '../store/problems'

import { type Kind, compactJson, parseNumList, resolveField } from './schema'

export { compactJson, parseNumList, resolveField }

export type FieldProps = {
  /** the value the server resolved (inferred or default), shown as a placeholder */
  resolvedValue?: unknown
  name: string
  prop: JsonSchema
  root: JsonSchema
  value: unknown
  required: boolean
  onChange: (v: unknown) => void
  testid?: string
  owner?: Owner
}

/** Whose setting a form edits: text that does not parse is reported as a problem of this node (or of `field`). */
export type Owner = { node: string | null; field: string }

export function SchemaField({ name, prop, root, value, required, onChange, testid, resolvedValue, owner }: FieldProps) {
  const { schema, nullable, kind } = resolveField(prop, root)
  const label = schema.title && schema.title.toLowerCase().replace(/ /g, '_') !== name.toLowerCase() ? schema.title : name
  const dflt = schema.default
  const placeholder =
    resolvedValue !== undefined && resolvedValue !== null && dflt === null
      ? `auto: ${formatValue(resolvedValue)}`
      : dflt !== undefined && dflt !== null
        ? `default: ${formatValue(dflt)}`
        : nullable
          ? 'auto'
          : required
            ? 'required'
            : ''
  const hint = [
    schema.minimum !== undefined ? `≥ ${schema.minimum}` : null,
    schema.exclusiveMinimum !== undefined ? `> ${schema.exclusiveMinimum}` : null,
    schema.maximum !== undefined ? `≤ ${schema.maximum}` : null,
  ]
    .filter(Boolean)
    .join(', ')
  const id = `f-${testid ?? name}`
  const fieldName = owner?.field ? `${owner.field}.${name}` : name
  const report = { key: `field:${owner?.node ?? ''}:${fieldName}`, node: owner?.node ?? null, field: fieldName }

  let control: React.ReactNode
  if (kind === 'boolean') {
    const checked = value === undefined ? Boolean(dflt) : Boolean(value)
    control = (
      <label className="check">
        <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} data-testid={testid} />
        {value === undefined ? <span className="muted">default</span> : null}
      </label>
    )
  } else if (kind === 'enum') {
    control = (
      <select id={id} value={value === undefined ? '' : JSON.stringify(value)} onChange={(e) => onChange(e.target.value === '' ? undefined : JSON.parse(e.target.value))} data-testid={testid}>
        {(!required || value === undefined) && <option value="">{dflt !== undefined ? `default (${formatValue(dflt)})` : '—'}</option>}
        {schema.enum!.map((o) => (
          <option key={JSON.stringify(o)} value={JSON.stringify(o)}>
            {formatValue(o)}
          </option>
        ))}
      </select>
    )
  } else if (kind === 'integer' || kind === 'number') {
    control = (
      <TextInput
        id={id}
        testid={testid}
        report={report}
        kind={kind}
        value={value === undefined || value === null ? '' : String(value)}
        placeholder={placeholder}
        inputMode={kind === 'integer' ? 'numeric' : 'decimal'}
        parse={(t) => {
          if (t.trim() === '') return { ok: true, v: undefined }
          const n = Number(t)
          if (!Number.isFinite(n) || (kind === 'integer' && !Number.isInteger(n))) return { ok: false }
          return { ok: true, v: n }
        }}
        onCommit={onChange}
      />
    )
  } else if (kind === 'numlist') {
    const scalarOk = Boolean(schema['x-scalar-ok'])
    control = (
      <TextInput
        id={id}
        testid={testid}
        report={report}
        kind={kind}
        value={value === undefined || value === null ? '' : Array.isArray(value) ? value.join(', ') : String(value)}
        placeholder={placeholder || 'e.g. 1, 28, 28'}
        parse={(t) => {
          if (t.trim() === '') return { ok: true, v: undefined }
          const v = parseNumList(t, scalarOk)
          return v === null ? { ok: false } : { ok: true, v }
        }}
        onCommit={onChange}
      />
    )
  } else if (kind === 'string') {
    control = (
      <TextInput
        id={id}
        testid={testid}
        report={report}
        kind={kind}
        value={typeof value === 'string' ? value : ''}
        placeholder={placeholder}
        parse={(t) => ({ ok: true, v: t === '' ? undefined : t })}
        onCommit={onChange}
        multiline={schema.format === 'code'}
      />
    )
  } else {
    control = (
      <TextInput
        id={id}
        testid={testid}
        report={report}
        kind={kind}
        value={value === undefined ? '' : compactJson(value)}
        placeholder={placeholder || 'JSON'}
        multiline
        parse={(t) => {
          if (t.trim() === '') return { ok: true, v: undefined }
          try {
            return { ok: true, v: JSON.parse(t) }
          } catch {
            return { ok: false }
          }
        }}
        onCommit={onChange}
      />
    )
  }

  return (
    <div className="field">
      <label htmlFor={id} className="field-label" title={schema.description}>
        {label}
        {required && <span className="req">*</span>}
        {hint && <span className="muted"> {hint}</span>}
      </label>
      {control}
      {schema.description && <div className="field-desc">{schema.description}</div>}
    </div>
  )
}

const KIND_TEXT: Record<Kind, string> = {
  number: 'a number',
  integer: 'a whole number',
  numlist: 'a list of numbers',
  json: 'valid JSON',
  string: 'text',
  boolean: 'true or false',
  enum: 'one of the choices',
}

/**
 * A text box that keeps what the user types and commits parsed values as they become valid,
 * so typing "1, 2" never fights the store.
 */
function TextInput(props: {
  id: string
  value: string
  placeholder?: string
  inputMode?: 'numeric' | 'decimal'
  multiline?: boolean
  testid?: string
  parse: (t: string) => { ok: boolean; v?: unknown }
  onCommit: (v: unknown) => void
  report: { key: string; node: string | null; field: string }
  kind: Kind
}) {
  const [text, setText] = useState(props.value)
  const [bad, setBad] = useState(false)
  const [focused, setFocused] = useState(false)
  const { key, node, field } = props.report
  useEffect(() => {
    if (!focused && !bad) setText(props.value)
  }, [props.value, focused, bad])
  // text that does not parse is a problem like any other (the value before it would silently stay)
  useEffect(() => {
    setProblems(key, bad ? [{ node, field, message: `“${text.trim()}” is not ${KIND_TEXT[props.kind]}`, severity: 'error' }] : [])
  }, [bad, text, key, node, field, props.kind])
  useEffect(() => () => setProblems(key, []), [key])
  const change = (t: string) => {
    setText(t)
    const r = props.parse(t)
    setBad(!r.ok)
    if (r.ok) props.onCommit(r.v)
  }
  const common = {
    id: props.id,
    value: text,
    placeholder: props.placeholder,
    className: bad ? 'bad' : undefined,
    'data-testid': props.testid,
    onFocus: () => setFocused(true),
    onBlur: () => setFocused(false),
  }
  return props.multiline ? (
    <textarea {...common} rows={4} spellCheck={false} onChange={(e) => change(e.target.value)} />
  ) : (
    <input {...common} type="text" inputMode={props.inputMode} spellCheck={false} autoComplete="off" onChange={(e) => change(e.target.value)} />
  )
}

export function SchemaForm({
  schema,
  value,
  onChange,
  prefix,
  resolved,
  owner,
  renderField = (p) => <SchemaField {...p} />,
}: {
  owner?: Owner
  /** draws one field (default: SchemaField); e.g. a field that may also be bound to an expression */
  renderField?: (p: FieldProps) => React.ReactNode
  schema: JsonSchema
  resolved?: Record<string, unknown>
  value: Record<string, unknown>
  onChange: (v: Record<string, unknown>) => void
  prefix?: string
}) {
  // fields marked deprecated are accepted from older documents and ignored: not offered
  const props = Object.entries(schema.properties ?? {}).filter(([, p]) => !p.deprecated)
  if (!props.length) return <p className="muted small">No settings.</p>
  const required = new Set(schema.required ?? [])
  return (
    <div className="form">
      {props.map(([k, p]) => (
        <Fragment key={k}>
          {renderField({
            name: k,
            prop: p,
            root: schema,
            value: value[k],
            resolvedValue: resolved?.[k],
            required: required.has(k),
            testid: prefix ? `${prefix}-${k}` : `param-${k}`,
            owner,
            onChange: (v) => {
              const next = { ...value }
              if (v === undefined) delete next[k]
              else next[k] = v
              onChange(next)
            },
          })}
        </Fragment>
      ))}
    </div>
  )
}
