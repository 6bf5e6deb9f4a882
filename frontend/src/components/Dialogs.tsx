import { useEffect, useRef, useState, type ReactNode } from 'react'
import { useEscape } from './useEscape'
import { api } from '../api/client'
import type { DesignSummary } from '../api/types'
import { useDesigner } from '../store/designer'
import { mayReplaceCanvas } from '../store/replace'

export function Modal({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  useEscape(onClose)
  return (
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div className={`modal${wide ? ' wide' : ''}`} role="dialog" aria-label={title}>
        <header>
          <h2>{title}</h2>
          <button className="icon" onClick={onClose} aria-label="close">
            ✕
          </button>
        </header>
        <div className="modal-body">{children}</div>
      </div>
    </div>
  )
}

export function TemplatesDialog({ onClose }: { onClose: () => void }) {
  const templates = useDesigner((s) => s.templates)
  const loadDoc = useDesigner((s) => s.loadDoc)
  const newDesign = useDesigner((s) => s.newDesign)
  return (
    <Modal title="New design" onClose={onClose} wide>
      <div className="gallery" data-testid="templates">
        <button
          className="card blank"
          data-testid="template-blank"
          onClick={() => {
            if (!mayReplaceCanvas('a blank design')) return
            newDesign()
            onClose()
          }}
        >
          <h3>Blank design</h3>
          <p>An empty canvas.</p>
        </button>
        {templates.map((t) => (
          <button
            key={t.id}
            className="card"
            data-testid={`template-${t.id}`}
            onClick={() => {
              if (!mayReplaceCanvas(`the template “${t.title}”`)) return
              // the template's training settings come along as the document's own
              loadDoc({ ...t.graph, name: t.graph.name || t.title, ...(t.train ? { train: t.train } : {}) })
              onClose()
            }}
          >
            <h3>{t.title}</h3>
            <p>{t.description}</p>
            <span className="muted small">
              {t.graph.nodes.length} nodes{Object.keys(t.graph.blocks ?? {}).length ? ` · ${Object.keys(t.graph.blocks).length} blocks` : ''}
            </span>
          </button>
        ))}
        {templates.length === 0 && <p className="muted">The server offers no templates.</p>}
      </div>
    </Modal>
  )
}

export function OpenDialog({ onClose }: { onClose: () => void }) {
  const loadDoc = useDesigner((s) => s.loadDoc)
  const notify = useDesigner((s) => s.notify)
  const currentId = useDesigner((s) => s.designId)
  const [list, setList] = useState<DesignSummary[] | null>(null)
  const [error, setError] = useState<string | null>(null)
  const refresh = () =>
    api
      .listDesigns()
      .then((l) => setList([...l].sort((a, b) => (b.updated_at ?? '').localeCompare(a.updated_at ?? ''))))
      .catch((e) => setError(String(e.message ?? e)))
  useEffect(() => {
    void refresh()
  }, [])
  return (
    <Modal title="Open design" onClose={onClose}>
      {error && <div className="err-box">{error}</div>}
      {!list && !error && <p className="muted">Loading…</p>}
      {list && list.length === 0 && <p className="muted">No saved designs yet. Press Ctrl+S to save the current one.</p>}
      <ul className="design-list" data-testid="design-list">
        {list?.map((d) => (
          <li key={d.id} className={d.id === currentId ? 'current' : undefined}>
            <button
              className="link grow"
              data-testid={`design-${d.name}`}
              onClick={async () => {
                if (!mayReplaceCanvas(`the saved design “${d.name}”`)) return
                try {
                  const full = await api.getDesign(String(d.id))
                  loadDoc({ ...full.graph, name: full.graph.name || full.name }, String(full.id))
                  onClose()
                } catch (e) {
                  notify(`Cannot open: ${(e as Error).message}`, 'error')
                }
              }}
            >
              <b>{d.name}</b>
              <span className="muted small">{d.updated_at ? new Date(d.updated_at).toLocaleString() : ''}</span>
            </button>
            <button
              className="mini danger"
              title="Delete"
              onClick={async () => {
                if (!window.confirm(`Delete “${d.name}” from the server?`)) return
                await api.deleteDesign(String(d.id)).catch((e) => notify(String(e.message), 'error'))
                if (d.id === currentId) useDesigner.setState({ designId: null, dirty: true })
                void refresh()
              }}
            >
              delete
            </button>
          </li>
        ))}
      </ul>
    </Modal>
  )
}

export function MakeBlockDialog({ onClose }: { onClose: () => void }) {
  const blocks = useDesigner((s) => s.design.blocks)
  const makeBlock = useDesigner((s) => s.makeBlock)
  const [name, setName] = useState(() => {
    for (let i = 1; ; i++) if (!blocks[`Block${i}`]) return `Block${i}`
  })
  const [error, setError] = useState<string | null>(null)
  const ref = useRef<HTMLInputElement>(null)
  useEffect(() => ref.current?.select(), [])
  const submit = () => {
    const err = makeBlock(name.trim())
    if (err) setError(err)
    else onClose()
  }
  return (
    <Modal title="Make block" onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault()
          submit()
        }}
      >
        <p className="muted">
          The selected nodes become a reusable block definition. Inputs coming from outside become the block's Input nodes; the node feeding the rest of the graph feeds its Output.
          Weights of an instance are saved as <code>&lt;instance id&gt;.&lt;inner id&gt;.weight</code>.
        </p>
        <div className="field">
          <label className="field-label" htmlFor="block-name">
            Block name
          </label>
          <input id="block-name" ref={ref} value={name} onChange={(e) => setName(e.target.value)} data-testid="block-name" />
        </div>
        {error && <div className="err-box">{error}</div>}
        <div className="actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" data-testid="make-block-ok">
            Make block
          </button>
        </div>
      </form>
    </Modal>
  )
}
