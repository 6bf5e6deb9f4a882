// The open block definition's arguments: add, rename, retype, set the default and bounds, remove.
// Each edit is one undo step and updates every instance (store/blockArgs.ts); inner nodes bind
// their settings to the arguments with the ƒ toggle in the inspector.
import { useEffect, useState } from 'react'
import type { ArgSpec } from '../api/types'
import { ARG_TYPES, type ArgType, addArg, argsOf, defaultSpec, removeArg, renameArg, setArgSpec } from '../store/blockArgs'
import { useDesigner } from '../store/designer'
import { formatValue } from '../lib/format'

export function BlockArgs({ block }: { block: string }) {
  const args = useDesigner((s) => argsOf(s.design, block))
  const editDesign = useDesigner((s) => s.editDesign)
  // what the server says about the declared arguments themselves (a reserved name, a default out of range)
  const serverErrors = useDesigner((s) => s.rawValidation?.errors)
  const argErrors = (serverErrors ?? []).filter((e) => e.block === block && e.field?.startsWith('args.'))
  const [error, setError] = useState<string | null>(null)
  const run = (fn: Parameters<typeof editDesign>[0], key?: string) => {
    const err = editDesign(fn, key)
    setError(err)
    return err
  }
  const add = () => {
    const names = new Set(Object.keys(args))
    let i = 1
    while (names.has(`arg${i}`)) i++
    run((d) => addArg(d, block, `arg${i}`))
  }
  return (
    <section className="block-args" data-testid="block-args">
      <h3>Arguments</h3>
      <p className="muted small">Each instance sets these in its settings; inner nodes use them in expressions (ƒ).</p>
      {Object.entries(args).map(([name, spec]) => (
        <ArgRow
          key={name}
          name={name}
          spec={spec}
          problems={argErrors.filter((e) => e.field === `args.${name}`).map((e) => e.message)}
          onRename={(to) => run((d) => renameArg(d, block, name, to))}
          onSpec={(next, key) => run((d) => setArgSpec(d, block, name, next), key)}
          onRemove={() => run((d) => removeArg(d, block, name))}
        />
      ))}
      {error && (
        <div className="err-box" data-testid="arg-error">
          {error}
        </div>
      )}
      <button onClick={add} data-testid="arg-add">
        + Add argument
      </button>
    </section>
  )
}

type RowProps = { name: string; spec: ArgSpec; problems: string[]; onRename: (to: string) => string | null; onSpec: (s: ArgSpec, key?: string) => void; onRemove: () => void }

function ArgRow({ name, spec, problems, onRename, onSpec, onRemove }: RowProps) {
  const [nameText, setNameText] = useState(name)
  useEffect(() => setNameText(name), [name])
  const type = (ARG_TYPES as readonly string[]).includes(String(spec.type)) ? (spec.type as ArgType) : 'integer'
  const numeric = type === 'integer' || type === 'number'
  const set = (k: string, v: unknown) => {
    const next = { ...spec }
    if (v === undefined) delete next[k]
    else next[k] = v
    onSpec(next, `arg:${name}:${k}`)
  }
  return (
    <div className="arg-row" data-testid={`arg-${name}`}>
      <input
        className="arg-name code"
        aria-label="argument name"
        data-testid={`arg-name-${name}`}
        value={nameText}
        spellCheck={false}
        onChange={(e) => setNameText(e.target.value)}
        onBlur={() => {
          // a refused name (the error shows below) goes back to the argument's own
          if (nameText.trim() === name || onRename(nameText.trim())) setNameText(name)
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter') (e.target as HTMLInputElement).blur()
          if (e.key === 'Escape') setNameText(name)
        }}
      />
      <select aria-label="type" data-testid={`arg-type-${name}`} value={type} onChange={(e) => onSpec({ ...defaultSpec(e.target.value as ArgType), ...(spec.description ? { description: spec.description } : {}) })}>
        {ARG_TYPES.map((t) => (
          <option key={t}>{t}</option>
        ))}
      </select>
      <button className="mini danger" title={`Remove ${name}`} onClick={onRemove} data-testid={`arg-remove-${name}`}>
        ✕
      </button>
      <div className="arg-spec">
        {type === 'boolean' ? (
          <label className="check">
            <input type="checkbox" data-testid={`arg-default-${name}`} checked={spec.default === true} onChange={(e) => set('default', e.target.checked)} />
            default
          </label>
        ) : (
          <ValueInput label="default" tid={`arg-default-${name}`} value={spec.default} type={type} required onChange={(v) => set('default', v)} />
        )}
        {numeric && <ValueInput label="min" tid={`arg-min-${name}`} value={spec.minimum} type={type} onChange={(v) => set('minimum', v)} />}
        {numeric && <ValueInput label="max" tid={`arg-max-${name}`} value={spec.maximum} type={type} onChange={(v) => set('maximum', v)} />}
        {type === 'string' && (
          <ValueInput
            label="choices"
            tid={`arg-enum-${name}`}
            value={Array.isArray(spec.enum) ? spec.enum.join(', ') : undefined}
            type="string"
            onChange={(v) => set('enum', typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined)}
          />
        )}
      </div>
      {problems.map((m) => (
        <div key={m} className="field-err arg-problem">
          {m}
        </div>
      ))}
    </div>
  )
}

/** A default or bound: commits as soon as the text parses for the argument's type (empty: unset). */
function ValueInput({ label, tid, value, type, required, onChange }: { label: string; tid: string; value: unknown; type: ArgType; required?: boolean; onChange: (v: unknown) => void }) {
  const shown = value === undefined || value === null ? '' : type === 'string' ? String(value) : formatValue(value)
  const [text, setText] = useState(shown)
  const [bad, setBad] = useState(false)
  const [focused, setFocused] = useState(false)
  useEffect(() => {
    if (!focused && !bad) setText(shown)
  }, [shown, focused, bad])
  const parse = (t: string): { ok: boolean; v?: unknown } => {
    if (type === 'string') return { ok: true, v: t === '' && !required ? undefined : t }
    if (t.trim() === '') return required ? { ok: false } : { ok: true, v: undefined }
    const n = Number(t)
    return Number.isFinite(n) && (type === 'number' || Number.isInteger(n)) ? { ok: true, v: n } : { ok: false }
  }
  return (
    <label className="arg-value">
      <span className="muted small">{label}</span>
      <input
        data-testid={tid}
        value={text}
        className={bad ? 'bad' : undefined}
        inputMode={type === 'integer' ? 'numeric' : type === 'number' ? 'decimal' : undefined}
        spellCheck={false}
        onFocus={() => setFocused(true)}
        onBlur={() => setFocused(false)}
        onChange={(e) => {
          setText(e.target.value)
          const r = parse(e.target.value)
          setBad(!r.ok)
          if (r.ok) onChange(r.v)
        }}
      />
    </label>
  )
}
