"""Letting go of a websocket whose client stopped reading.

A close frame cannot get through a socket whose peer never reads, and uvicorn only ever
closes gracefully (`transport.close()` waits for its write buffer to drain, which never
happens: the peer keeps acknowledging with a zero window). So a stalled viewer would hold
its connection and buffers for as long as the server runs. ASGI offers no way to abort a
connection; the transport is found behind the `send` callable instead: uvicorn's is a
method of its protocol object, and middleware wraps it in closures.
"""

from __future__ import annotations

import asyncio


def _transport(fn, depth: int = 0) -> asyncio.BaseTransport | None:
    if fn is None or depth > 8:
        return None
    t = getattr(getattr(fn, "__self__", None), "transport", None)
    if callable(getattr(t, "abort", None)):
        return t
    for cell in getattr(fn, "__closure__", None) or ():
        try:
            inner = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if callable(inner) and (t := _transport(inner, depth + 1)) is not None:
            return t
    return None


def abort(send) -> bool:
    """Drop the connection behind an ASGI `send` at once (TCP reset); False if none was found."""
    t = _transport(send)
    if t is None:
        return False
    t.abort()
    return True
