// One sweep: its status and budget, Stop, "run the best trial", the trials table (each linked to
// its run) and the parallel-coordinates plot.
import type { SweepOut, Trial } from '../api/types'
import { formatStat } from '../train/colors'
import { ParallelCoords } from './ParallelCoords'
import { runBest, showRun, stopSweep } from './store'

const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : formatStat(v)) : JSON.stringify(v))

export function SweepView({ sweep }: { sweep: SweepOut }) {
  const trials = sweep.trials ?? []
  const keys = Object.keys(sweep.space)
  const done = trials.filter((t) => t.state !== 'running').length
  return (
    <section className="tsec" data-testid="sweep-view" data-status={sweep.status} data-sweep-id={sweep.id}>
      <div className="trow">
        <span className={`chip st-${sweep.status}`} data-testid="sweep-status">
          {sweep.status}
        </span>
        <b>{sweep.name}</b>
        <span className="grow" />
        <span className="muted small" data-testid="sweep-progress">
          {done}/{sweep.trials_total} trials
        </span>
      </div>
      <p className="muted small">
        {sweep.direction} {sweep.metric}
        {sweep.best ? (
          <>
            {' '}
            · best <b data-testid="sweep-best">{formatStat(sweep.best.value)}</b> (trial {sweep.best.number})
          </>
        ) : null}
      </p>
      {sweep.error && <div className="err-box">{sweep.error}</div>}
      <div className="trow wrap">
        {sweep.status === 'running' && (
          <button onClick={() => void stopSweep(sweep.id)} className="danger-solid" data-testid="btn-stop-sweep">
            ■ Stop sweep
          </button>
        )}
        <button onClick={() => void runBest(sweep)} disabled={!sweep.best_run} data-testid="btn-run-best" title="an ordinary run with the best trial's settings">
          ▶ Run the best trial's settings
        </button>
      </div>
      <div className="table-scroll">
      <table className="ptable trials" data-testid="trials">
        <thead>
          <tr>
            <th>#</th>
            {keys.map((k) => (
              <th key={k}>{k}</th>
            ))}
            <th>state</th>
            <th>{sweep.metric}</th>
            <th>epoch</th>
          </tr>
        </thead>
        <tbody>
          {trials.map((t) => (
            <TrialRow key={t.number} t={t} keys={keys} best={sweep.best?.number === t.number} />
          ))}
        </tbody>
      </table>
      </div>
      {trials.some((t) => t.value != null) && <ParallelCoords sweep={sweep} />}
    </section>
  )
}

function TrialRow({ t, keys, best }: { t: Trial; keys: string[]; best: boolean }) {
  return (
    <tr className={best ? 'best' : undefined} data-testid={`trial-${t.number}`} data-state={t.state} title={t.error ?? undefined}>
      <td>
        {t.run_id ? (
          <button className="mini" onClick={() => void showRun(t.run_id!)} data-testid={`trial-${t.number}-run`} title="open this trial's run on the Train panel">
            {t.number} ↗
          </button>
        ) : (
          t.number
        )}
      </td>
      {keys.map((k) => (
        <td key={k} data-testid={`trial-${t.number}-${k}`}>
          {fmt(t.params[k])}
        </td>
      ))}
      <td>
        <span className={`chip st-${t.state}`}>{t.state}</span>
      </td>
      <td data-testid={`trial-${t.number}-value`}>{t.value == null ? '–' : formatStat(t.value)}</td>
      <td>{t.epoch ?? '–'}</td>
    </tr>
  )
}
