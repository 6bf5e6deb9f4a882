// The working session survives a reload: the document (with its training settings) and which saved
// design it is, in localStorage; the undo history and the tab, in sessionStorage (this tab only);
// the run on screen reopens. Written a moment after each change, and at once when the page is
// hidden or left (pagehide / visibilitychange), so a change made just before closing is kept.
import type { GraphDoc } from '../api/types'
import { useDesigner } from '../store/designer'
import { designToDoc } from '../store/docFlow'
import { useTrain, type TrainState } from '../train/store'

const DRAFT_KEY = 'blocklab.draft.v1'
const SESSION_KEY = 'blocklab.session.v1'
/** undo steps kept across a reload (each a whole design: sessionStorage holds a few MB) */
const KEEP_STEPS = 50

type Draft = { doc: GraphDoc; id: string | null; runId?: string | null }
type Session = Pick<ReturnType<typeof useDesigner.getState>, 'past' | 'future'> & { tab?: TrainState['tab'] }

export function writeDraft() {
  const st = useDesigner.getState()
  const t = useTrain.getState()
  try {
    const draft: Draft = { doc: designToDoc(st.design, st.catalog), id: st.designId, runId: t.runId }
    localStorage.setItem(DRAFT_KEY, JSON.stringify(draft))
  } catch {
    /* storage full or disabled */
  }
  try {
    const session: Session = { past: st.past.slice(-KEEP_STEPS), future: st.future.slice(0, KEEP_STEPS), tab: t.tab }
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session))
  } catch {
    /* too big: the history is not kept */
  }
}

let restoredRun: string | null = null
/** The run that was on screen when the page went away (after restoreDraft). */
export const restoredRunId = () => restoredRun

/** Put the last session back (after the catalog is loaded); returns the run to reopen, if any. */
export function restoreDraft(): string | null {
  try {
    const raw = localStorage.getItem(DRAFT_KEY)
    if (!raw) return null
    const { doc, id, runId } = JSON.parse(raw) as Draft
    if (!doc || !Array.isArray(doc.nodes)) return null
    if (doc.nodes.length || doc.train) {
      useDesigner.getState().loadDoc(doc, id)
      useDesigner.setState({ dirty: true })
    }
    const session = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? 'null') as Session | null
    if (session && Array.isArray(session.past) && Array.isArray(session.future)) useDesigner.setState({ past: session.past, future: session.future })
    if (session?.tab) useTrain.setState({ tab: session.tab })
    restoredRun = runId ?? null
    return restoredRun
  } catch {
    return null // a broken draft is ignored
  }
}

/** Keep the draft written: debounced after changes, at once when the page goes away. */
export function keepDraft(): () => void {
  let timer: number | undefined
  const later = () => {
    window.clearTimeout(timer)
    timer = window.setTimeout(writeDraft, 400)
  }
  const unsubD = useDesigner.subscribe((s, prev) => {
    if (s.design !== prev.design || s.designId !== prev.designId || s.past !== prev.past) later()
  })
  const unsubT = useTrain.subscribe((s, prev) => {
    if (s.runId !== prev.runId || s.tab !== prev.tab) later()
  })
  const now = () => {
    window.clearTimeout(timer)
    writeDraft()
  }
  const onHide = () => document.visibilityState === 'hidden' && now()
  window.addEventListener('pagehide', now)
  document.addEventListener('visibilitychange', onHide)
  return () => {
    unsubD()
    unsubT()
    window.clearTimeout(timer)
    window.removeEventListener('pagehide', now)
    document.removeEventListener('visibilitychange', onHide)
  }
}
