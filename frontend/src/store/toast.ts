// The one toast line at the bottom of the screen. Its own tiny store, so any part of the app (the
// designer, the training dashboard) can say something without writing into another part's state.
import { create } from 'zustand'

export type Toast = { message: string; kind: 'info' | 'error' }

export const useToast = create<{ toast: Toast | null }>()(() => ({ toast: null }))

export function notify(message: string, kind: Toast['kind'] = 'info') {
  useToast.setState({ toast: { message, kind } })
}

export function dismissToast() {
  useToast.setState({ toast: null })
}
