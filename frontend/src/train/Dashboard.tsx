// The training dashboard (lazy-loaded with uPlot): settings, the run on screen and the run history.
import { useEffect } from 'react'
import { History } from './History'
import { RunView } from './RunView'
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
      <Settings />
      {runId && <RunView key={runId} />}
      <History />
    </div>
  )
}
