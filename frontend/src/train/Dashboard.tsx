// The training dashboard (lazy-loaded with uPlot): settings, the run on screen and the run history.
import { useEffect } from 'react'
import { History } from './History'
import { RunView } from './RunView'
import { RunButtons } from './RunButtons'
import { Settings } from './Settings'
import { loadDatasets } from './history'
import { useTrain } from './store'

export { NodeDrawer } from './NodeDrawer'

export default function TrainPanel() {
  const runId = useTrain((s) => s.runId)
  useEffect(() => {
    void loadDatasets()
  }, [])
  return (
    <div className="train" data-testid="train-panel">
      {/* Train / Stop first, then the run's results: in view without scrolling past the settings */}
      <section className="tsec run-bar">
        <RunButtons />
      </section>
      {runId && <RunView key={runId} />}
      <details className="tsec settings-box" open={!runId} data-testid="train-settings">
        <summary>
          <h3>Training settings</h3>
        </summary>
        <Settings />
      </details>
      <History />
    </div>
  )
}
