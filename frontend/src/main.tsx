import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import '@xyflow/react/dist/style.css'
import './styles.css'
import { App } from './App'
import { downloadWithToken, getToken } from './api/client'
import { ErrorBoundary } from './components/ErrorBoundary'
import { TokenGate } from './components/TokenGate'
import { useDesigner } from './store/designer'

// Plain download links to /api (the run's weights) cannot send the Authorization header, so
// while a token is stored they are fetched with it and saved from a blob instead.
document.addEventListener(
  'click',
  (e) => {
    if (!getToken() || e.defaultPrevented || e.button !== 0) return
    const a = (e.target as Element | null)?.closest?.('a[download][href]') as HTMLAnchorElement | null
    if (!a) return
    const url = new URL(a.href, location.href)
    if (url.origin !== location.origin || !url.pathname.startsWith('/api/')) return
    e.preventDefault()
    downloadWithToken(url.pathname + url.search, a.getAttribute('download') || undefined).catch((err: unknown) =>
      useDesigner.getState().notify(`Download failed: ${err instanceof Error ? err.message : String(err)}`, 'error'),
    )
  },
  true,
)

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ErrorBoundary>
      <App />
    </ErrorBoundary>
    <TokenGate />
  </StrictMode>,
)
