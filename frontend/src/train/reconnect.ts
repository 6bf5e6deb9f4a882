// What the run view does when its stream closes: the close codes are those of the contract
// (docs/contract-additions.md, "The run stream").

export type AfterClose =
  | { kind: 'stop'; message: string; forget: boolean } // retrying cannot help; forget: not worth resuming after a reload
  | { kind: 'retry'; delayMs: number }
  | { kind: 'probe' } // ask the REST API why (a refused handshake reaches the page as 1006)

const GONE = { kind: 'stop', message: 'this run no longer exists on the server', forget: true } as const
const BASE_MS = 700
const MAX_MS = 10_000

/** The delay before reconnect number `attempt` (0-based): 0.7 s doubling up to 10 s. */
export function backoff(attempt: number): number {
  return Math.min(MAX_MS, BASE_MS * 2 ** Math.max(0, attempt))
}

/**
 * `opened`: whether this socket's handshake succeeded. A server that refuses the handshake (a wrong
 * or missing token answers 403 before accepting) shows up only as code 1006 with no open, exactly
 * like a network failure, so that case is settled by a REST call, which does carry a status.
 */
export function afterClose(code: number, opened: boolean, attempt: number): AfterClose {
  if (code === 4404) return GONE
  if (code === 4422) return { kind: 'stop', message: 'the server refused the stream request', forget: true }
  // too many viewers of this run: wait for a slot, without hammering
  if (code === 4429) return { kind: 'retry', delayMs: Math.max(5_000, backoff(attempt)) }
  if (!opened) return { kind: 'probe' }
  return { kind: 'retry', delayMs: backoff(attempt) }
}

/** After a probe: a 401 (the token prompt opens) or a 404 ends the retries; anything else waits and retries. */
export function afterProbe(status: number | null, attempt: number): Exclude<AfterClose, { kind: 'probe' }> {
  // the page reloads once a token is entered: keep the run to resume then
  if (status === 401) return { kind: 'stop', message: 'the server wants an access token; the run carries on and comes back here once it is entered', forget: false }
  if (status === 404) return GONE
  return { kind: 'retry', delayMs: backoff(attempt) }
}
