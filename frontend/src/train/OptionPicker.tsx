// One training option (optimizer, loss, schedule) chosen from the server's registry, with its
// params drawn by the same SchemaForm as block params; every default comes from its schema.
import type { JsonSchema } from '../api/types'
import { SchemaForm } from '../forms/SchemaForm'
import { nameOf, paramsOf } from './settings'

type Choice = { name: string; doc: string; params_schema: JsonSchema }

export function OptionPicker({
  label,
  value,
  shown,
  choices,
  none,
  testid,
  onChange,
}: {
  label: string
  /** what the document holds (a name, an object with one, or nothing) */
  value: unknown
  /** the option in effect when nothing is set (the registry's default) */
  shown: string | undefined
  choices: Choice[]
  /** the label of "no option" (a schedule may be left out) */
  none?: string
  testid: string
  onChange: (v: Record<string, unknown> | string | null | undefined) => void
}) {
  const name = nameOf(value) ?? shown ?? ''
  const chosen = choices.find((c) => c.name === name)
  const params = paramsOf(value)
  return (
    <div className="span2 option">
      <label className="tf">
        <span>{label}</span>
        <select value={name} onChange={(e) => onChange(e.target.value ? { name: e.target.value } : null)} data-testid={testid} title={chosen?.doc}>
          {none !== undefined && <option value="">{none}</option>}
          {choices.map((c) => (
            <option key={c.name} value={c.name} title={c.doc}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      {chosen && Object.keys(chosen.params_schema.properties ?? {}).length > 0 && (
        <SchemaForm schema={chosen.params_schema} value={params} prefix="train" owner={{ node: null, field: label.toLowerCase() }} onChange={(p) => onChange({ name, ...p })} />
      )}
    </div>
  )
}
