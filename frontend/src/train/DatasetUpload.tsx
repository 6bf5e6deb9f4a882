// Upload a dataset from the Train panel: a CSV (with the column to predict), a zip of image class
// folders or an .npz. The form's fields are the upload route's own (its multipart schema); the
// new dataset is chosen for the design at once.
import { useState } from 'react'
import openapi from '../../openapi.json'
import { api } from '../api/client'
import type { JsonSchema } from '../api/types'
import { SchemaForm } from '../forms/SchemaForm'
import { notify } from '../store/toast'
import { useTrain } from './store'

const BODY = openapi.components.schemas.Body_upload_csv_api_datasets_post as unknown as JsonSchema
const FIELDS: JsonSchema = { ...BODY, properties: Object.fromEntries(Object.entries(BODY.properties ?? {}).filter(([k]) => k !== 'file')), required: [] }

export function DatasetUpload({ onUploaded }: { onUploaded: (name: string) => void }) {
  const [file, setFile] = useState<File | null>(null)
  const [fields, setFields] = useState<Record<string, unknown>>({})
  const [busy, setBusy] = useState(false)
  const [err, setErr] = useState<string | null>(null)
  const upload = async () => {
    if (!file) return
    setBusy(true)
    setErr(null)
    try {
      const ds = await api.uploadDataset(file, fields)
      // the new dataset joins the list at once (a list still on its way keeps it, see loadDatasets)
      useTrain.setState((s) => ({ datasets: [...s.datasets.filter((d) => d.name !== ds.name), ds] }))
      onUploaded(ds.name)
      notify(`Uploaded dataset “${ds.name}”`)
      setFile(null)
    } catch (e) {
      setErr((e as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <details className="span2 ds-upload" data-testid="dataset-upload">
      <summary>Upload a dataset (CSV, zip of image folders, .npz)</summary>
      <input type="file" accept=".csv,.zip,.npz,text/csv,application/zip" onChange={(e) => setFile(e.target.files?.[0] ?? null)} data-testid="dataset-file" />
      <SchemaForm schema={FIELDS} value={fields} onChange={setFields} prefix="upload" owner={{ node: null, field: 'upload' }} />
      <button onClick={() => void upload()} disabled={!file || busy} data-testid="btn-upload-dataset">
        {busy ? 'Uploading…' : 'Upload'}
      </button>
      {err && <div className="err-box" data-testid="upload-error">{err}</div>}
    </details>
  )
}
