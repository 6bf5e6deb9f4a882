// What an imported model could not bring in: each operator without a block, by node and op.
// Those nodes stay on the canvas (type onnx.<Op>) so the user can replace them by hand.
import { dismissImportReport, useImportReport } from '../session/interchange'

export function ImportReport() {
  const report = useImportReport((s) => s.report)
  if (!report) return null
  return (
    <div className="import-report" role="alert" data-testid="import-report">
      <div className="trow">
        <b>
          {report.file}: {report.unsupported.length} operator{report.unsupported.length === 1 ? '' : 's'} without a block
        </b>
        <span className="grow" />
        <button className="mini" onClick={dismissImportReport} data-testid="import-report-close">
          ✕
        </button>
      </div>
      <p className="muted small">They stay on the canvas as nodes to replace; the file's weights load once every node has a block.</p>
      <ul>
        {report.unsupported.map((u) => (
          <li key={`${u.node}/${u.op}`} data-testid="unsupported-op">
            <code>{u.node}</code> · <b>{u.op}</b>
            {u.reason ? <span className="muted"> — {u.reason}</span> : null}
          </li>
        ))}
      </ul>
    </div>
  )
}
