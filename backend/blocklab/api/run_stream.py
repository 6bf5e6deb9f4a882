"""The run stream: WS /api/runs/{id}/stream?after=N, stored (or remembered) messages with
seq > N first, then live ones, closing after the final status of a finished run.

Close codes: 1000 normal, 4404 unknown run, 4008 viewer too slow, 4422 `after` not an integer
from 0 to 2^63-1, 4429 too many viewers of this run (BLOCKLAB_MAX_VIEWERS_PER_RUN).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.concurrency import run_in_threadpool

from blocklab.api.deps import MAX_INT64
from blocklab.api.run_deps import manager_for
from blocklab.api.transport import abort
from blocklab.runs import store
from blocklab.runs.hub import pump

router = APIRouter(tags=["runs"])


def _after(ws: WebSocket) -> int | None:
    """?after= as a sequence number, or None when it is not one (the database stores 64-bit integers)."""
    try:
        after = int(ws.query_params.get("after", "0"))
    except ValueError:  # not a number, or more digits than Python converts
        return None
    return after if 0 <= after <= MAX_INT64 else None


@router.websocket("/runs/{run_id}/stream")
async def stream(ws: WebSocket, run_id: str) -> None:
    app = ws.app
    manager = manager_for(app)
    manager.hub.bind(asyncio.get_running_loop())
    await ws.accept()
    after = _after(ws)
    if after is None:
        await ws.close(4422, f"after must be an integer from 0 to {MAX_INT64}")
        return
    if len(run_id) > 64:
        await ws.close(4404, "unknown run")
        return
    if manager.hub.viewer_count(run_id) >= app.state.settings.max_viewers_per_run:
        await ws.close(4429, f"this run already has {app.state.settings.max_viewers_per_run} viewers")
        return
    viewer = manager.hub.subscribe(run_id, after)
    try:
        if viewer is None:
            run = await run_in_threadpool(store.get, app.state.engine, run_id, False)
            if run is None:
                await ws.close(4404, "unknown run")
                return
            viewer = manager.hub.subscribe(run_id, after)  # it may have started meanwhile (never: runs start here)
        if viewer is None:
            chunks = await run_in_threadpool(lambda: list(store.events_after(app.state.engine, run_id, after)))
            for chunk in chunks:
                for _, text in chunk:
                    await ws.send_text(text)
            await ws.close(1000)
            return
        if viewer.gap is not None:  # older than memory holds: committed, read them first
            lo, hi = viewer.gap
            rows = await run_in_threadpool(lambda: [r for c in store.events_after(app.state.engine, run_id, lo, hi)
                                                    for r in c])
            for _, text in rows:
                await ws.send_text(text)
        await _pump(ws, viewer)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        if viewer is not None:
            manager.hub.unsubscribe(run_id, viewer)


async def _pump(ws: WebSocket, viewer) -> None:
    # One plain await per message (no task per message): 50 viewers cost the loop little.
    async def watch_disconnect():
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass
        viewer.cancel()

    watcher = asyncio.create_task(watch_disconnect())
    try:
        await pump(viewer, ws.send_text, lambda code, reason: ws.close(code, reason), lambda: abort(ws._send),
                   ws.app.state.settings.stream_hopeless_after)
    finally:
        watcher.cancel()
