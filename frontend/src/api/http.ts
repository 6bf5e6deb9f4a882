// HTTP plumbing shared by every call: the access token, readable errors, downloads.

export class ApiError extends Error {
  status: number
  body: unknown
  constructor(status: number, body: unknown, message: string) {
    super(message)
    this.status = status
    this.body = body
  }
}

export function detailMessage(body: unknown): string {
  if (body && typeof body === 'object' && 'detail' in body) {
    const d = (body as { detail: unknown }).detail
    if (typeof d === 'string') return d
    if (Array.isArray(d))
      return d
        .map((e) => (e && typeof e === 'object' && 'msg' in e ? `${(e as { loc?: unknown[] }).loc?.join('.') ?? ''}: ${(e as { msg: string }).msg}` : JSON.stringify(e)))
        .join('; ')
    return JSON.stringify(d)
  }
  return typeof body === 'string' ? body : JSON.stringify(body)
}

// ---------------------------------------------------------------- access token
// A server started with BLOCKLAB_TOKEN wants `Authorization: Bearer <token>` on every /api
// request and `?token=` on the run stream. The token lives in localStorage.

export const TOKEN_KEY = 'blocklab.token'

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY) || null
  } catch {
    return null
  }
}

export function setToken(token: string | null) {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token)
    else localStorage.removeItem(TOKEN_KEY)
  } catch {
    /* storage unavailable: the token lasts until the page closes */
  }
}

/** The Authorization header for the stored token (empty without one). */
export function authHeaders(): Record<string, string> {
  const t = getToken()
  return t ? { Authorization: `Bearer ${t}` } : {}
}

/** A websocket URL with `token=` appended when a token is stored. */
export function withToken(url: string): string {
  const t = getToken()
  if (!t) return url
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(t)}`
}

type UnauthorizedListener = (message: string) => void
const unauthorizedListeners = new Set<UnauthorizedListener>()
let lastUnauthorized: string | null = null

/** Called on every 401 from the API (and at once if one has already happened). */
export function onUnauthorized(cb: UnauthorizedListener): () => void {
  unauthorizedListeners.add(cb)
  if (lastUnauthorized !== null) cb(lastUnauthorized)
  return () => unauthorizedListeners.delete(cb)
}

function reportUnauthorized(message: string) {
  lastUnauthorized = message
  for (const cb of unauthorizedListeners) cb(message)
}

/** The readable message for a fetch that never reached the server. */
export function unreachableMessage(): string {
  const origin = typeof location !== 'undefined' ? location.origin : 'this address'
  return `Cannot reach the Blocklab server at ${origin} — is it running?`
}

/** fetch() with the token header; a network failure becomes ApiError(0, …) with a readable message. */
export async function apiFetch(input: string | Request, init: RequestInit = {}): Promise<Response> {
  let res: Response
  const headers = new Headers(typeof input === 'string' ? init.headers : input.headers)
  for (const [k, v] of Object.entries(authHeaders())) headers.set(k, v)
  try {
    res = await fetch(input, { ...init, headers })
  } catch (e) {
    // an aborted request stays an AbortError; anything else (TypeError "Failed to fetch") is the network
    if (e instanceof DOMException && e.name === 'AbortError') throw e
    if (init.signal?.aborted || (typeof input !== 'string' && input.signal.aborted)) throw e
    throw new ApiError(0, null, unreachableMessage())
  }
  if (res.status === 401) {
    let detail = ''
    try {
      detail = detailMessage(await res.clone().json())
    } catch {
      /* not JSON */
    }
    reportUnauthorized(detail || 'missing or wrong token')
  }
  return res
}

function filenameFrom(res: Response, fallback: string): string {
  const cd = res.headers.get('content-disposition') ?? ''
  const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(cd)
  if (star) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''))
    } catch {
      /* fall through */
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(cd)
  return plain ? plain[1].trim() : fallback
}

/** Download an /api file with the token header (a plain <a href> cannot send one). */
export async function downloadWithToken(url: string, fallbackName?: string): Promise<void> {
  const res = await apiFetch(url)
  if (!res.ok) {
    const type = res.headers.get('content-type') ?? ''
    const data: unknown = type.includes('json') ? await res.json() : await res.text()
    throw new ApiError(res.status, data, `GET ${url}: ${res.status} ${detailMessage(data)}`)
  }
  const blob = await res.blob()
  const name = filenameFrom(res, fallbackName || url.split('?')[0].split('/').pop() || 'download')
  saveBlob(name, blob)
}

/** Hand a blob to the browser as a file download. */
export function saveBlob(filename: string, blob: Blob) {
  const href = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = href
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(href), 1000)
}

