import { ReactFlowProvider, useReactFlow } from '@xyflow/react'
import { lazy, Suspense, useEffect, useRef, useState } from 'react'
import { api } from './api/client'
import { Canvas } from './components/Canvas'
import { fitReadable } from './components/fitView'
import type { FlowEdge, FlowNode } from './store/graph'
import { MakeBlockDialog, OpenDialog, TemplatesDialog } from './components/Dialogs'
import { Inspector } from './components/Inspector'
import { Palette } from './components/Palette'
import { formatCount } from './lib/format'
import { download, safeFileName, saveDesign, useBootstrap, useDraftAutosave, useLiveValidation, useShortcuts } from './hooks'
import { currentGraph, useDesigner } from './store/designer'
import { dismissToast, useToast } from './store/toast'
import { designToDoc } from './store/docFlow'
import { restoredRunId } from './session/draft'
import { exportOnnx, IMPORT_ACCEPT, importFile } from './session/interchange'
import { ImportReport } from './components/ImportReport'
import { resumeActiveRun } from './train/connection'
import { useTrain } from './train/store'

const TrainPanel = lazy(() => import('./train/Dashboard'))
const SweepsPanel = lazy(() => import('./sweeps/SweepsPanel'))
const NodeDrawer = lazy(() => import('./train/Dashboard').then((m) => ({ default: m.NodeDrawer })))

type DialogName = 'templates' | 'open' | 'makeBlock' | null

export function App() {
  const { ready, error, retry } = useBootstrap()
  if (!ready)
    return (
      <div className="splash">
        <div className="logo big">
          <span>◧</span> Blocklab
        </div>
        {error ? (
          <>
            <p className="err-box">{error}</p>
            <button onClick={retry}>Retry</button>
          </>
        ) : (
          <p className="muted">Loading blocks…</p>
        )}
      </div>
    )
  return (
    <ReactFlowProvider>
      <Designer />
    </ReactFlowProvider>
  )
}

function Designer() {
  const [dialog, setDialog] = useState<DialogName>(null)
  useLiveValidation(true)
  useDraftAutosave(true)
  useShortcuts(true, dialog !== null)
  const close = () => setDialog(null)
  const tab = useTrain((s) => s.tab)
  const hasRun = useTrain((s) => s.runId !== null)
  useEffect(() => {
    void resumeActiveRun(restoredRunId())
  }, [])

  return (
    <div className={`app${tab !== 'inspect' ? ' wide-right' : ''}`}>
      <Toolbar open={setDialog} />
      <Palette />
      <main className="center">
        <Canvas />
        <ImportReport />
        {tab === 'train' && hasRun && (
          <Suspense fallback={null}>
            <NodeDrawer />
          </Suspense>
        )}
      </main>
      <aside className="right">
        <div className="tabs" role="tablist">
          <button role="tab" className={`tab${tab === 'inspect' ? ' active' : ''}`} onClick={() => useTrain.setState({ tab: 'inspect' })} data-testid="tab-inspector">
            Inspector
          </button>
          <button role="tab" className={`tab${tab === 'train' ? ' active' : ''}`} onClick={() => useTrain.setState({ tab: 'train' })} data-testid="tab-train">
            Train
          </button>
          <button role="tab" className={`tab${tab === 'sweeps' ? ' active' : ''}`} onClick={() => useTrain.setState({ tab: 'sweeps' })} data-testid="tab-sweeps" title="Search training settings: many runs, Optuna picks each one's settings">
            Sweeps
          </button>
        </div>
        <div className="right-body">
          {/* the inspector stays mounted behind the Train tab: text typed in it (and its problems) survives a look at training */}
          <div hidden={tab !== 'inspect'} className="tab-page">
            <Inspector onMakeBlock={() => setDialog('makeBlock')} />
          </div>
          {tab === 'train' && (
            <Suspense fallback={<p className="muted pad">Loading the dashboard…</p>}>
              <TrainPanel />
            </Suspense>
          )}
          {tab === 'sweeps' && (
            <Suspense fallback={<p className="muted pad">Loading sweeps…</p>}>
              <SweepsPanel />
            </Suspense>
          )}
        </div>
      </aside>
      <StatusBar />
      <Toast />
      {dialog === 'templates' && <TemplatesDialog onClose={close} />}
      {dialog === 'open' && <OpenDialog onClose={close} />}
      {dialog === 'makeBlock' && <MakeBlockDialog onClose={close} />}
    </div>
  )
}

function Toolbar({ open }: { open: (d: DialogName) => void }) {
  const name = useDesigner((s) => s.design.name)
  const setName = useDesigner((s) => s.setName)
  const canUndo = useDesigner((s) => s.past.length > 0)
  const canRedo = useDesigner((s) => s.future.length > 0)
  const selectedCount = useDesigner((s) => currentGraph(s).nodes.filter((n) => n.selected).length)
  const dirty = useDesigner((s) => s.dirty)
  const s = useDesigner.getState
  const rf = useReactFlow<FlowNode, FlowEdge>()
  const fileRef = useRef<HTMLInputElement>(null)

  const exportJson = () => {
    const st = s()
    download(`${safeFileName(st.design.name)}.json`, JSON.stringify(designToDoc(st.design, st.catalog), null, 2), 'application/json')
  }
  const exportPython = async () => {
    const st = s()
    try {
      const src = await api.exportPython(designToDoc(st.design, st.catalog))
      download(`${safeFileName(st.design.name)}.py`, src, 'text/x-python')
    } catch (e) {
      st.notify(`Export failed: ${(e as Error).message}`, 'error')
    }
  }

  return (
    <header className="toolbar">
      <div className="logo">
        <span>◧</span> Blocklab
      </div>
      <input className="design-name" value={name} onChange={(e) => setName(e.target.value)} aria-label="design name" data-testid="design-name" spellCheck={false} />
      {dirty && <span className="dirty" title="unsaved changes">●</span>}
      <div className="tb-group">
        <button onClick={() => open('templates')} data-testid="btn-new" title="New design: blank or from a template">
          New / Templates
        </button>
        <button onClick={() => open('open')} data-testid="btn-open">
          Open…
        </button>
        <button onClick={() => void saveDesign()} data-testid="btn-save" title="Save on the server (Ctrl+S)">
          Save
        </button>
      </div>
      <div className="tb-group">
        <button onClick={() => fileRef.current?.click()} data-testid="btn-import" title="Import a graph JSON file or an .onnx model (or drop one onto the canvas)">
          Import
        </button>
        <button onClick={exportJson} data-testid="btn-export-json" title="Download the graph document">
          Export JSON
        </button>
        <button onClick={() => void exportPython()} title="Download standalone PyTorch code">
          Export .py
        </button>
        <button onClick={() => void exportOnnx()} data-testid="btn-export-onnx" title="Download the design as an ONNX model (fresh weights)">
          Export .onnx
        </button>
        <input
          ref={fileRef}
          type="file"
          accept={IMPORT_ACCEPT}
          hidden
          data-testid="import-file"
          onChange={(e) => {
            const f = e.target.files?.[0]
            if (f) void importFile(f)
            e.target.value = ''
          }}
        />
      </div>
      <div className="tb-group">
        <button onClick={() => s().undo()} disabled={!canUndo} data-testid="btn-undo" title="Undo (Ctrl+Z)">
          ↶ Undo
        </button>
        <button onClick={() => s().redo()} disabled={!canRedo} data-testid="btn-redo" title="Redo (Ctrl+Y)">
          ↷ Redo
        </button>
      </div>
      <div className="tb-group">
        <button onClick={() => s().layout()} data-testid="btn-layout" title="Arrange in layers by depth">
          Auto-layout
        </button>
        <button onClick={() => fitReadable(rf, document.querySelector('.canvas')?.getBoundingClientRect() ?? { width: 0, height: 0 }, 200)} data-testid="btn-fit" title="Fit the graph in view">
          Fit view
        </button>
        <button onClick={() => open('makeBlock')} disabled={selectedCount === 0} data-testid="btn-make-block" title="Group the selected nodes into a reusable block">
          Make block
        </button>
      </div>
    </header>
  )
}

function StatusBar() {
  const validation = useDesigner((s) => s.validation)
  const validating = useDesigner((s) => s.validating)
  const validationError = useDesigner((s) => s.validationError)
  const path = useDesigner((s) => s.path)
  const nodeCount = useDesigner((s) => currentGraph(s).nodes.length)
  const designId = useDesigner((s) => s.designId)
  let status: React.ReactNode
  if (validationError) status = <span className="bad">✕ {validationError}</span>
  else if (!validation) status = <span className="muted">validating…</span>
  else {
    const nErr = validation.errors.filter((e) => e.severity !== 'warning').length
    const nWarn = validation.errors.length - nErr
    const warn = nWarn ? <span className="warn-text"> · {nWarn} warning{nWarn === 1 ? '' : 's'}</span> : null
    status = validation.ok ? (
      <span className="ok">✓ valid{warn}</span>
    ) : (
      <span className="bad">
        ✕ {nErr} problem{nErr === 1 ? '' : 's'}
        {warn}
      </span>
    )
  }
  return (
    <footer className="statusbar" data-testid="statusbar">
      <span data-testid="validity">{status}</span>
      {validating && <span className="spinner" title="validating" />}
      <span>
        Parameters: <b data-testid="total-params">{validation ? validation.total_params.toLocaleString() : '–'}</b>
        {validation && validation.total_params >= 1000 ? <span className="muted"> ({formatCount(validation.total_params)})</span> : null}
      </span>
      <span>{nodeCount} nodes</span>
      <span className="muted">{path.length ? `block ${path.join(' › ')}` : 'top level'}</span>
      <span className="grow" />
      <span className="muted">{designId ? `saved as #${designId}` : 'not saved on the server'}</span>
    </footer>
  )
}

function Toast() {
  const toast = useToast((s) => s.toast)
  useEffect(() => {
    if (!toast) return
    const t = window.setTimeout(dismissToast, toast.kind === 'error' ? 6000 : 2500)
    return () => window.clearTimeout(t)
  }, [toast])
  if (!toast) return null
  return (
    <div className={`toast ${toast.kind}`} role="status" data-testid="toast">
      {toast.message}
    </div>
  )
}
