"""What the run routes share: the app's run manager (started with the app) and a run by id."""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from blocklab.api.deps import fetch_or_404
from blocklab.runs import store
from blocklab.runs.manager import RunManager

_lock = threading.Lock()


def manager_for(app) -> RunManager:
    """The app's run manager, started on first use (the lifespan starts it; an app driven
    without its lifespan, as some test harnesses do, gets one on its first request)."""
    m = getattr(app.state, "runs", None)
    if m is None:
        with _lock:
            m = getattr(app.state, "runs", None)
            if m is None:
                m = RunManager(app.state.settings, app.state.engine)
                m.start()
                app.state.runs = m
    return m


async def startup(app) -> None:
    await run_in_threadpool(manager_for, app)
    app.state.runs.hub.bind(asyncio.get_running_loop())


async def shutdown(app) -> None:
    m = getattr(app.state, "runs", None)
    if m is not None:
        await run_in_threadpool(m.shutdown)


def get_manager(request: Request) -> RunManager:
    return manager_for(request.app)


Manager = Annotated[RunManager, Depends(get_manager)]
Run = Annotated[dict, fetch_or_404(store.get, "run", "run_id")]
