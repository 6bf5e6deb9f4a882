// Train / Stop, and why a run was refused (or cannot start: settings text that does not parse).
import { useProblems } from '../store/problems'
import { startRun, stopRun } from './actions'
import { isFinished } from './stream'
import { useTrain } from './store'

export function RunButtons() {
  const starting = useTrain((s) => s.starting)
  const status = useTrain((s) => s.data.status)
  const runId = useTrain((s) => s.runId)
  const err = useTrain((s) => s.startError)
  // a field whose text does not parse blocks Train, as any problem the server finds would
  const bySource = useProblems((s) => s.bySource)
  const unparsed = Object.entries(bySource).flatMap(([k, v]) => (k.startsWith('field:') ? v : []))
  const active = runId !== null && !isFinished(status)
  const shown = err ?? (unparsed.length ? { message: 'Fix these settings first:', errors: unparsed } : null)
  return (
    <>
      <div className="trow">
        {active ? (
          <button className="danger-solid" onClick={() => void stopRun()} data-testid="btn-stop">
            ■ Stop
          </button>
        ) : (
          <button className="primary" onClick={() => void startRun()} disabled={starting || unparsed.length > 0} data-testid="btn-train" title={unparsed.length ? 'some settings do not parse' : undefined}>
            ▶ {starting ? 'Starting…' : 'Train'}
          </button>
        )}
        {active && <span className="muted small">a run is in progress</span>}
      </div>
      {shown && (
        <div className="err-box" data-testid="train-errors">
          <b>{shown.message}</b>
          {shown.errors.length > 0 && (
            <ul>
              {shown.errors.map((e, i) => (
                <li key={i}>
                  {e.node && <code>{e.node}</code>} {e.field && <span className="muted">{e.field}: </span>}
                  {e.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </>
  )
}
