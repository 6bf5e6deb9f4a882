// Asks for the access token when the server answers 401 (it was started with BLOCKLAB_TOKEN).
// The token is stored in localStorage and the page reloads, so every failed load runs again.
import { useEffect, useRef, useState } from 'react'
import { getToken, onUnauthorized, setToken } from '../api/client'

export function TokenGate() {
  const [open, setOpen] = useState(false)
  const [hadToken, setHadToken] = useState(false)
  const [value, setValue] = useState('')
  const input = useRef<HTMLInputElement>(null)

  useEffect(
    () =>
      onUnauthorized(() => {
        setHadToken(getToken() !== null)
        setOpen(true)
      }),
    [],
  )
  useEffect(() => {
    if (open) input.current?.focus()
  }, [open])

  if (!open) return null
  const submit = (e: React.FormEvent) => {
    e.preventDefault()
    const t = value.trim()
    if (!t) return
    setToken(t)
    location.reload()
  }
  return (
    <div className="modal-backdrop token-gate" style={{ zIndex: 1000 }} data-testid="token-gate">
      <form className="modal" role="dialog" aria-modal="true" aria-labelledby="token-gate-title" onSubmit={submit}>
        <header>
          <h2 id="token-gate-title">Access token needed</h2>
        </header>
        <div className="modal-body">
          <p>This Blocklab server needs an access token.</p>
          {hadToken && <p className="err-box">The stored token was not accepted.</p>}
          <label>
            Token{' '}
            <input
              ref={input}
              type="password"
              autoComplete="current-password"
              value={value}
              onChange={(e) => setValue(e.target.value)}
              data-testid="token-input"
            />
          </label>
          <div className="actions" style={{ marginTop: 12 }}>
            <button type="submit" className="primary" disabled={!value.trim()} data-testid="token-submit">
              Use token
            </button>
          </div>
        </div>
      </form>
    </div>
  )
}
