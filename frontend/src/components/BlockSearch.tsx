// The block search menu: opened where a wire was dropped on empty canvas, from an edge's or the
// canvas's context menu; type to filter, arrows and Enter to pick, Escape to close.
import { useEffect, useMemo, useRef, useState } from 'react'
import { useEscape } from './useEscape'
import { useDesigner } from '../store/designer'

export type Pos = { x: number; y: number }

export function BlockSearch({ at, title, onPick, onClose }: { at: Pos; title: string; onPick: (type: string) => void; onClose: () => void }) {
  const list = useDesigner((s) => s.catalogList)
  const blocks = useDesigner((s) => s.design.blocks)
  const [q, setQ] = useState('')
  const [i, setI] = useState(0)
  const input = useRef<HTMLInputElement>(null)
  useEffect(() => input.current?.focus(), [])
  const hits = useMemo(() => {
    const needle = q.trim().toLowerCase()
    const all = [...list.map((b) => ({ type: b.type, doc: b.doc, category: b.category })), ...Object.keys(blocks).map((type) => ({ type, doc: 'a block of this design', category: '' }))]
    if (!needle) return all
    const starts = all.filter((b) => b.type.toLowerCase().startsWith(needle))
    const rest = all.filter((b) => !starts.includes(b) && `${b.type} ${b.doc} ${b.category}`.toLowerCase().includes(needle))
    return [...starts, ...rest]
  }, [list, blocks, q])
  const pick = (type: string | undefined) => {
    if (type) onPick(type)
    onClose()
  }
  return (
    <div className="block-search pop" style={{ left: at.x, top: at.y }} data-testid="block-search" onMouseDown={(e) => e.stopPropagation()}>
      <div className="pop-title muted small">{title}</div>
      <input
        ref={input}
        value={q}
        placeholder="Search blocks…"
        data-testid="block-search-input"
        spellCheck={false}
        onChange={(e) => {
          setQ(e.target.value)
          setI(0)
        }}
        onKeyDown={(e) => {
          if (e.key === 'Escape') onClose()
          else if (e.key === 'Enter') pick(hits[i]?.type)
          else if (e.key === 'ArrowDown') setI((k) => Math.min(hits.length - 1, k + 1))
          else if (e.key === 'ArrowUp') setI((k) => Math.max(0, k - 1))
          else return
          e.preventDefault()
        }}
      />
      <ul>
        {hits.slice(0, 12).map((b, k) => (
          <li key={b.type} className={k === i ? 'on' : ''} onMouseEnter={() => setI(k)} onClick={() => pick(b.type)} data-testid={`search-item-${b.type}`}>
            <b>{b.type}</b> <span className="muted small">{b.doc}</span>
          </li>
        ))}
        {hits.length === 0 && <li className="muted small">No block matches “{q}”.</li>}
      </ul>
    </div>
  )
}

export type MenuItem = { label: string; testid: string; run: () => void; danger?: boolean }

export function ContextMenu({ at, items, onClose }: { at: Pos; items: MenuItem[]; onClose: () => void }) {
  useEscape(onClose)
  return (
    <ul className="context-menu pop" role="menu" style={{ left: at.x, top: at.y }} data-testid="context-menu" onMouseDown={(e) => e.stopPropagation()}>
      {items.map((it) => (
        <li key={it.testid}>
          <button
            role="menuitem"
            className={it.danger ? 'danger' : undefined}
            data-testid={it.testid}
            onClick={() => {
              onClose()
              it.run()
            }}
          >
            {it.label}
          </button>
        </li>
      ))}
    </ul>
  )
}
