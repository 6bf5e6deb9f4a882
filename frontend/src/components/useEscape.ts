// Escape closes what is open (a menu, a dialog): one window listener while it is mounted.
import { useEffect } from 'react'

export function useEscape(onClose: () => void): void {
  useEffect(() => {
    const k = (e: KeyboardEvent) => e.key === 'Escape' && onClose()
    window.addEventListener('keydown', k)
    return () => window.removeEventListener('keydown', k)
  }, [onClose])
}
