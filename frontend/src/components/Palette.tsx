import { useReactFlow } from '@xyflow/react'
import { useMemo, useState, type DragEvent } from 'react'
import { useDesigner } from '../store/designer'
import { categoryColor } from '../lib/format'
import { DESIGN_BLOCKS } from '../store/graph'
import { DND_TYPE } from './Canvas'

function startDrag(e: DragEvent, type: string) {
  e.dataTransfer.setData(DND_TYPE, type)
  e.dataTransfer.setData('text/plain', type)
  e.dataTransfer.effectAllowed = 'copy'
}

/** The block palette, built from GET /api/blocks, plus the design's own blocks. */
export function Palette() {
  const list = useDesigner((s) => s.catalogList)
  const categories = useDesigner((s) => s.categories)
  const blocks = useDesigner((s) => s.design.blocks)
  const meta = useDesigner((s) => s.design.blockMeta)
  const path = useDesigner((s) => s.path)
  const addNode = useDesigner((s) => s.addNode)
  const openBlock = useDesigner((s) => s.openBlock)
  const deleteBlockDef = useDesigner((s) => s.deleteBlockDef)
  const notify = useDesigner((s) => s.notify)
  const [q, setQ] = useState('')
  const [collapsed, setCollapsed] = useState<Record<string, boolean>>({})
  const { screenToFlowPosition } = useReactFlow()

  const groups = useMemo(() => {
    const needle = q.trim().toLowerCase()
    const hit = list.filter((b) => !needle || b.type.toLowerCase().includes(needle) || b.doc.toLowerCase().includes(needle) || b.category.toLowerCase().includes(needle))
    const by = new Map<string, typeof hit>()
    for (const b of hit) by.set(b.category, [...(by.get(b.category) ?? []), b])
    return [...by.entries()] // in the catalog's order
  }, [list, q])
  const blockNames = Object.keys(blocks).filter((n) => !q || n.toLowerCase().includes(q.trim().toLowerCase()))

  // Click adds at the middle of the canvas, for those who prefer not to drag.
  const addAtCenter = (type: string) => {
    const el = document.querySelector('.canvas')?.getBoundingClientRect()
    const p = el ? screenToFlowPosition({ x: el.left + el.width / 2, y: el.top + el.height / 2 }) : { x: 0, y: 0 }
    addNode(type, { x: p.x - 80 + Math.random() * 40, y: p.y - 24 + Math.random() * 40 })
  }

  return (
    <aside className="palette" data-testid="palette">
      <input className="search" type="search" placeholder="Search blocks…" value={q} onChange={(e) => setQ(e.target.value)} data-testid="palette-search" />
      <div className="palette-scroll">
        {groups.map(([cat, items]) => (
          <section key={cat} className="pal-group">
            <button className="pal-cat" onClick={() => setCollapsed((c) => ({ ...c, [cat]: !c[cat] }))}>
              <span className="dot" style={{ background: categoryColor(cat, categories) }} />
              {cat}
              <span className="muted small">{items.length}</span>
              <span className="chev">{collapsed[cat] && !q ? '▸' : '▾'}</span>
            </button>
            {(!collapsed[cat] || q) &&
              items.map((b) => (
                <div
                  key={b.type}
                  className="pal-item"
                  draggable
                  onDragStart={(e) => startDrag(e, b.type)}
                  onDoubleClick={() => addAtCenter(b.type)}
                  title={`${b.doc}\n(drag onto the canvas, or double-click)`}
                  data-testid={`palette-${b.type}`}
                  style={{ '--cat': categoryColor(cat, categories) } as React.CSSProperties}
                >
                  <span className="pal-name">{b.type}</span>
                  <span className="pal-doc">{b.doc}</span>
                </div>
              ))}
          </section>
        ))}
        {groups.length === 0 && list.length > 0 && <p className="muted small pad">No block matches “{q}”.</p>}

        <section className="pal-group library" data-testid="block-library">
          <div className="pal-cat static">
            <span className="dot" style={{ background: categoryColor(DESIGN_BLOCKS, categories) }} />
            {DESIGN_BLOCKS}
          </div>
          {blockNames.length === 0 && <p className="muted small pad">Select nodes and press “Make block” to define a reusable block.</p>}
          {blockNames.map((name) => (
            <div
              key={name}
              className={`pal-item lib${path.includes(name) ? ' open' : ''}`}
              draggable
              onDragStart={(e) => startDrag(e, name)}
              onDoubleClick={() => addAtCenter(name)}
              data-testid={`library-${name}`}
              style={{ '--cat': categoryColor(DESIGN_BLOCKS, categories) } as React.CSSProperties}
            >
              <span className="pal-name">{name}</span>
              <span className="pal-doc">
                {blocks[name].nodes.length} nodes{meta?.[name]?.args && Object.keys(meta[name].args).length ? ` · (${Object.keys(meta[name].args).join(', ')})` : ''}
              </span>
              <span className="lib-actions">
                <button className="mini" title="Edit the block definition" onClick={() => openBlock(name)} data-testid={`library-open-${name}`}>
                  edit
                </button>
                <button
                  className="mini"
                  title="Delete the definition"
                  onClick={() => {
                    const err = deleteBlockDef(name)
                    if (err) notify(err, 'error')
                  }}
                >
                  ✕
                </button>
              </span>
            </div>
          ))}
        </section>
      </div>
    </aside>
  )
}
