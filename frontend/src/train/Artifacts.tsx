// After training: the weights and the model's source to take home.
import { useEffect, useMemo, useState } from 'react'
import { api, downloadWithToken, saveBlob } from '../api/client'
import type { GraphDoc, RunOut } from '../api/types'
import { notify } from '../store/toast'

export function Artifacts({ run, runId }: { run: RunOut | null; runId: string }) {
  const [src, setSrc] = useState<string | null>(null)
  const [show, setShow] = useState(false)
  const [err, setErr] = useState<string | null>(null)
  const graph = run?.graph as GraphDoc | undefined
  useEffect(() => {
    if (!graph) return
    let stop = false
    api.exportPython(graph).then(
      (s) => !stop && setSrc(s),
      (e) => !stop && setErr((e as Error).message),
    )
    return () => {
      stop = true
    }
  }, [graph])
  const pyName = `${(run?.name ?? 'model').replace(/[^A-Za-z0-9_.-]+/g, '_')}.py`
  const pyUrl = useMemo(() => (src ? URL.createObjectURL(new Blob([src], { type: 'text/x-python' })) : null), [src])
  const base = (run?.name ?? 'model').replace(/[^A-Za-z0-9_.-]+/g, '_')
  const [which, setWhich] = useState<'last' | 'best'>('best')
  const fetchFile = (what: string, get: () => Promise<void>) => () => {
    setErr(null)
    get().catch((e) => setErr(`${what}: ${(e as Error).message}`))
  }
  const onnx = fetchFile('ONNX export', async () => saveBlob(`${base}.onnx`, await api.exportOnnx({ run_id: runId, which })))
  const keras = fetchFile('Keras export', async () => saveBlob(`${base}_keras.py`, new Blob([await api.exportKeras({ run_id: runId })], { type: 'text/x-python' })))
  const events = fetchFile('TensorBoard events', () => downloadWithToken(`/api/runs/${runId}/tensorboard`, `${base}_tensorboard.zip`))
  const has = run?.status !== 'failed' || (run?.metrics as { steps?: number } | null)?.steps
  return (
    <section className="tsec">
      <h3>Take it home</h3>
      <div className="trow wrap">
        {has && (
          <>
            <a className="btn" href={`/api/runs/${runId}/state_dict?format=pt`} download data-testid="dl-pt">
              ⤓ weights .pt
            </a>
            <a className="btn" href={`/api/runs/${runId}/state_dict?format=safetensors`} download data-testid="dl-safetensors">
              ⤓ weights .safetensors
            </a>
          </>
        )}
        {pyUrl && (
          <a className="btn" href={pyUrl} download={pyName} data-testid="dl-py">
            ⤓ model .py
          </a>
        )}
        {has && (
          <>
            <button onClick={onnx} data-testid="dl-onnx" title={`the design with its ${which} weights, as an ONNX model`}>
              ⤓ model .onnx
            </button>
            <select value={which} onChange={(e) => setWhich(e.target.value as 'last' | 'best')} aria-label="which checkpoint" className="inline-select" data-testid="dl-which" title="which checkpoint the .onnx carries">
              <option value="best">best</option>
              <option value="last">last</option>
            </select>
            <button onClick={events} data-testid="dl-tensorboard" title="the run's TensorBoard event files: unzip, then tensorboard --logdir <folder>">
              ⤓ TensorBoard .zip
            </button>
          </>
        )}
        <button onClick={keras} data-testid="dl-keras" title="Keras 3 source of the design and a loader for these weights">
          ⤓ Keras .py
        </button>
        <button onClick={() => setShow((v) => !v)} data-testid="btn-source" disabled={!src}>
          {show ? 'Hide source' : 'View source'}
        </button>
      </div>
      {err && <div className="err-box">{err}</div>}
      {show && src && (
        <div className="source-view">
          <button className="mini copy" onClick={() => void navigator.clipboard?.writeText(src).then(() => notify('Copied the source'))} data-testid="btn-copy">
            Copy
          </button>
          <pre data-testid="source">{src}</pre>
        </div>
      )}
      <code className="hint-code muted">{'from model import Model   # the .py above\nm = Model()\nm.load_state_dict(torch.load("weights.pt", weights_only=True))'}</code>
    </section>
  )
}
