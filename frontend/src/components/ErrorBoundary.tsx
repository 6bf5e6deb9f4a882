// A render error anywhere below shows a readable message and a Reload button, never a blank page.
import { Component, type ErrorInfo, type ReactNode } from 'react'

type State = { error: Error | null }

export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  state: State = { error: null }

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) }
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    console.error('Blocklab crashed:', error, info.componentStack)
  }

  render() {
    const { error } = this.state
    if (!error) return this.props.children
    return (
      <div className="splash" role="alert" data-testid="error-boundary">
        <div className="logo big">
          <span>◧</span> Blocklab
        </div>
        <p>Something went wrong and the page could not be shown.</p>
        <p className="err-box">{error.message || String(error)}</p>
        <button onClick={() => location.reload()} data-testid="btn-reload">
          Reload
        </button>
      </div>
    )
  }
}
