// The node fields PyTorch users know from module code: call another node's module again (`calls`),
// repeat a block instance N times (`repeat`, nn.Sequential of copies), and inside a block switch a
// node on an argument (`when`, e.g. the 1x1 downsample conv of a residual block).
import { useEffect, useState } from 'react'
import type { BlockNodeData } from '../store/graph'

// a node that calls another's module has no settings, initializers or tied weights of its own (the server refuses them)
const OWN_MODULE_GONE: Partial<BlockNodeData> = { params: {}, init: undefined, shares: undefined, trainable: undefined }

type Props = {
  id: string
  data: BlockNodeData
  /** other nodes of the same type in the same graph (what `calls` may name) */
  sameType: string[]
  composite: boolean
  /** the open block's argument names, when the node is inside a block definition */
  args: string[] | null
  update: (patch: Partial<BlockNodeData>, key?: string) => void
}

export function NodeExtras({ id, data, sameType, composite, args, update }: Props) {
  if (!sameType.length && !composite && !args) return null
  return (
    <section data-testid="node-extras">
      {composite && <RepeatField id={id} value={data.repeat} onChange={(repeat) => update({ repeat }, `repeat:${id}`)} />}
      {sameType.length > 0 && (
        <div className="field">
          <label className="field-label" htmlFor="calls">
            call the module of…
          </label>
          <select id="calls" data-testid="calls" value={data.calls ?? ''} onChange={(e) => update(e.target.value ? { calls: e.target.value, ...OWN_MODULE_GONE } : { calls: undefined })}>
            <option value="">— its own module —</option>
            {sameType.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
          <div className="field-desc">Runs that node's module again (as <code>self.{data.calls ?? 'other'}(x)</code> twice in forward): no state_dict keys of its own.</div>
        </div>
      )}
      {args && <WhenField id={id} value={data.when ?? ''} args={args} onChange={(when) => update({ when: when || undefined }, `when:${id}`)} />}
    </section>
  )
}

function RepeatField({ id, value, onChange }: { id: string; value: number | undefined; onChange: (v: number | undefined) => void }) {
  const [text, setText] = useState(value === undefined ? '' : String(value))
  const [bad, setBad] = useState(false)
  useEffect(() => {
    if (!bad) setText(value === undefined ? '' : String(value))
  }, [value, bad])
  return (
    <div className="field">
      <label className="field-label" htmlFor={`repeat-${id}`}>
        repeat <span className="muted">≥ 1</span>
      </label>
      <input
        id={`repeat-${id}`}
        data-testid="repeat"
        inputMode="numeric"
        placeholder="default: 1"
        className={bad ? 'bad' : undefined}
        value={text}
        onChange={(e) => {
          const t = e.target.value
          setText(t)
          const n = Number(t)
          const ok = t.trim() === '' || (Number.isInteger(n) && n >= 1)
          setBad(!ok)
          if (ok) onChange(t.trim() === '' || n === 1 ? undefined : n)
        }}
      />
      {bad && <div className="field-err">A whole number, 1 or more.</div>}
      <div className="field-desc">N copies in a chain, each with its own parameters (keys <code>{id}.0.…</code>, <code>{id}.1.…</code>).</div>
    </div>
  )
}

function WhenField({ id, value, args, onChange }: { id: string; value: string; args: string[]; onChange: (v: string) => void }) {
  const [text, setText] = useState(value)
  const [focused, setFocused] = useState(false)
  useEffect(() => {
    if (!focused) setText(value)
  }, [value, focused])
  return (
    <div className="field">
      <label className="field-label" htmlFor={`when-${id}`}>
        when <span className="muted">expression</span>
      </label>
      <input
        id={`when-${id}`}
        data-testid="when"
        className="code"
        spellCheck={false}
        autoComplete="off"
        placeholder="always"
        value={text}
        onFocus={() => setFocused(true)}
        onBlur={() => setFocused(false)}
        onChange={(e) => {
          setText(e.target.value)
          onChange(e.target.value.trim())
        }}
      />
      <div className="field-desc">
        Present only when this is true{args.length ? ` (arguments: ${args.join(', ')})` : ''}; otherwise the node passes its input through.
      </div>
    </div>
  )
}
