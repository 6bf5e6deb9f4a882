// What the inspector shows with nothing selected: the design (or the open block) at a glance, its
// problems, the open block's arguments and the shortcuts.
import { useDesigner } from '../store/designer'
import { BlockArgs } from './BlockArgs'

export function Overview() {
  const validation = useDesigner((s) => s.validation)
  const validationError = useDesigner((s) => s.validationError)
  const path = useDesigner((s) => s.path)
  const name = useDesigner((s) => s.design.name)
  return (
    <div className="inspector">
      <h2>{path.length ? `Block ${path[path.length - 1]}` : name}</h2>
      <p className="muted">Select a node to edit its settings. Shift-drag to box-select several, then make a block.</p>
      {path.length > 0 && <BlockArgs block={path[path.length - 1]} />}
      {validationError && <div className="err-box">{validationError}</div>}
      {validation && (
        <>
          <div className="kv">
            <span>Status</span>
            <b className={validation.ok ? 'ok' : 'bad'}>{validation.ok ? 'valid' : `${validation.errors.filter((e) => e.severity !== 'warning').length} problem(s)`}</b>
            <span>{path.length ? 'Design parameters' : 'Parameters'}</span>
            <b>{validation.total_params.toLocaleString()}</b>
          </div>
          {validation.errors.length > 0 && (
            <ul className="err-list">
              {validation.errors.map((e, i) => (
                <li key={i} className={e.severity === 'warning' ? 'warning' : undefined}>
                  {e.node && <b>{e.node}</b>} {e.field && <i>{e.field}</i>} {e.message}
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      <h3>Shortcuts</h3>
      <dl className="shortcuts">
        <dt>Del</dt>
        <dd>delete selection</dd>
        <dt>Ctrl+Z / Ctrl+Y</dt>
        <dd>undo / redo</dd>
        <dt>Ctrl+C / Ctrl+V</dt>
        <dd>copy / paste</dd>
        <dt>Ctrl+A</dt>
        <dd>select all</dd>
        <dt>Ctrl+S</dt>
        <dd>save design</dd>
        <dt>Shift+drag</dt>
        <dd>box select</dd>
        <dt>Double-click</dt>
        <dd>open a block instance</dd>
      </dl>
    </div>
  )
}
