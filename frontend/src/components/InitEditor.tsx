// A parameter's initializer: PyTorch's default, or one of the server's init functions with its params.
import type { InitSpec, JsonSchema } from '../api/types'
import { SchemaForm } from '../forms/SchemaForm'

export function InitEditor({
  param,
  spec,
  inits,
  onChange,
}: {
  param: string
  spec: InitSpec | undefined
  inits: { fn: string; params_schema: JsonSchema }[]
  onChange: (s: InitSpec | undefined) => void
}) {
  const chosen = inits.find((i) => i.fn === spec?.fn)
  const { fn: _fn, ...rest } = spec ?? { fn: '' }
  return (
    <div className="init">
      <div className="field">
        <label className="field-label" htmlFor={`init-${param}`}>
          init <code>{param}</code>
        </label>
        <select
          id={`init-${param}`}
          data-testid={`init-${param}`}
          value={spec?.fn ?? ''}
          onChange={(e) => onChange(e.target.value ? { fn: e.target.value } : undefined)}
        >
          <option value="">PyTorch default</option>
          {inits.map((i) => (
            <option key={i.fn} value={i.fn}>
              {i.fn}
            </option>
          ))}
        </select>
      </div>
      {chosen && Object.keys(chosen.params_schema.properties ?? {}).length > 0 && (
        <div className="init-params">
          <SchemaForm schema={chosen.params_schema} value={rest} prefix={`init-${param}`} onChange={(v) => onChange({ ...v, fn: chosen.fn })} />
        </div>
      )}
    </div>
  )
}
