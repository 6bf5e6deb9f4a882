import { useEffect, useState } from 'react'
import { api, ApiError, saveBlob } from './api/client'
import type { GraphDoc } from './api/types'
import { keepDraft, restoreDraft } from './session/draft'
import { useDesigner, type Store } from './store/designer'
import { designToDoc } from './store/docFlow'
import { sameDesignIgnoringLayout } from './store/edits'


/** Load catalog, inits and templates; then restore the last draft. */
export function useBootstrap(): { ready: boolean; error: string | null; retry: () => void } {
  const [state, setState] = useState<{ ready: boolean; error: string | null }>({ ready: false, error: null })
  const [attempt, setAttempt] = useState(0)
  useEffect(() => {
    let cancelled = false
    const s = useDesigner.getState()
    Promise.allSettled([api.blocks(), api.inits(), api.templates()]).then(([blocks, inits, templates]) => {
      if (cancelled) return
      if (blocks.status === 'rejected') {
        setState({ ready: false, error: `Cannot load the block catalog: ${String(blocks.reason?.message ?? blocks.reason)}` })
        return
      }
      s.setCatalog(blocks.value)
      if (inits.status === 'fulfilled') s.setInits(inits.value)
      if (templates.status === 'fulfilled') s.setTemplates(templates.value)
      restoreDraft()
      setState({ ready: true, error: null })
    })
    return () => {
      cancelled = true
    }
  }, [attempt])
  return { ...state, retry: () => setAttempt((a) => a + 1) }
}

function stripPositions(doc: GraphDoc): GraphDoc {
  const strip = <T extends { position?: unknown }>(n: T): T => {
    const { position: _p, ...rest } = n
    return rest as T
  }
  const blocks: GraphDoc['blocks'] = {}
  for (const [k, b] of Object.entries(doc.blocks)) blocks[k] = { ...b, nodes: b.nodes.map(strip) }
  return { ...doc, nodes: doc.nodes.map(strip), blocks }
}

/** Every edit -> (debounced) POST /api/graphs/validate for the graph on screen. */
export function useLiveValidation(enabled: boolean, delayMs = 250) {
  useEffect(() => {
    if (!enabled) return
    let timer: number | undefined
    let ctrl: AbortController | undefined
    let lastKey = ''
    const schedule = (s: Store) => {
      const doc = stripPositions(designToDoc(s.design, s.catalog))
      const key = JSON.stringify(doc)
      if (key === lastKey) return
      lastKey = key
      window.clearTimeout(timer)
      if (!useDesigner.getState().validating) useDesigner.getState().setValidating(true)
      timer = window.setTimeout(async () => {
        ctrl?.abort()
        ctrl = new AbortController()
        const mine = ctrl
        try {
          const v = await api.validate(doc, mine.signal)
          if (!mine.signal.aborted) useDesigner.getState().setValidation(v)
        } catch (e) {
          if (mine.signal.aborted) return
          const msg = e instanceof ApiError ? e.message : `validation failed: ${String(e)}`
          useDesigner.getState().setValidation(null, msg)
        }
      }, delayMs)
    }
    schedule(useDesigner.getState())
    const unsub = useDesigner.subscribe((s, prev) => {
      if (s.rawValidation === null && prev.rawValidation !== null && !s.validationError) lastKey = ''
      // A drag or a selection changes only positions or `selected`, which the validated document
      // leaves out: skip building and comparing the whole document on every mouse move.
      if (lastKey === '' || s.catalog !== prev.catalog || !sameDesignIgnoringLayout(s.design, prev.design)) schedule(s)
    })
    return () => {
      unsub()
      window.clearTimeout(timer)
      ctrl?.abort()
    }
  }, [enabled, delayMs])
}

/** Keep a local draft so a reload never loses work. */
export function useDraftAutosave(enabled: boolean) {
  useEffect(() => (enabled ? keepDraft() : undefined), [enabled])
}

export async function saveDesign(): Promise<void> {
  const s = useDesigner.getState()
  const doc = designToDoc(s.design, s.catalog)
  try {
    let saved
    if (s.designId) {
      try {
        saved = await api.updateDesign(s.designId, doc)
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) saved = await api.createDesign(doc)
        else throw e
      }
    } else saved = await api.createDesign(doc)
    useDesigner.getState().markSaved(String(saved.id))
    s.notify(`Saved “${doc.name}”`)
  } catch (e) {
    s.notify(`Save failed: ${e instanceof Error ? e.message : String(e)}`, 'error')
  }
}

export function download(filename: string, text: string, type: string) {
  saveBlob(filename, new Blob([text], { type }))
}

export function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, '_') || 'design'
}

function isTyping(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null
  if (!el) return false
  const tag = el.tagName
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable
}

/** Global shortcuts: Delete, Ctrl+Z/Y, Ctrl+C/V, Ctrl+A, Ctrl+S. */
export function useShortcuts(enabled: boolean, dialogOpen: boolean) {
  useEffect(() => {
    if (!enabled) return
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey
      const k = e.key.toLowerCase()
      if (mod && k === 's') {
        e.preventDefault()
        void saveDesign()
        return
      }
      if (dialogOpen || isTyping(e.target)) return
      const s = useDesigner.getState()
      if (!mod && (e.key === 'Delete' || e.key === 'Backspace')) {
        e.preventDefault()
        s.deleteSelected()
      } else if (mod && k === 'z' && !e.shiftKey) {
        e.preventDefault()
        s.undo()
      } else if (mod && (k === 'y' || (k === 'z' && e.shiftKey))) {
        e.preventDefault()
        s.redo()
      } else if (mod && k === 'c') {
        if (window.getSelection()?.toString()) return
        const n = s.copy()
        if (n) s.notify(`Copied ${n} node${n > 1 ? 's' : ''}`)
      } else if (mod && k === 'v') {
        e.preventDefault()
        s.paste()
      } else if (mod && k === 'a') {
        e.preventDefault()
        s.selectAll()
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [enabled, dialogOpen])
}
