// The Sweeps tab (lazy-loaded): start a sweep of the design on the canvas, follow it, and look
// back at earlier ones.
import { useEffect } from 'react'
import { loadDatasets } from '../train/history'
import { SweepForm } from './SweepForm'
import { SweepView } from './SweepView'
import { closeSweeps, loadSweeps, openSweep, useSweeps } from './store'

export default function SweepsPanel() {
  const list = useSweeps((s) => s.list)
  const current = useSweeps((s) => s.current)
  useEffect(() => {
    void loadDatasets()
    void loadSweeps()
    if (current) void openSweep(current.id)
    return closeSweeps
  }, []) // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <div className="train sweeps" data-testid="sweeps-panel">
      <details className="tsec settings-box" open={!current}>
        <summary>
          <h3>New sweep of this design</h3>
        </summary>
        <p className="muted small">Each trial is an ordinary run of the design with its training settings, some of them changed as the space says (Optuna picks them).</p>
        <SweepForm />
      </details>
      {current && <SweepView sweep={current} />}
      {list.length > 0 && (
        <section className="tsec">
          <h3>Sweeps</h3>
          <ul className="sweep-list" data-testid="sweep-list">
            {list.map((s) => (
              <li key={s.id}>
                <button className={`linklike${current?.id === s.id ? ' active' : ''}`} onClick={() => void openSweep(s.id)}>
                  <span className={`chip st-${s.status}`}>{s.status}</span> {s.name} <span className="muted">{s.created_at.slice(0, 16).replace('T', ' ')}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  )
}
